//! "Ten seconds to go": said once per step, on its second, for steps long enough that it is
//! not half the step.
//!
//! Must not: say it twice in a step, or late by more than a tick.

use super::News;
use crate::cue::{CueKind, CueSlots};
use crate::plan::StepEnd;

/// Seconds before a step change that the countdown is said.
pub const COUNTDOWN_LEAD_S: f64 = 10.0;
/// Steps shorter than this get no countdown: it would be half the step.
const COUNTDOWN_MIN_STEP_S: f64 = 45.0;
/// Below this speed a distance step's end cannot be foreseen.
const MIN_FORESEEING_SPEED_MPS: f64 = 0.5;

/// The countdown of one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Countdown {
    said: bool,
}

impl Countdown {
    /// When the countdown is due on the run clock, if it has one still to say: `elapsed` is
    /// the step's (moving ms, metres), `speed_mps` the current speed (distance steps).
    pub fn due_ms(
        &self,
        now_ms: u64,
        end: StepEnd,
        elapsed: (u64, f64),
        speed_mps: Option<f64>,
    ) -> Option<u64> {
        if self.said {
            return None;
        }
        let (moving_ms, metres) = elapsed;
        match end {
            StepEnd::Time(seconds) if seconds >= COUNTDOWN_MIN_STEP_S => {
                let left_ms = ((seconds - COUNTDOWN_LEAD_S) * 1000.0) as i64 - moving_ms as i64;
                Some(now_ms.saturating_add_signed(left_ms))
            }
            StepEnd::Distance(total) => {
                let speed = speed_mps.filter(|v| *v > MIN_FORESEEING_SPEED_MPS)?;
                let left_s = (total - metres) / speed;
                if total / speed < COUNTDOWN_MIN_STEP_S {
                    return None;
                }
                let due_in_ms = ((left_s - COUNTDOWN_LEAD_S) * 1000.0) as i64;
                Some(now_ms.saturating_add_signed(due_in_ms))
            }
            _ => None,
        }
    }

    /// The countdown, once due.
    pub fn update(
        &mut self,
        now_ms: u64,
        end: StepEnd,
        elapsed: (u64, f64),
        speed_mps: Option<f64>,
    ) -> Option<News> {
        let due = self.due_ms(now_ms, end, elapsed, speed_mps).filter(|due| *due <= now_ms)?;
        self.said = true;
        let slots = CueSlots { duration_s: Some(COUNTDOWN_LEAD_S), ..CueSlots::default() };
        // A countdown is due on its second: it carries that time, not the tick's.
        Some(News { kind: CueKind::Countdown, slots, at_ms: due.max(now_ms.saturating_sub(1000)) })
    }
}

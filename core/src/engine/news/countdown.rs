//! "Ten seconds to go": said once per step, on its second, for steps long enough that it is
//! not half the step. Its time is known in advance, so it is handed to the audio a lead-in
//! early ([`LEAD_IN_MS`]) and its first word lands on the second.
//!
//! Must not: say it twice in a step, or late by more than a tick.

use super::News;
use crate::cue::{CueKind, CueSlots, LEAD_IN_MS};
use crate::plan::StepEnd;

/// Seconds before a step change that the countdown is said.
pub const COUNTDOWN_LEAD_S: f64 = 10.0;
/// Steps shorter than this get no countdown: it would be half the step.
const COUNTDOWN_MIN_STEP_S: f64 = 45.0;
/// Metres as fresh as this many of the usual intervals between their changes are foreseen
/// from when they were measured; staler, the runner has stopped or the GPS is gone, and the
/// end is foreseen from now.
const FRESH_METRES_INTERVALS: f64 = 1.5;
/// Weight of each new interval between metre changes in their running mean.
const METRE_INTERVAL_WEIGHT: f64 = 0.2;
/// The interval between metre changes taken before any is measured (a 1-Hz phone), ms.
const FIRST_METRE_INTERVAL_MS: f64 = 1_000.0;
/// Longer intervals count as this (ms): phones fix at least every few seconds while moving
/// (a watch's smart recording up to ~5 s); a longer wait is a stop or a gap, not the rate.
const MAX_METRE_INTERVAL_MS: f64 = 5_000.0;
/// Below this speed a distance step's end cannot be foreseen.
const MIN_FORESEEING_SPEED_MPS: f64 = 0.5;

/// The countdown of one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Countdown {
    said: bool,
    /// A distance step's metres and since when they read so. They move only with a fix: a
    /// tick between fixes (the wake-up a lead-in before the countdown) foreseeing from old
    /// metres and the newer clock would put the end later by the time since the fix, and the
    /// countdown would slip to the next fix; it foresees from when they were measured.
    metres_since: Option<(f64, u64)>,
    /// Running mean of the intervals between metre changes, ms (0: none measured yet).
    metre_interval_ms: f64,
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
                Some(self.measured_at_ms(now_ms, metres).saturating_add_signed(due_in_ms))
            }
            _ => None,
        }
    }

    /// When `metres` were measured: when they first read so, while that is as recent as fixes
    /// usually are; else now.
    fn measured_at_ms(&self, now_ms: u64, metres: f64) -> u64 {
        let usual_ms =
            if self.metre_interval_ms > 0.0 { self.metre_interval_ms } else { FIRST_METRE_INTERVAL_MS };
        match self.metres_since {
            Some((m, since))
                if m == metres
                    && (now_ms.saturating_sub(since) as f64) <= FRESH_METRES_INTERVALS * usual_ms =>
            {
                since
            }
            _ => now_ms,
        }
    }

    /// Keeps since when the step's metres read `metres`, and how often they change.
    fn note_metres(&mut self, now_ms: u64, metres: f64) {
        match self.metres_since {
            Some((m, _)) if m == metres => {}
            Some((_, since)) => {
                let interval = (now_ms.saturating_sub(since) as f64).min(MAX_METRE_INTERVAL_MS);
                self.metre_interval_ms = if self.metre_interval_ms > 0.0 {
                    self.metre_interval_ms + METRE_INTERVAL_WEIGHT * (interval - self.metre_interval_ms)
                } else {
                    interval
                };
                self.metres_since = Some((metres, now_ms));
            }
            None => self.metres_since = Some((metres, now_ms)),
        }
    }

    /// When to wake for the countdown: a lead-in before it is due.
    pub fn wakeup_ms(
        &self,
        now_ms: u64,
        end: StepEnd,
        elapsed: (u64, f64),
        speed_mps: Option<f64>,
    ) -> Option<u64> {
        self.due_ms(now_ms, end, elapsed, speed_mps).map(|due| due.saturating_sub(LEAD_IN_MS))
    }

    /// The countdown, a lead-in before it is due (it carries the time it is due).
    pub fn update(
        &mut self,
        now_ms: u64,
        end: StepEnd,
        elapsed: (u64, f64),
        speed_mps: Option<f64>,
    ) -> Option<News> {
        if matches!(end, StepEnd::Distance(_)) {
            self.note_metres(now_ms, elapsed.1);
        }
        let due = self.due_ms(now_ms, end, elapsed, speed_mps);
        let due = due.filter(|due| *due <= now_ms + LEAD_IN_MS)?;
        self.said = true;
        let slots = CueSlots { duration_s: Some(COUNTDOWN_LEAD_S), ..CueSlots::default() };
        // A countdown is due on its second: it carries that time, not the tick's.
        Some(News { kind: CueKind::Countdown, slots, at_ms: due.max(now_ms.saturating_sub(1000)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distance_steps_end_is_foreseen_from_when_its_metres_were_measured() {
        // 1 km at 3 m/s, a fix a second.
        let (end, speed) = (StepEnd::Distance(1000.0), Some(3.0));
        let mut countdown = Countdown::default();
        for t in 0..=300u64 {
            assert!(countdown.update(t * 1000, end, (t * 1000, 3.0 * t as f64), speed).is_none());
        }
        // 100 m left at the fix at 300 s: the end 33.3 s on, the countdown 10 s before it.
        let due = countdown.due_ms(300_000, end, (300_000, 900.0), speed);
        assert_eq!(due, Some(323_333));
        // Half a second later (a wake-up between fixes) the metres are the fix's: the same end,
        // not one half a second later.
        assert_eq!(countdown.due_ms(300_500, end, (300_500, 900.0), speed), due);
        // Ten seconds later with the metres still put, the runner has stopped: foreseen afresh.
        assert_eq!(countdown.due_ms(310_000, end, (310_000, 900.0), speed), Some(333_333));
        assert_eq!(countdown.wakeup_ms(300_000, end, (300_000, 900.0), speed), Some(323_333 - LEAD_IN_MS));
    }
}

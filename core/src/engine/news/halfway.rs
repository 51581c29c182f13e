//! "Halfway through this one" (a long step) and "halfway through the session" (a plan whose
//! length can be said).
//!
//! By time, the mark is known in advance: it is handed to the audio a lead-in early
//! ([`LEAD_IN_MS`]) and its first word lands on it.
//!
//! Must not: say either twice, or speak of a step too short for a halfway to be news.

use super::News;
use crate::cue::{CueKind, LEAD_IN_MS};
use crate::plan::{ExpandedStep, StepEnd};

/// Steps get a "halfway" only when at least this long (time) or far (distance).
const HALFWAY_MIN_STEP_S: f64 = 240.0;
const HALFWAY_MIN_STEP_M: f64 = 800.0;

/// The halfway mark of one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepHalfway {
    said: bool,
}

impl StepHalfway {
    /// When a time step's halfway mark is due on the run clock, if it is still to say.
    pub fn due_ms(&self, now_ms: u64, end: StepEnd, moving_ms: u64) -> Option<u64> {
        match end {
            StepEnd::Time(s) if s >= HALFWAY_MIN_STEP_S && !self.said => {
                Some(now_ms.saturating_add_signed((s * 500.0) as i64 - moving_ms as i64))
            }
            _ => None,
        }
    }

    /// `elapsed`: the step's (moving ms, metres).
    pub fn update(&mut self, now_ms: u64, end: StepEnd, elapsed: (u64, f64)) -> Option<News> {
        let (moving_ms, metres) = elapsed;
        let at_ms = match end {
            StepEnd::Time(_) => {
                self.due_ms(now_ms, end, moving_ms).filter(|due| *due <= now_ms + LEAD_IN_MS)?
            }
            StepEnd::Distance(m) if m >= HALFWAY_MIN_STEP_M && metres >= m / 2.0 => now_ms,
            _ => return None,
        };
        if self.said {
            return None;
        }
        self.said = true;
        // On its time, or at this tick if that has passed (a host that did not tick for it).
        Some(News::new(CueKind::StepHalfway, at_ms.max(now_ms.saturating_sub(1000))))
    }
}

/// How long the whole plan is, when it can be said: all steps by time or all by distance.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PlanLength {
    Time(f64),
    Distance(f64),
    Mixed,
}

impl PlanLength {
    fn of(steps: &[ExpandedStep]) -> Self {
        let (mut time_s, mut distance_m) = (0.0, 0.0);
        let (mut any_time, mut any_distance, mut any_open) = (false, false, false);
        for s in steps {
            match s.step.end {
                StepEnd::Time(t) => (time_s, any_time) = (time_s + t, true),
                StepEnd::Distance(d) => (distance_m, any_distance) = (distance_m + d, true),
                StepEnd::Open => any_open = true,
            }
        }
        match (any_time, any_distance, any_open) {
            (true, false, false) => PlanLength::Time(time_s),
            (false, true, false) => PlanLength::Distance(distance_m),
            _ => PlanLength::Mixed,
        }
    }
}

/// The halfway mark of the whole session.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHalfway {
    /// Worked out once: the mark is checked on every input.
    length: PlanLength,
    said: bool,
}

impl RunHalfway {
    pub fn new(steps: &[ExpandedStep]) -> Self {
        Self { length: PlanLength::of(steps), said: false }
    }

    /// When a plan by time is halfway on the run clock, if still to say.
    pub fn due_ms(&self, now_ms: u64, moving_ms: u64) -> Option<u64> {
        match self.length {
            PlanLength::Time(total_s) if !self.said => {
                Some(now_ms.saturating_add_signed((total_s * 500.0) as i64 - moving_ms as i64))
            }
            _ => None,
        }
    }

    /// `moving_ms` and `distance_m` of the whole run so far.
    pub fn update(&mut self, now_ms: u64, moving_ms: u64, distance_m: f64) -> Option<News> {
        let at_ms = match self.length {
            PlanLength::Time(_) => {
                self.due_ms(now_ms, moving_ms).filter(|due| *due <= now_ms + LEAD_IN_MS)?
            }
            PlanLength::Distance(total_m) if distance_m / total_m >= 0.5 => now_ms,
            _ => return None,
        };
        if self.said {
            return None;
        }
        self.said = true;
        Some(News::new(CueKind::RunHalfway, at_ms.max(now_ms.saturating_sub(1000))))
    }
}

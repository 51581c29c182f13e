//! "Just ten minutes": once the plan's free-to-stop moving time is reached, the runner may stop
//! or go on, and either way the run counts (DESIGN §9, easy starts).
//!
//! Must not: say it twice, or before the moving time (pauses do not count).

use super::News;
use crate::cue::{CueKind, CueSlots};

#[derive(Debug, Clone, PartialEq)]
pub struct FreeToStop {
    after_ms: Option<u64>,
    said: bool,
}

impl FreeToStop {
    /// `after_s`: the plan's `free_to_stop_after_s`.
    pub fn new(after_s: Option<f64>) -> Self {
        Self { after_ms: after_s.map(|s| (s * 1000.0) as u64), said: false }
    }

    /// Whether the point has been reached (the run counts as completed).
    pub fn reached(&self) -> bool {
        self.said
    }

    pub fn update(&mut self, now_ms: u64, moving_ms: u64) -> Option<News> {
        let at = self.after_ms.filter(|at| !self.said && moving_ms >= *at)?;
        self.said = true;
        let slots = CueSlots { duration_s: Some(at as f64 / 1000.0), ..CueSlots::default() };
        Some(News { kind: CueKind::FreeToStop, slots, at_ms: now_ms })
    }
}

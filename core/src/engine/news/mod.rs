//! The news a coach gives beside target coaching: countdowns, halfway marks, GPS lost and
//! back, pause and resume, encouragement, "free to stop". Each kind is a small state machine
//! with an `update()` that says whether it has something to say now; the session queues it.
//!
//! Must not: queue, speak or read a clock — the session passes in what each one needs.

pub mod countdown;
pub mod encouragement;
pub mod free_to_stop;
pub mod gps;
pub mod halfway;
pub mod pause;

use crate::cue::{CueKind, CueSlots};

/// Something to say, and the run clock it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct News {
    pub kind: CueKind,
    pub slots: CueSlots,
    pub at_ms: u64,
}

impl News {
    pub fn new(kind: CueKind, at_ms: u64) -> Self {
        Self { kind, slots: CueSlots::default(), at_ms }
    }
}

//! What comes out of a run session besides speech: the run's figures and its log of what the
//! runner said and what the coach changed because of it.
//!
//! Must not: hold behaviour; the session writes these, the host stores and syncs them.

use serde::Serialize;

use super::input::RunnerFeedback;

/// The figures of a run so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub distance_m: f64,
    pub moving_time_s: f64,
    pub steps_completed: usize,
    pub cues_spoken: u64,
    pub cues_dropped: u64,
    pub utterances: u64,
    /// Whether the run counts as a completed session: the plan done, or the "free to stop"
    /// point reached (stopping then or going on both count).
    pub counts_as_completed: bool,
    /// The check-in answer, 1–10, once given.
    pub effort: Option<u8>,
}

/// A record for the run's log: what the runner said and what the coach changed because of it.
/// The host stores these with the run (and syncs them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogRecord {
    Feedback {
        t_ms: u64,
        feedback: RunnerFeedback,
    },
    /// Target coaching stopped (pain).
    TargetsStopped {
        t_ms: u64,
    },
    CheckIn {
        t_ms: u64,
        effort: u8,
    },
    FreeToStop {
        t_ms: u64,
    },
    /// Pace targets eased by this much for heat, %.
    HeatAdjusted {
        pct: f64,
    },
    /// A check-in answer outside 1–10, ignored.
    CheckInRejected {
        t_ms: u64,
        effort: u8,
    },
}

impl LogRecord {
    /// The run clock the record happened at (the heat adjustment, made at the start, has none).
    pub fn t_ms(&self) -> Option<u64> {
        match *self {
            Self::Feedback { t_ms, .. }
            | Self::TargetsStopped { t_ms }
            | Self::CheckIn { t_ms, .. }
            | Self::FreeToStop { t_ms }
            | Self::CheckInRejected { t_ms, .. } => Some(t_ms),
            Self::HeatAdjusted { .. } => None,
        }
    }
}

/// Check-in answers are RPE on Borg's CR-10 scale as used for session RPE (Foster et al. 2001,
/// "A new approach to monitoring exercise training", J Strength Cond Res 15:109).
pub const CHECK_IN_RANGE: (u8, u8) = (1, 10);

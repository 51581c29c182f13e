//! What goes into a run session: inputs with the host's run clock, the engine's settings, and
//! what the host knows at the start (weather, the runner's week).
//!
//! Must not: hold behaviour; these are the values the engine is fed.

use serde::{Deserialize, Serialize};

use crate::coaching::goals::ProcessStatus;
use crate::profile::Chattiness;
use crate::sensor::{AltitudeReading, CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix};
use crate::weather::Conditions;

/// Something the runner said about the run (voice or a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerFeedback {
    /// This feels too hard: the coach loosens pace targets and stops pushing.
    TooHard,
    /// This feels easy.
    TooEasy,
    /// Something hurts: no more pushing for the rest of the run, and a safety cue.
    Pain,
}

/// An input to the engine, with the host's run clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    Start {
        t_ms: u64,
    },
    Fix(LocationFix),
    HeartRate(HeartRateReading),
    Cadence(CadenceReading),
    DeviceSpeed(DeviceSpeedReading),
    /// Barometric relative altitude (preferred to GPS altitude for grade).
    Altitude(AltitudeReading),
    Tick {
        t_ms: u64,
    },
    Pause {
        t_ms: u64,
    },
    Resume {
        t_ms: u64,
    },
    Lap {
        t_ms: u64,
    },
    SkipStep {
        t_ms: u64,
    },
    Finish {
        t_ms: u64,
    },
    Feedback {
        t_ms: u64,
        feedback: RunnerFeedback,
    },
    CueFinished {
        utterance_id: u64,
        at_ms: u64,
    },
    /// The post-run check-in's answer: how hard it felt, 1 (very easy) to 10 (maximal).
    /// Taken after the finish too.
    CheckIn {
        t_ms: u64,
        effort: u8,
    },
}

impl Input {
    /// The run clock the input carries.
    pub fn t_ms(&self) -> u64 {
        match *self {
            Self::Fix(f) => f.t_ms,
            Self::HeartRate(r) => r.t_ms,
            Self::Cadence(r) => r.t_ms,
            Self::DeviceSpeed(r) => r.t_ms,
            Self::Altitude(r) => r.t_ms,
            Self::CueFinished { at_ms, .. } => at_ms,
            Self::Start { t_ms }
            | Self::Tick { t_ms }
            | Self::Pause { t_ms }
            | Self::Resume { t_ms }
            | Self::Lap { t_ms }
            | Self::SkipStep { t_ms }
            | Self::Finish { t_ms }
            | Self::Feedback { t_ms, .. }
            | Self::CheckIn { t_ms, .. } => t_ms,
        }
    }
}

/// How the engine behaves, beyond the plan and the runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub chattiness: Chattiness,
    /// Pause the timer when the runner stops (traffic lights).
    pub auto_pause: bool,
    /// The audio layer reports `cue_finished`: speech lasts until it does (with a generous
    /// safety limit), not until the estimate from the words runs out.
    pub audio_reports_finish: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { chattiness: Chattiness::Normal, auto_pause: true, audio_reports_finish: false }
    }
}

/// What else the engine knows at the start of a run, beyond plan, profile and settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    /// The weather now (overrides conditions preloaded with the plan): pace targets are eased.
    pub conditions: Option<Conditions>,
    /// The runner's process goals before this run: celebrated at the finish.
    pub process: Option<ProcessStatus>,
}

//! The runner's profile as the app holds it: the facts coaching needs about this runner.
//! Read from JSON (`pacenote replay --profile PROFILE.json`); every field is optional, and
//! what is missing is simply not coached (no zones without heart-rate facts).

use serde::{Deserialize, Serialize};

/// What the coach knows about the runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerProfile {
    #[serde(default)]
    pub max_hr_bpm: Option<f64>,
    #[serde(default)]
    pub resting_hr_bpm: Option<f64>,
    /// Lactate-threshold heart rate (from a 30-minute time trial).
    #[serde(default)]
    pub lthr_bpm: Option<f64>,
}

//! The runner's profile as the app holds it: the facts coaching needs about this runner
//! (heart), how they like to be coached (persona, language, units, chattiness), and their goals and
//! runs. Read from JSON (`pacenote replay --profile PROFILE.json`); every field is optional,
//! and what is missing is simply not coached (no zones without heart-rate facts).
//!
//! Must not: decide anything; the engine and the coaching rules read these values.

use serde::{Deserialize, Serialize};

use crate::coaching::goals::{CompletedRun, Goal, WeeklyPlan};
use crate::speech::{Language, Units};

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

/// How much the coach talks, below step changes and safety (which are always said).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chattiness {
    Quiet,
    #[default]
    Normal,
    Chatty,
}

impl Chattiness {
    /// Utterances per minute below step-change priority.
    pub(crate) fn per_minute(self) -> usize {
        match self {
            Self::Quiet => 1,
            Self::Normal => 2,
            Self::Chatty => 4,
        }
    }

    /// Silence after any utterance before a lower-priority one may start.
    pub(crate) fn min_gap_ms(self) -> u64 {
        match self {
            Self::Quiet => 30_000,
            Self::Normal => 12_000,
            Self::Chatty => 6_000,
        }
    }

    /// Whether encouragement is said at all, and how often at most.
    pub fn encouragement_every_ms(self) -> Option<u64> {
        match self {
            Self::Quiet => None,
            Self::Normal => Some(480_000),
            Self::Chatty => Some(240_000),
        }
    }
}

/// Everything the app keeps about the runner for coaching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoachProfile {
    #[serde(default)]
    pub heart: RunnerProfile,
    #[serde(default)]
    pub units: Units,
    #[serde(default = "default_persona")]
    pub persona: String,
    /// The runner's language: the persona speaks it (`RunOptions.lang` in the apps), and the
    /// app preloads that language's pack. English when not set.
    #[serde(default)]
    pub language: Language,
    #[serde(default)]
    pub chattiness: Chattiness,
    #[serde(default)]
    pub goals: Vec<Goal>,
    #[serde(default)]
    pub weekly_plan: Option<WeeklyPlan>,
    #[serde(default)]
    pub completed: Vec<CompletedRun>,
}

fn default_persona() -> String {
    "jenna".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_reads_from_json_and_refuses_unknown_fields() {
        let json = r#"{"heart":{"max_hr_bpm":188},"units":"imperial","persona":"stone","language":"fr","chattiness":"quiet",
            "goals":[{"tier":"process","what":"run four days a week","target":"4 runs/week"},
                     {"tier":"performance","what":"hold 5:10/km for 8 km","deadline":"2027-03-01"}],
            "weekly_plan":{"runs_per_week":4},
            "completed":[{"date":"2026-11-20","moving_time_s":1800,"distance_m":5000,"effort":4}]}"#;
        let p: CoachProfile = serde_json::from_str(json).expect("valid");
        assert_eq!(p.goals[1].deadline, chrono::NaiveDate::from_ymd_opt(2027, 3, 1));
        assert_eq!(p.units, Units::Imperial);
        assert_eq!(p.language, Language::Fr);
        // A runner who never chose hears English; a language no persona speaks is refused.
        assert_eq!(serde_json::from_str::<CoachProfile>("{}").expect("empty").language, Language::En);
        assert!(serde_json::from_str::<CoachProfile>(r#"{"language":"tlh"}"#).is_err());
        assert!(serde_json::from_str::<CoachProfile>(r#"{"gaols":[]}"#).is_err());
    }
}

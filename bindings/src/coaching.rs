//! The coaching core beyond the live run, for apps (DESIGN §9): the readiness check before a
//! run and the easy version of a session.
//!
//! Must not: decide anything the core does not (each call is the core's answer, mapped), or
//! do I/O.

use pacenote_core::coaching::readiness::{self, MorningCheck, Readiness};
use pacenote_core::plan::Plan;

use crate::error::{PacenoteError, guarded};

/// The pre-run readiness check (DESIGN §9): run as planned, easy, rest, or see a professional.
#[uniffi::export]
pub fn readiness(check: MorningCheck) -> Result<Readiness, PacenoteError> {
    guarded(|| Ok(readiness::assess(&check)?))
}

/// The runner chose to go easy: the plan swapped for one easy step (about as long, capped,
/// under an HR cap when max HR is known). Returns the new plan's JSON for a run.
#[uniffi::export]
pub fn easy_version(plan_json: String, max_hr_bpm: Option<f64>) -> Result<String, PacenoteError> {
    guarded(|| {
        let plan = Plan::from_json(plan_json.as_bytes())?;
        Ok(readiness::easy_instead(&plan, max_hr_bpm).to_json_pretty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacenote_core::coaching::readiness::Recommendation;

    const PLAN: &str = include_str!("../../core/plans/tempo-20.json");

    #[test]
    fn readiness_and_the_easy_version_through_the_api() {
        let r = readiness(MorningCheck { pain_days: 5, ..MorningCheck::default() }).expect("valid");
        assert_eq!(r.recommendation, Recommendation::SeeProfessional);
        let easy = easy_version(PLAN.into(), Some(190.0)).expect("a plan");
        assert!(easy.contains("\"easy\""), "{easy}");
        assert!(readiness(MorningCheck { resting_hr_bpm: Some(50.0), ..MorningCheck::default() }).is_err());
    }
}

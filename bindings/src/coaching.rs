//! The coaching core beyond the live run, for apps (DESIGN §9): the readiness check before a
//! run and the easy version of a session, the next session after a layoff (with goal
//! proposals after missed targets), and a plan eased for the heat of a forecast.
//!
//! Must not: decide anything the core does not (each call is the core's answer, mapped), or
//! do I/O.

use pacenote_core::coaching::adapt::{self, GoalProposal};
use pacenote_core::coaching::heat;
use pacenote_core::coaching::readiness::{self, MorningCheck, Readiness};
use pacenote_core::plan::Plan;
use pacenote_core::weather::Conditions;

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

/// The next session after a layoff, and what to do about a goal that keeps being missed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlanAdaptation {
    pub days_off: u32,
    /// Paces are run at this share of the runner's fitness (Daniels' VDOT loss after a break).
    pub fitness_factor: f64,
    /// The session's length is this share of the plan's.
    pub volume_factor: f64,
    /// The next session, smaller and slower (plan JSON, for a run).
    pub plan_json: String,
    /// Proposals to change the goal, when targets keep being missed (the runner chooses).
    pub goal_proposals: Vec<GoalProposal>,
    /// What changed and why, in the runner's words.
    pub notes: Vec<String>,
}

/// A way to change a goal that keeps being missed.
#[uniffi::remote(Enum)]
pub enum GoalProposal {
    /// Same goal, later.
    Timeline { weeks_later: u32 },
    /// Same kind of goal, smaller: e.g. 5 % slower.
    Magnitude { easier_by_pct: f64 },
    /// A process goal the runner controls instead ("run four days a week").
    Type { process_goal: String },
}

/// After `days_off` without running, the next session of `plan_json` smaller and slower; after
/// `missed_targets` sessions in a row whose targets were out of reach, proposals to change the
/// goal. Missed runs are never added to the sessions ahead.
#[uniffi::export]
pub fn adapt_plan(
    plan_json: String,
    days_off: u32,
    missed_targets: u32,
) -> Result<PlanAdaptation, PacenoteError> {
    guarded(|| {
        let plan = Plan::from_json(plan_json.as_bytes())?;
        let adapt::Adaptation {
            days_off,
            vdot_factor,
            volume_factor,
            plan,
            missed_runs_added: _,
            goal_proposals,
            notes,
        } = adapt::adapt(&plan, days_off, missed_targets);
        Ok(PlanAdaptation {
            days_off,
            fitness_factor: vdot_factor,
            volume_factor,
            plan_json: plan.to_json_pretty(),
            goal_proposals,
            notes,
        })
    })
}

/// A plan eased for the heat and humidity of a forecast.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HeatAdjustment {
    /// How much slower pace targets are (per cent; 0 in cool weather).
    pub slowdown_pct: f64,
    /// Too hot and humid to run hard at all: the coach proposes an easy run or another time.
    pub too_hot: bool,
    /// The plan with pace targets eased (short repeats keep their pace and get longer rests).
    pub plan_json: String,
}

/// `plan_json` eased for a forecast of `temp_c` with a dew point of `dew_point_c` (Hadley's
/// temperature + dew point table).
#[uniffi::export]
pub fn heat_adjustment(
    plan_json: String,
    temp_c: f64,
    dew_point_c: f64,
) -> Result<HeatAdjustment, PacenoteError> {
    guarded(|| {
        let plan = Plan::from_json(plan_json.as_bytes())?;
        let conditions = Conditions::new(temp_c, dew_point_c)?;
        let (adjusted, slowdown_pct) = heat::adjust_plan(&plan, &conditions);
        Ok(HeatAdjustment {
            slowdown_pct,
            too_hot: conditions.too_hot(),
            plan_json: adjusted.to_json_pretty(),
        })
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

    #[test]
    fn a_layoff_and_the_heat_through_the_api() {
        let back = adapt_plan(PLAN.into(), 14, 3).expect("adapted");
        let core = adapt::adapt(&Plan::from_json(PLAN.as_bytes()).expect("plan"), 14, 3);
        assert_eq!((back.fitness_factor, back.volume_factor), (core.vdot_factor, core.volume_factor));
        assert_eq!(back.plan_json, core.plan.to_json_pretty());
        assert_eq!(back.goal_proposals, core.goal_proposals);
        assert!(!back.goal_proposals.is_empty() && back.notes.iter().any(|n| n.contains("14 days off")));
        let hot = heat_adjustment(PLAN.into(), 30.0, 22.0).expect("hot");
        assert!(
            hot.slowdown_pct > 0.0
                && hot.plan_json != Plan::from_json(PLAN.as_bytes()).expect("plan").to_json_pretty()
        );
        let cool = heat_adjustment(PLAN.into(), 10.0, 5.0).expect("cool");
        assert_eq!(cool.slowdown_pct, 0.0);
        assert!(matches!(heat_adjustment(PLAN.into(), 20.0, 25.0), Err(PacenoteError::InvalidInput { .. })));
        assert!(matches!(adapt_plan("{".into(), 3, 0), Err(PacenoteError::InvalidPlan { .. })));
    }
}

//! The coaching core beyond the live run, for apps (DESIGN §9): the readiness check before a
//! run and the easy version of a session, the next session after a layoff (with goal
//! proposals after missed targets), a plan eased for the heat of a forecast, and from the
//! store's history the post-run summary of a run, the trend of pace at the reference heart
//! rate and the goals' progress.
//!
//! Must not: decide anything the core does not (each call is the core's answer, mapped), or
//! do I/O beyond reading the store through [`Pacenote`].

use pacenote_core::coaching::adapt::{self, GoalProposal};
use pacenote_core::coaching::heat;
use pacenote_core::coaching::readiness::{self, MorningCheck, Readiness};
use pacenote_core::plan::Plan;
use pacenote_core::weather::Conditions;

use crate::error::{PacenoteError, guarded};
use crate::store::{Pacenote, now_unix_ms};
use pacenote_core::coaching::analysis::{RunAnalysis, pace_change_per_30_days};
use pacenote_core::coaching::goals::{GoalMeasure, GoalTier, WeeklyPlan, local_day};
use pacenote_core::coaching::summary::{HistoryEntry, day_number, post_run_summary, week_and_goals};
use pacenote_sync::history::{PastRun, past_runs, run_and_before};

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

/// A run against the runs before it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Trend {
    pub runs_before: u32,
    /// Change of pace at the reference heart rate per 30 days, s/km (negative: faster for the
    /// same heart rate — fitter), through the history and this run (three runs at least).
    pub pace_at_reference_hr_change_s_per_km_per_30_days: Option<f64>,
    /// This run's efficiency factor against the mean of the earlier runs', %.
    pub efficiency_vs_history_pct: Option<f64>,
    /// "first 10 km", "longest run yet", "best efficiency yet…".
    pub milestones: Vec<String>,
}

/// The week's process goals: runs done against planned, and the streak.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WeekStatus {
    /// The Monday the week starts on (`2026-11-30`).
    pub week_start: String,
    pub runs_planned: u32,
    pub runs_done: u32,
    /// Weeks in a row with a run that counts (ten minutes or more).
    pub streak_weeks: u32,
    pub week_complete: bool,
}

/// A runner's goal, SMART: what, how it is measured, by when.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Goal {
    pub tier: GoalTier,
    pub what: String,
    /// How it is measured, in the runner's words.
    #[uniffi(default)]
    pub target: Option<String>,
    /// The deadline, `2027-03-01`.
    #[uniffi(default)]
    pub deadline: Option<String>,
    /// What its progress is read from (none: shown without progress).
    #[uniffi(default)]
    pub measure: Option<GoalMeasure>,
}

/// How far a goal has come.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GoalProgress {
    pub goal: Goal,
    /// Where the runner stands, in the measure's unit (runs, weeks, s/km, m).
    pub current: Option<f64>,
    pub target: Option<f64>,
    /// 0 to 1: how much of the way.
    pub share: Option<f64>,
    pub reached: bool,
    /// Days until the deadline (negative: past it).
    pub days_left: Option<i64>,
    /// The progress in a few words ("2 of 3 runs this week").
    pub words: String,
}

/// What the runner sees after a run: what `pacenote summary --store` prints.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PostRunSummary {
    pub run_id: String,
    /// The run's day where the runner was (`2026-12-02`).
    pub date: String,
    pub run: RunAnalysis,
    pub trend: Trend,
    pub week: WeekStatus,
    /// Process goals first, then performance, then outcome.
    pub goals: Vec<GoalProgress>,
}

/// What a post-run summary is read with.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SummaryOptions {
    /// The run (none: the latest finished).
    #[uniffi(default)]
    pub run_id: Option<String>,
    /// The heart rate runs are compared at (none: the run's own, from the runner's max HR
    /// when it was recorded).
    #[uniffi(default)]
    pub reference_hr_bpm: Option<f64>,
    /// Runs planned a week ("2 of 3 this week"; 0: no plan).
    #[uniffi(default = 0)]
    pub runs_per_week: u32,
    #[uniffi(default)]
    pub goals: Vec<Goal>,
    /// The phone's time zone, minutes east of UTC: which day a run belongs to.
    #[uniffi(default = 0)]
    pub utc_offset_minutes: i32,
}

/// One run's pace at the reference heart rate.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PacePoint {
    pub run_id: String,
    pub date: String,
    pub pace_s_per_km: f64,
}

/// Pace at one heart rate, run by run: the fitness chart.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PaceTrend {
    pub reference_hr_bpm: f64,
    /// Oldest first; runs without enough steady running with heart rate are left out.
    pub points: Vec<PacePoint>,
    /// Least-squares change per 30 days, s/km (negative: fitter); none under three points.
    pub change_s_per_km_per_30_days: Option<f64>,
}

fn core_goals(goals: Vec<Goal>) -> Result<Vec<pacenote_core::coaching::goals::Goal>, PacenoteError> {
    goals.into_iter().map(TryInto::try_into).collect()
}

fn check_reference_hr(hr: Option<f64>) -> Result<Option<f64>, PacenoteError> {
    match hr {
        Some(h) if !(h.is_finite() && (60.0..=220.0).contains(&h)) => Err(PacenoteError::invalid_input(
            format!("reference_hr_bpm {h} is not a heart rate (60–220 bpm)"),
        )),
        _ => Ok(hr),
    }
}

#[uniffi::export]
impl Pacenote {
    /// The post-run summary of a stored run (the latest finished one unless `options.run_id`):
    /// splits, efficiency, decoupling, pace at the reference heart rate, the trend against the
    /// runs before it, the week's tally and the goals' progress as of that run's day.
    pub fn run_summary(&self, options: SummaryOptions) -> Result<PostRunSummary, PacenoteError> {
        guarded(|| {
            let SummaryOptions { run_id, reference_hr_bpm, runs_per_week, goals, utc_offset_minutes } =
                options;
            let reference_hr_bpm = check_reference_hr(reference_hr_bpm)?;
            let goals = core_goals(goals)?;
            let offset_s = utc_offset_minutes.saturating_mul(60);
            let runs = self.history(|store| past_runs(store, offset_s))?;
            let (run, before) = run_and_before(&runs, run_id.as_deref())
                .map_err(|e| PacenoteError::invalid_input(format!("{e} in the store")))?;
            let analysis = run.analysis.clone().ok_or_else(|| {
                PacenoteError::invalid_input(format!(
                    "run {} has no post-run analysis: it was finished by an older version and its log has been uploaded",
                    run.id
                ))
            })?;
            let analysis = match reference_hr_bpm {
                Some(hr) => analysis.at_reference_hr(hr),
                None => analysis,
            };
            let earlier: Vec<HistoryEntry> = before.iter().map(PastRun::entry).collect();
            let weekly = (runs_per_week > 0).then_some(WeeklyPlan { runs_per_week });
            let s = post_run_summary(analysis, Some(run.completed()), Some(&earlier), weekly, &goals);
            let (Some(trend), Some(process)) = (s.trend, s.process) else {
                return Err(PacenoteError::invalid_input("a stored run's summary has a date and a history"));
            };
            Ok(PostRunSummary {
                run_id: run.id.clone(),
                date: run.date.to_string(),
                run: s.run,
                trend: trend.into(),
                week: process.into(),
                goals: s.goals.into_iter().map(Into::into).collect(),
            })
        })
    }

    /// The pace at `reference_hr_bpm` (none: the latest run's reference) of every stored run,
    /// oldest first, and its change per 30 days.
    pub fn pace_trend(
        &self,
        reference_hr_bpm: Option<f64>,
        utc_offset_minutes: i32,
    ) -> Result<PaceTrend, PacenoteError> {
        guarded(|| {
            let offset_s = utc_offset_minutes.saturating_mul(60);
            let runs = self.history(|store| past_runs(store, offset_s))?;
            let latest_reference =
                runs.iter().rev().find_map(|r| r.analysis.as_ref()).map(|a| a.reference_hr_bpm);
            let reference_hr_bpm = check_reference_hr(reference_hr_bpm)?
                .or(latest_reference)
                .unwrap_or(pacenote_core::coaching::analysis::DEFAULT_REFERENCE_HR_BPM);
            let mut points = Vec::new();
            for run in &runs {
                if let Some(pace) = run.analysis.as_ref().and_then(|a| a.pace_at_s_per_km(reference_hr_bpm)) {
                    points.push((run.id.clone(), run.date, pace));
                }
            }
            let change =
                pace_change_per_30_days(&points.iter().map(|p| (day_number(p.1), p.2)).collect::<Vec<_>>());
            Ok(PaceTrend {
                reference_hr_bpm,
                points: points
                    .into_iter()
                    .map(|(run_id, date, pace_s_per_km)| PacePoint {
                        run_id,
                        date: date.to_string(),
                        pace_s_per_km,
                    })
                    .collect(),
                change_s_per_km_per_30_days: change,
            })
        })
    }

    /// The goals' progress as of today (the phone's day), from the store's history: process
    /// goals first, then performance, then outcome.
    pub fn goal_progress(
        &self,
        goals: Vec<Goal>,
        runs_per_week: u32,
        utc_offset_minutes: i32,
    ) -> Result<Vec<GoalProgress>, PacenoteError> {
        guarded(|| {
            let goals = core_goals(goals)?;
            let offset_s = utc_offset_minutes.saturating_mul(60);
            let runs = self.history(|store| past_runs(store, offset_s))?;
            let today = local_day(now_unix_ms(), offset_s).ok_or_else(|| {
                PacenoteError::invalid_input(format!("utc_offset_minutes {utc_offset_minutes}"))
            })?;
            let weekly = (runs_per_week > 0).then_some(WeeklyPlan { runs_per_week });
            let entries: Vec<HistoryEntry> = runs.iter().map(PastRun::entry).collect();
            let (_, progress) = week_and_goals(&entries, weekly, &goals, today);
            Ok(progress.into_iter().map(Into::into).collect())
        })
    }
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

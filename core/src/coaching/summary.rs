//! What the runner sees after a run, assembled in one place for the command line and the apps'
//! library: the run's figures, its trend against the runs before it, the week's process goals
//! and each goal's progress (DESIGN §9).
//!
//! Must not: read files or a store (callers bring the history), or judge earlier runs at another
//! heart rate than this one (each is read again at the same reference).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::analysis::{HistoryPoint, RunAnalysis, Trend, trend};
use super::goals::{
    AnalysedRun, CompletedRun, Goal, GoalProgress, ProcessStatus, WeeklyPlan, goal_progress, process_status,
};

/// A run of the history: as the week counts it, and its analysis when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub completed: CompletedRun,
    pub analysis: Option<RunAnalysis>,
}

/// The post-run summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostRunSummary {
    #[serde(flatten)]
    pub run: RunAnalysis,
    /// The run's day where the runner was (none: the recording has no date).
    pub date: Option<NaiveDate>,
    /// Against the earlier runs (none: no history given).
    pub trend: Option<Trend>,
    /// The week's tally and the streak, this run counted (none: no history or no date).
    pub process: Option<ProcessStatus>,
    /// Each goal's progress, this run counted, process goals first (empty: no goals, no
    /// history or no date).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<GoalProgress>,
}

/// Days since the Unix epoch, the trend's x axis.
pub fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// The pace at the reference heart rate run by run, oldest first, each run read at
/// `reference_hr_bpm`: the series a trend chart draws.
pub fn pace_series(runs: &[HistoryEntry], reference_hr_bpm: f64) -> Vec<(NaiveDate, f64)> {
    runs.iter()
        .filter_map(|r| {
            let pace = r.analysis.as_ref()?.pace_at_s_per_km(reference_hr_bpm)?;
            Some((r.completed.date, pace))
        })
        .collect()
}

/// The week's tally and streak and each goal's progress as of `today`, from `runs` (every run
/// up to that day; those without an analysis count for the week, not for goals).
pub fn week_and_goals(
    runs: &[HistoryEntry],
    weekly: Option<WeeklyPlan>,
    goals: &[Goal],
    today: NaiveDate,
) -> (ProcessStatus, Vec<GoalProgress>) {
    let completed: Vec<CompletedRun> = runs.iter().map(|e| e.completed).collect();
    let process = process_status(&completed, weekly, today);
    let analysed: Vec<AnalysedRun> = runs
        .iter()
        .filter_map(|e| Some(AnalysedRun { date: e.completed.date, analysis: e.analysis.clone()? }))
        .collect();
    let progress = goal_progress(goals, &analysed, &process, today);
    (process, progress)
}

/// The summary of `run` (as done, `this`: none when its date is unknown), against the runs
/// before it when the history is known (`earlier`, each read again at the run's reference
/// heart rate), with the runner's weekly plan and goals.
pub fn post_run_summary(
    run: RunAnalysis,
    this: Option<CompletedRun>,
    earlier: Option<&[HistoryEntry]>,
    weekly: Option<WeeklyPlan>,
    goals: &[Goal],
) -> PostRunSummary {
    let reference_hr_bpm = run.reference_hr_bpm;
    let date = this.map(|c| c.date);
    let Some(earlier) = earlier else {
        return PostRunSummary { run, date, trend: None, process: None, goals: Vec::new() };
    };
    let earlier: Vec<HistoryEntry> = earlier
        .iter()
        .map(|e| HistoryEntry {
            completed: e.completed,
            analysis: e.analysis.clone().map(|a| a.at_reference_hr(reference_hr_bpm)),
        })
        .collect();
    let points: Vec<HistoryPoint> = earlier
        .iter()
        .filter_map(|e| {
            let a = e.analysis.as_ref()?;
            Some(HistoryPoint {
                day: day_number(e.completed.date),
                distance_m: a.distance_m,
                pace_at_reference_hr_s_per_km: a.pace_at_reference_hr_s_per_km,
                efficiency_factor: a.efficiency_factor,
            })
        })
        .collect();
    let trend = trend(&points, date.map_or(0, day_number), &run);
    let (process, goals) = match this {
        Some(this) => {
            let mut runs = earlier;
            runs.push(HistoryEntry { completed: this, analysis: Some(run.clone()) });
            let (process, goals) = week_and_goals(&runs, weekly, goals, this.date);
            (Some(process), goals)
        }
        None => (None, Vec::new()),
    };
    PostRunSummary { run, date, trend: Some(trend), process, goals }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coaching::analysis::{TracePoint, analyse};
    use crate::coaching::goals::{GoalMeasure, GoalTier};

    /// A steady run of `seconds` at `speed` m/s and heart rate `hr`.
    fn steady(seconds: u32, speed: f64, hr: f64) -> RunAnalysis {
        let points: Vec<TracePoint> = (0..=seconds)
            .map(|s| TracePoint {
                moving_s: f64::from(s),
                distance_m: f64::from(s) * speed,
                hr_bpm: Some(hr),
            })
            .collect();
        analyse(&points, 140.0)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    fn entry(date: &str, analysis: RunAnalysis) -> HistoryEntry {
        HistoryEntry {
            completed: CompletedRun {
                date: day(date),
                moving_time_s: analysis.moving_time_s,
                distance_m: analysis.distance_m,
                effort: None,
            },
            analysis: Some(analysis),
        }
    }

    #[test]
    fn earlier_runs_are_read_at_this_runs_reference_and_goals_come_process_first() {
        // Fitter week by week: the same heart rate, a little faster each time.
        let earlier: Vec<HistoryEntry> = (0..3)
            .map(|i| {
                entry(&format!("2026-11-{:02}", 2 + 7 * i), steady(3000, 2.9 + 0.05 * f64::from(i), 150.0))
            })
            .collect();
        let earlier = [earlier, vec![entry("2026-11-23", steady(1800, 3.2, 150.0))]].concat();
        let this = steady(3600, 3.1, 150.0).at_reference_hr(150.0);
        let today = CompletedRun {
            date: day("2026-11-26"),
            moving_time_s: 3600.0,
            distance_m: 11_160.0,
            effort: None,
        };
        let goals = [
            Goal {
                tier: GoalTier::Outcome,
                what: "a half marathon".into(),
                target: None,
                deadline: Some(day("2027-04-26")),
                measure: Some(GoalMeasure::Distance { distance_m: 21_097.5 }),
            },
            Goal {
                tier: GoalTier::Performance,
                what: "5:10/km for 8 km".into(),
                target: None,
                deadline: None,
                measure: Some(GoalMeasure::PaceOver { pace_s_per_km: 310.0, distance_m: 8000.0 }),
            },
            Goal {
                tier: GoalTier::Process,
                what: "run three days a week".into(),
                target: None,
                deadline: None,
                measure: Some(GoalMeasure::RunsPerWeek { runs: 3 }),
            },
        ];
        let s = post_run_summary(
            this,
            Some(today),
            Some(&earlier),
            Some(WeeklyPlan { runs_per_week: 3 }),
            &goals,
        );
        let trend = s.trend.expect("a trend");
        assert_eq!(trend.runs_before, 4);
        // Faster at the same heart rate: the slope is negative.
        assert!(trend.pace_at_reference_hr_change_s_per_km_per_30_days.expect("slope") < 0.0);
        assert_eq!(s.process.expect("process").this_week.done, 2);
        let tiers: Vec<GoalTier> = s.goals.iter().map(|g| g.goal.tier).collect();
        assert_eq!(tiers, [GoalTier::Process, GoalTier::Performance, GoalTier::Outcome]);
        assert_eq!((s.goals[0].current, s.goals[0].reached), (Some(2.0), false));
        // Best 8 km: this run at 3.1 m/s, 322.6 s/km — not yet 5:10.
        let best = s.goals[1].current.expect("a best 8 km");
        assert!((best - 1000.0 / 3.1).abs() < 0.5, "{best}");
        assert!(!s.goals[1].reached);
        assert_eq!(s.goals[2].days_left, Some(151));
        assert!((s.goals[2].share.expect("share") - 11_160.0 / 21_097.5).abs() < 1e-3);
    }

    #[test]
    fn a_stored_run_can_be_read_at_another_reference_heart_rate() {
        let a = steady(3000, 3.0, 150.0);
        let at_150 = a.clone().at_reference_hr(150.0).pace_at_reference_hr_s_per_km.expect("pace");
        assert!((at_150 - 1000.0 / 3.0).abs() < 0.1);
        // One heart rate only: speed in proportion to it.
        let at_120 = a.at_reference_hr(120.0).pace_at_reference_hr_s_per_km.expect("pace");
        assert!((at_120 - 1000.0 / 2.4).abs() < 0.1, "{at_120}");
    }
}

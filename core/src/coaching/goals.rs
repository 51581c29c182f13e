//! The runner's goals, weekly plan and completed runs, and what they add up to: process goals
//! first (DESIGN §9).
//!
//! A coach celebrates what the runner controls: "four of four planned runs this week", "six
//! weeks in a row". Streaks are counted in weeks, so rest days never break one; a short easy run
//! counts ("lower the standard, not the streak").
//!
//! Must not: shame a missed run, or count a week as broken before it is over.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::analysis::RunAnalysis;
use crate::units::{SecondsPerKm, format_distance_m};

/// A run this long or longer counts for a week's streak: the "just ten minutes" session. Habit
/// research favours keeping the habit over its size (Lally et al. 2010, "How are habits formed",
/// Eur J Soc Psychol 40:998 — missing a single opportunity did not affect habit formation; Fogg,
/// "Tiny Habits", 2019).
pub const STREAK_MIN_RUN_S: f64 = 10.0 * 60.0;

/// How ambitious and how controllable a goal is (Locke & Latham's goal tiers as coaches use
/// them: outcome, performance, process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalTier {
    /// "Finish a marathon": the result, partly out of the runner's hands.
    Outcome,
    /// "Hold 5:10/km for 8 km": a standard to reach.
    Performance,
    /// "Run four days a week": what the runner does, fully in their control.
    Process,
}

/// A goal, SMART: specific (what), measurable (target), time-bound (deadline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub tier: GoalTier,
    pub what: String,
    /// How it is measured, in the runner's words ("5:10/km for 8 km", "4 runs a week").
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    /// How it is measured, in figures the history can be read against (none: the goal is
    /// shown without progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<GoalMeasure>,
}

/// What a goal's progress is read from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GoalMeasure {
    /// Runs that count this week (a process goal: "run four days a week").
    RunsPerWeek { runs: u32 },
    /// Weeks in a row with a run that counts (a process goal: "keep the habit for 12 weeks").
    WeeksInARow { weeks: u32 },
    /// The pace held over a distance in one run, at best (a performance goal: "5:10/km for
    /// 8 km").
    PaceOver { pace_s_per_km: f64, distance_m: f64 },
    /// The distance of one run, at longest (an outcome goal: "finish a half marathon").
    Distance { distance_m: f64 },
}

/// A run of the history as goals read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedRun {
    pub date: NaiveDate,
    pub analysis: RunAnalysis,
}

/// How far a goal has come, as of a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalProgress {
    pub goal: Goal,
    /// Where the runner stands, in the measure's unit (runs, weeks, s/km, m); `None` when the
    /// goal has no measure, or nothing in the history measures it yet.
    pub current: Option<f64>,
    /// The goal's figure in the same unit.
    pub target: Option<f64>,
    /// 0 to 1: how much of the way (for a pace, the target pace over the best one).
    pub share: Option<f64>,
    pub reached: bool,
    /// Days until the deadline (negative: past it).
    pub days_left: Option<i64>,
    /// The progress in a few words, for the goal's card ("2 of 4 runs this week").
    pub words: String,
}

/// The goals' progress as of `today`, process goals first, then performance, then outcome
/// (what the runner controls is what a coach talks about first), from the history of analysed
/// runs (this one included) and the week's process status.
pub fn goal_progress(
    goals: &[Goal],
    runs: &[AnalysedRun],
    process: &ProcessStatus,
    today: NaiveDate,
) -> Vec<GoalProgress> {
    let tier_order = |t: GoalTier| match t {
        GoalTier::Process => 0,
        GoalTier::Performance => 1,
        GoalTier::Outcome => 2,
    };
    let mut out: Vec<GoalProgress> = goals.iter().map(|g| progress_of(g, runs, process, today)).collect();
    out.sort_by_key(|p| tier_order(p.goal.tier));
    out
}

fn progress_of(goal: &Goal, runs: &[AnalysedRun], process: &ProcessStatus, today: NaiveDate) -> GoalProgress {
    let so_far = runs.iter().filter(|r| r.date <= today);
    let (current, target, share, reached, words) = match goal.measure {
        None => (None, None, None, false, "no measure: add one to see progress".to_owned()),
        Some(GoalMeasure::RunsPerWeek { runs }) => {
            let done = f64::from(process.this_week.done);
            let share = (runs > 0).then(|| (done / f64::from(runs)).min(1.0));
            (
                Some(done),
                Some(f64::from(runs)),
                share,
                process.this_week.done >= runs,
                format!("{} of {runs} runs this week", process.this_week.done),
            )
        }
        Some(GoalMeasure::WeeksInARow { weeks }) => {
            let streak = process.streak_weeks;
            let share = (weeks > 0).then(|| (f64::from(streak) / f64::from(weeks)).min(1.0));
            (
                Some(f64::from(streak)),
                Some(f64::from(weeks)),
                share,
                streak >= weeks,
                format!("{streak} of {weeks} weeks in a row"),
            )
        }
        Some(GoalMeasure::PaceOver { pace_s_per_km, distance_m }) => {
            let best = so_far
                .filter_map(|r| r.analysis.best_effort_over(distance_m))
                .map(|e| e.time_s / e.distance_m * 1000.0)
                .min_by(f64::total_cmp);
            let over = format_distance_m(distance_m);
            match best {
                Some(pace) => (
                    Some(pace),
                    Some(pace_s_per_km),
                    Some((pace_s_per_km / pace).min(1.0)),
                    pace <= pace_s_per_km,
                    format!(
                        "best {over} at {}/km, goal {}/km",
                        SecondsPerKm(pace),
                        SecondsPerKm(pace_s_per_km)
                    ),
                ),
                None => (None, Some(pace_s_per_km), None, false, format!("no run of {over} yet")),
            }
        }
        Some(GoalMeasure::Distance { distance_m }) => {
            let longest = so_far.map(|r| r.analysis.distance_m).fold(0.0, f64::max);
            (
                Some(longest),
                Some(distance_m),
                (distance_m > 0.0).then(|| (longest / distance_m).min(1.0)),
                longest >= distance_m,
                format!("longest run {} of {}", format_distance_m(longest), format_distance_m(distance_m)),
            )
        }
    };
    GoalProgress {
        goal: goal.clone(),
        current,
        target,
        share,
        reached,
        days_left: goal.deadline.map(|d| (d - today).num_days()),
        words,
    }
}

/// The runs planned per week.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyPlan {
    pub runs_per_week: u32,
}

/// A run done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedRun {
    pub date: NaiveDate,
    pub moving_time_s: f64,
    pub distance_m: f64,
    /// How it felt, 1–10, from the post-run check-in.
    #[serde(default)]
    pub effort: Option<u8>,
}

/// One week: planned versus done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeekTally {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    pub planned: u32,
    pub done: u32,
}

/// The process goals as of a day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessStatus {
    pub this_week: WeekTally,
    /// Weeks in a row with at least one run that counts, this week included once it has one.
    pub streak_weeks: u32,
    /// Whether this week has reached its plan ("four of four").
    pub week_complete: bool,
}

impl ProcessStatus {
    /// The status once today's run of `moving_time_s` is counted (the engine celebrates this
    /// at the finish, before the host has stored the run).
    pub fn with_run(self, moving_time_s: f64) -> Self {
        if moving_time_s < STREAK_MIN_RUN_S {
            return self;
        }
        let first_this_week = self.this_week.done == 0;
        let done = self.this_week.done + 1;
        ProcessStatus {
            this_week: WeekTally { done, ..self.this_week },
            streak_weeks: self.streak_weeks + u32::from(first_this_week),
            week_complete: self.this_week.planned > 0 && done >= self.this_week.planned,
        }
    }
}

/// The calendar day of `unix_ms` where the runner is (`utc_offset_s` east of UTC): a run at
/// 23:30 on Sunday in Sydney belongs to Sunday's week, not to Monday's UTC one.
pub fn local_day(unix_ms: u64, utc_offset_s: i32) -> Option<NaiveDate> {
    let local_ms = i64::try_from(unix_ms).ok()?.checked_add(i64::from(utc_offset_s) * 1000)?;
    chrono::DateTime::from_timestamp_millis(local_ms).map(|t| t.date_naive())
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// Planned versus done this week, and the streak in weeks, as of `today`.
pub fn process_status(runs: &[CompletedRun], plan: Option<WeeklyPlan>, today: NaiveDate) -> ProcessStatus {
    let this_monday = monday_of(today);
    let counts = |r: &&CompletedRun| r.moving_time_s >= STREAK_MIN_RUN_S && r.date <= today;
    let done = runs.iter().filter(counts).filter(|r| monday_of(r.date) == this_monday).count() as u32;
    let planned = plan.map_or(0, |p| p.runs_per_week);
    let mut weeks: Vec<NaiveDate> = runs.iter().filter(counts).map(|r| monday_of(r.date)).collect();
    weeks.sort_unstable();
    weeks.dedup();
    // The current week does not break a streak before it is over.
    let mut week = if weeks.last() == Some(&this_monday) { this_monday } else { this_monday - Days::new(7) };
    let mut streak = 0;
    while weeks.binary_search(&week).is_ok() {
        streak += 1;
        week = week - Days::new(7);
    }
    ProcessStatus {
        this_week: WeekTally { week_start: this_monday, planned, done },
        streak_weeks: streak,
        week_complete: planned > 0 && done >= planned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    fn run(date: &str, minutes: f64) -> CompletedRun {
        CompletedRun {
            date: day(date),
            moving_time_s: minutes * 60.0,
            distance_m: minutes * 180.0,
            effort: None,
        }
    }

    const FOUR: Option<WeeklyPlan> = Some(WeeklyPlan { runs_per_week: 4 });

    #[test]
    fn a_run_belongs_to_the_runners_own_day() {
        // 2026-11-29 (a Sunday) 13:30 UTC is Monday 00:30 in Sydney (UTC+11).
        let at_ms = 1_795_959_000_000;
        assert_eq!(local_day(at_ms, 0), Some(day("2026-11-29")));
        assert_eq!(local_day(at_ms, 11 * 3600), Some(day("2026-11-30")));
        assert_eq!(local_day(at_ms, -14 * 3600), Some(day("2026-11-28")));
    }

    #[test]
    fn four_of_four_this_week() {
        // 2026-11-16 is a Monday.
        let runs = [
            run("2026-11-16", 30.0),
            run("2026-11-18", 40.0),
            run("2026-11-20", 25.0),
            run("2026-11-22", 60.0),
        ];
        let s = process_status(&runs, FOUR, day("2026-11-22"));
        assert_eq!(s.this_week.done, 4);
        assert!(s.week_complete);
        assert_eq!(s.streak_weeks, 1);
    }

    #[test]
    fn rest_days_never_break_a_streak_and_a_short_run_counts() {
        // One run a week for three weeks, the last a ten-minute one; today is a rest day.
        let runs = [run("2026-11-03", 45.0), run("2026-11-12", 30.0), run("2026-11-17", 10.0)];
        let s = process_status(&runs, FOUR, day("2026-11-22"));
        assert_eq!(s.streak_weeks, 3);
        assert_eq!(s.this_week.done, 1);
        assert!(!s.week_complete);
        // A five-minute shuffle is not a run for this week (the streak stands on the weeks
        // before until this one is over).
        let runs = [run("2026-11-03", 45.0), run("2026-11-12", 30.0), run("2026-11-17", 5.0)];
        let s = process_status(&runs, FOUR, day("2026-11-22"));
        assert_eq!((s.streak_weeks, s.this_week.done), (2, 0));
    }

    #[test]
    fn todays_run_counts_at_the_finish() {
        let runs = [run("2026-11-10", 30.0), run("2026-11-18", 30.0)];
        let before = process_status(&runs, FOUR, day("2026-11-23"));
        let after = before.with_run(12.0 * 60.0);
        assert_eq!((after.this_week.done, after.streak_weeks), (1, 3));
        // A second run this week does not lengthen the streak; a too-short one changes nothing.
        assert_eq!(after.with_run(1800.0).streak_weeks, 3);
        assert_eq!(before.with_run(300.0), before);
    }

    #[test]
    fn the_current_week_is_not_broken_before_it_ends() {
        // Runs last week and the week before; nothing yet this Monday.
        let runs = [run("2026-11-10", 30.0), run("2026-11-18", 30.0)];
        let s = process_status(&runs, FOUR, day("2026-11-23"));
        assert_eq!(s.streak_weeks, 2);
        assert_eq!(s.this_week.done, 0);
        // A whole empty week does break it.
        assert_eq!(process_status(&runs, FOUR, day("2026-11-30")).streak_weeks, 0);
    }
}

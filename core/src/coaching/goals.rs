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
    /// How it is measured ("5:10/km for 8 km", "4 runs a week").
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
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

//! The runner's history as the coaching core reads it, from the device store: each finished
//! run's day (where the runner is), its figures and its post-run analysis, for the week's
//! tally, the streak, trends and goals.
//!
//! Must not: count a run still being recorded, or fail the whole history for one run whose
//! summary cannot be read (it is left out, and said).

use chrono::NaiveDate;
use pacenote_core::coaching::analysis::RunAnalysis;
use pacenote_core::coaching::goals::{CompletedRun, local_day};
use pacenote_core::coaching::summary::HistoryEntry;
use pacenote_core::engine::RunSummary;

use crate::recorder::analyse_stored;
use crate::store::{Store, StoreError};

/// A finished run of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    pub id: String,
    pub started_at_unix_ms: u64,
    /// The runner's own calendar day of the start.
    pub date: NaiveDate,
    pub summary: RunSummary,
    /// The post-run analysis: as stored at the finish, or rebuilt from the run's inputs for a
    /// run finished before analyses were kept (while its log is still on the phone); `None`
    /// once neither is there.
    pub analysis: Option<RunAnalysis>,
    pub effort: Option<u8>,
}

impl PastRun {
    /// The run as the week's tally and the streak count it.
    pub fn completed(&self) -> CompletedRun {
        CompletedRun {
            date: self.date,
            moving_time_s: self.summary.moving_time_s,
            distance_m: self.summary.distance_m,
            effort: self.effort,
        }
    }

    /// The run as a summary's history reads it.
    pub fn entry(&self) -> HistoryEntry {
        HistoryEntry { completed: self.completed(), analysis: self.analysis.clone() }
    }
}

/// The run `run_id` of `runs` (the latest when none is named) and the runs before it; `Err`
/// says what is missing.
pub fn run_and_before<'a>(
    runs: &'a [PastRun],
    run_id: Option<&str>,
) -> Result<(&'a PastRun, &'a [PastRun]), String> {
    let at = match run_id {
        Some(id) => runs.iter().position(|r| r.id == id).ok_or_else(|| format!("no finished run {id}"))?,
        None => runs.len().checked_sub(1).ok_or_else(|| "no finished run yet".to_owned())?,
    };
    Ok((&runs[at], &runs[..at]))
}

/// The finished runs of `store`, oldest first; `utc_offset_s` is the runner's time zone (east
/// of UTC). Returns them with the ids of the runs left out because their summary could not be
/// read.
pub fn past_runs(store: &Store, utc_offset_s: i32) -> Result<(Vec<PastRun>, Vec<String>), StoreError> {
    read_runs(store, utc_offset_s, true)
}

/// The finished runs of `store`, oldest first, as the week's tally and the streak count them,
/// with the ids of the runs left out. Reads no analysis (this runs at every run's start).
pub fn completed_runs(
    store: &Store,
    utc_offset_s: i32,
) -> Result<(Vec<CompletedRun>, Vec<String>), StoreError> {
    let (runs, unreadable) = read_runs(store, utc_offset_s, false)?;
    Ok((runs.iter().map(PastRun::completed).collect(), unreadable))
}

/// The finished runs, with their analyses when `with_analyses` (parsed, or rebuilt from an
/// older run's inputs: the costly part).
fn read_runs(
    store: &Store,
    utc_offset_s: i32,
    with_analyses: bool,
) -> Result<(Vec<PastRun>, Vec<String>), StoreError> {
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    for run in store.finished_summaries()? {
        let summary = run.summary_json.and_then(|json| serde_json::from_str::<RunSummary>(&json).ok());
        let (Some(summary), Some(date)) = (summary, local_day(run.started_at_unix_ms, utc_offset_s)) else {
            unreadable.push(run.id);
            continue;
        };
        let analysis = match run.analysis_json {
            _ if !with_analyses => None,
            Some(json) => serde_json::from_str::<RunAnalysis>(&json).ok(),
            // A log that does not replay leaves the run without an analysis, not the history.
            None => analyse_stored(store, &run.id).ok().flatten(),
        };
        runs.push(PastRun {
            id: run.id,
            started_at_unix_ms: run.started_at_unix_ms,
            date,
            summary,
            analysis,
            effort: run.effort,
        });
    }
    runs.sort_by_key(|r| (r.date, r.started_at_unix_ms));
    Ok((runs, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FinishedRun, NewRun};
    use pacenote_core::coaching::goals::{WeeklyPlan, process_status};

    fn summary(moving_time_s: f64) -> String {
        serde_json::to_string(&RunSummary {
            distance_m: moving_time_s * 3.0,
            moving_time_s,
            steps_completed: 1,
            cues_spoken: 0,
            cues_dropped: 0,
            utterances: 0,
            counts_as_completed: true,
            effort: None,
        })
        .expect("json")
    }

    #[test]
    fn finished_runs_count_on_the_runners_own_day() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open(&dir.path().join("h.db")).expect("store");
        // Sunday 2026-11-29 13:30 UTC, a week before, and one still being recorded.
        let sunday_ms = 1_795_959_000_000;
        let week_ms = 7 * 24 * 3600 * 1000;
        for (id, at_ms, minutes, finished) in [
            ("a", sunday_ms - week_ms, 40.0, true),
            ("b", sunday_ms, 30.0, true),
            ("c", sunday_ms + 3_600_000, 30.0, false),
        ] {
            let run = NewRun {
                id,
                plan_id: "p",
                plan_json: "{}",
                persona: "stone",
                started_at_unix_ms: at_ms,
                session_json: "{}",
            };
            store.create_run(&run).expect("run");
            if finished {
                store
                    .finish_run(
                        id,
                        &FinishedRun {
                            summary_json: summary(minutes * 60.0),
                            analysis_json: "{}".into(),
                            effort: Some(5),
                        },
                    )
                    .expect("finished");
            }
        }
        let (utc, left_out) = completed_runs(&store, 0).expect("history");
        assert!(left_out.is_empty());
        assert_eq!(utc.iter().map(|r| r.date.to_string()).collect::<Vec<_>>(), ["2026-11-22", "2026-11-29"]);
        assert_eq!(utc[1].moving_time_s, 1800.0);
        let sunday = local_day(sunday_ms, 0).expect("a day");
        let status = process_status(&utc, Some(WeeklyPlan { runs_per_week: 3 }), sunday);
        assert_eq!((status.this_week.done, status.streak_weeks), (1, 2));
        // In Sydney the second run was on Monday: a new week, the streak carries on.
        let (sydney, _) = completed_runs(&store, 11 * 3600).expect("history");
        assert_eq!(sydney[1].date.to_string(), "2026-11-30");
        // A summary that does not load is left out and named, not a failure.
        let broken = NewRun {
            id: "d",
            plan_id: "p",
            plan_json: "{}",
            persona: "stone",
            started_at_unix_ms: sunday_ms,
            session_json: "{}",
        };
        store.create_run(&broken).expect("run");
        store
            .finish_run(
                "d",
                &FinishedRun { summary_json: "not json".into(), analysis_json: "{}".into(), effort: None },
            )
            .expect("finished");
        let (_, left_out) = completed_runs(&store, 0).expect("history");
        assert_eq!(left_out, ["d"]);
    }
}

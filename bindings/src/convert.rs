//! The core's plain records and enums as the apps see them, in one place: exported as they are
//! (uniffi remote types) where the core's shape suits Swift and Kotlin, else mirrored with
//! `From` impls that destructure every field and match every variant — so a field or a kind
//! added in the core is a compile error here, never a silent drift.
//!
//! Must not: hold logic beyond the mapping (a unit in a name changing is the most it does).

use pacenote_core::coaching::analysis::{BestEffort, RunAnalysis, SpeedHrFit, Split};
use pacenote_core::coaching::goals::{GoalMeasure, GoalTier};
use pacenote_core::coaching::readiness::{MorningCheck, Readiness, Recommendation};
use pacenote_core::cue::{CueKind, Priority};
use pacenote_core::engine::RunnerFeedback;
use pacenote_core::engine::state::RunPhase;
use pacenote_core::profile::{Chattiness, RunnerProfile};
use pacenote_core::sensor::LocationFix;
use pacenote_core::signal::pace::GpsStatus;

// ---- exported as they are ---------------------------------------------------------------

/// One kilometre split of a run.
#[uniffi::remote(Record)]
pub struct Split {
    pub km: u32,
    pub time_s: f64,
    pub avg_hr_bpm: Option<f64>,
}

/// The fastest stretch of a run over a distance.
#[uniffi::remote(Record)]
pub struct BestEffort {
    pub distance_m: f64,
    pub time_s: f64,
}

/// A run's speed against heart rate over steady running, as the sums of a least-squares line.
#[uniffi::remote(Record)]
pub struct SpeedHrFit {
    pub pairs: u32,
    pub mean_speed_mps: f64,
    pub mean_hr_bpm: f64,
    pub s_hh: f64,
    pub s_hv: f64,
    pub min_hr_bpm: f64,
    pub max_hr_bpm: f64,
}

/// What a run shows afterwards (DESIGN §9): splits, efficiency factor (m/min per bpm over
/// steady running), Pa:HR decoupling (steady runs only), pace at the reference heart rate, best
/// efforts.
#[uniffi::remote(Record)]
pub struct RunAnalysis {
    pub distance_m: f64,
    pub moving_time_s: f64,
    pub avg_pace_s_per_km: Option<f64>,
    pub avg_hr_bpm: Option<f64>,
    pub splits: Vec<Split>,
    pub efficiency_factor: Option<f64>,
    pub decoupling_pct: Option<f64>,
    pub steady: bool,
    pub reference_hr_bpm: f64,
    pub pace_at_reference_hr_s_per_km: Option<f64>,
    pub speed_hr_fit: Option<SpeedHrFit>,
    pub best_efforts: Vec<BestEffort>,
}

/// How controllable a goal is: process (what the runner does), performance (a standard),
/// outcome (a result).
#[uniffi::remote(Enum)]
pub enum GoalTier {
    Outcome,
    Performance,
    Process,
}

/// What a goal's progress is read from.
#[uniffi::remote(Enum)]
pub enum GoalMeasure {
    RunsPerWeek { runs: u32 },
    WeeksInARow { weeks: u32 },
    PaceOver { pace_s_per_km: f64, distance_m: f64 },
    Distance { distance_m: f64 },
}

/// A location fix as the phone reports it.
#[uniffi::remote(Record)]
pub struct LocationFix {
    pub t_ms: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Horizontal accuracy the platform reports (about a 68 % radius), metres.
    pub horizontal_accuracy_m: f64,
    /// Doppler speed, when the phone gives one.
    pub speed_mps: Option<f64>,
    pub speed_accuracy_mps: Option<f64>,
    pub altitude_m: Option<f64>,
}

/// What the coach knows about the runner's heart.
#[uniffi::remote(Record)]
pub struct RunnerProfile {
    pub max_hr_bpm: Option<f64>,
    pub resting_hr_bpm: Option<f64>,
    /// Lactate-threshold heart rate.
    pub lthr_bpm: Option<f64>,
}

/// How much the coach talks (step changes and safety are always said).
#[uniffi::remote(Enum)]
pub enum Chattiness {
    Quiet,
    Normal,
    Chatty,
}

/// What the runner said (voice or a button).
#[uniffi::remote(Enum)]
pub enum RunnerFeedback {
    TooHard,
    TooEasy,
    /// Target coaching stops at once; the coach says to stop and walk.
    Pain,
}

// The core's cue kinds and priorities (`CueKind.RUN_START` in Kotlin, `.runStart` in Swift).
#[uniffi::remote(Enum)]
pub enum CueKind {
    RunStart,
    RunFinish,
    SessionComplete,
    StepStart,
    Countdown,
    StepHalfway,
    RunHalfway,
    Split,
    SpeedUp,
    SlowDown,
    BackOnPace,
    HrAboveZone,
    HrBelowZone,
    BackInZone,
    HrVeryHigh,
    PainCheck,
    GpsLost,
    GpsBack,
    AutoPaused,
    AutoResumed,
    Encouragement,
    FreeToStop,
    EasyEaseOff,
    HeatAdjusted,
    CheckIn,
    HillEffort,
    StreakCelebration,
}

#[uniffi::remote(Enum)]
pub enum Priority {
    Encouragement,
    Stat,
    Correction,
    StepChange,
    Safety,
}

/// This morning's check (every field optional but the pairs: today's and the baseline resting
/// HR together; HRV with its baseline and SD).
#[uniffi::remote(Record)]
pub struct MorningCheck {
    pub resting_hr_bpm: Option<f64>,
    pub baseline_resting_hr_bpm: Option<f64>,
    /// Mornings in a row (including today) with resting HR ≥ baseline + 5 bpm.
    pub raised_resting_hr_mornings: Option<u32>,
    pub hrv_ms: Option<f64>,
    pub baseline_hrv_ms: Option<f64>,
    pub hrv_sd_ms: Option<f64>,
    pub poor_sleep_nights: u32,
    pub heavy_legs: bool,
    pub dread: bool,
    pub pain_days: u32,
}

/// The coach's proposal before a run; the runner decides.
#[uniffi::remote(Enum)]
pub enum Recommendation {
    AsPlanned,
    Easy,
    Rest,
    SeeProfessional,
}

/// The readiness check's answer: the proposal and the reasons for it, in the runner's words.
#[uniffi::remote(Record)]
pub struct Readiness {
    pub recommendation: Recommendation,
    pub reasons: Vec<String>,
}

/// Where the run is in its life.
#[uniffi::remote(Enum)]
pub enum RunPhase {
    NotStarted,
    Running,
    /// The timer is stopped (the runner's pause, or auto-pause).
    Paused,
    /// Finish was asked for; the last words are still to be said.
    Finishing,
    Finished,
}

/// What the GPS gives now.
#[uniffi::remote(Enum)]
pub enum GpsStatus {
    /// No usable fix yet.
    Waiting,
    Good,
    /// No usable fix since `since_ms`.
    Lost {
        since_ms: u64,
    },
    /// Fixes are coming back after a loss, too few yet to trust.
    Returning {
        lost_since_ms: u64,
    },
}

// ---- mirrored (a count as u32 where the core counts in usize, a time in s or Unix ms) ------

/// A count for the apps: Swift and Kotlin have no `usize`.
pub(crate) fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<pacenote_core::engine::RunSummary> for crate::session::RunSummary {
    fn from(s: pacenote_core::engine::RunSummary) -> Self {
        let pacenote_core::engine::RunSummary {
            distance_m,
            moving_time_s,
            steps_completed,
            cues_spoken,
            cues_dropped,
            utterances,
            counts_as_completed,
            effort,
        } = s;
        Self {
            distance_m,
            moving_time_s,
            steps_completed: count_u32(steps_completed),
            cues_spoken,
            cues_dropped,
            utterances,
            counts_as_completed,
            effort,
        }
    }
}

impl From<pacenote_sync::StoredRun> for crate::store::StoredRunInfo {
    fn from(r: pacenote_sync::StoredRun) -> Self {
        let pacenote_sync::StoredRun {
            id,
            plan_id,
            persona,
            started_at_unix_ms,
            finished,
            samples,
            effort,
            uploaded,
        } = r;
        Self { id, plan_id, persona, started_at_unix_ms, finished, uploaded, samples, effort }
    }
}

impl From<&pacenote_sync::recorder::Resumed> for crate::store::ResumePoint {
    fn from(r: &pacenote_sync::recorder::Resumed) -> Self {
        let pacenote_sync::recorder::Resumed {
            checkpoint: _,
            t_ms,
            step_index,
            distance_m,
            moving_ms,
            samples,
            lang: _,
        } = r;
        Self {
            t_ms: *t_ms,
            step_index: step_index.map(count_u32),
            distance_m: *distance_m,
            moving_time_s: *moving_ms as f64 / 1000.0,
            inputs_replayed: *samples,
        }
    }
}

impl From<pacenote_sync::preload::Readiness> for crate::store::OfflineReadiness {
    fn from(r: pacenote_sync::preload::Readiness) -> Self {
        let pacenote_sync::preload::Readiness { ready, missing } = r;
        Self { ready, missing }
    }
}

impl From<pacenote_core::engine::state::RunState> for crate::session::RunState {
    fn from(s: pacenote_core::engine::state::RunState) -> Self {
        let pacenote_core::engine::state::RunState {
            at_ms,
            phase,
            step,
            distance_m,
            moving_time_s,
            pace,
            heart_rate_bpm,
            heart_rate_zone,
            gps,
        } = s;
        Self {
            at_ms,
            phase,
            step: step.map(Into::into),
            distance_m,
            moving_time_s,
            pace_s_per_km: pace.map(|p| p.0),
            heart_rate_bpm,
            heart_rate_zone,
            gps,
        }
    }
}

impl From<pacenote_core::engine::state::StepState> for crate::session::StepState {
    fn from(s: pacenote_core::engine::state::StepState) -> Self {
        let pacenote_core::engine::state::StepState {
            index,
            steps,
            description,
            pace_band,
            time_left_s,
            distance_left_m,
        } = s;
        Self {
            index: count_u32(index),
            steps: count_u32(steps),
            description,
            fastest_s_per_km: pace_band.map(|(fastest, _)| fastest.0),
            slowest_s_per_km: pace_band.map(|(_, slowest)| slowest.0),
            time_left_s,
            distance_left_m,
        }
    }
}

impl crate::store::SyncReport {
    /// A sync pass's report for the app, the next pass due at `retry_at_unix_ms`.
    pub(crate) fn of_pass(report: pacenote_sync::upload::SyncReport, retry_at_unix_ms: u64) -> Self {
        use crate::store::SyncOutcome;
        use pacenote_sync::upload::SyncStop;
        let pacenote_sync::upload::SyncReport {
            offline,
            runs_uploaded,
            runs_pending,
            chunks_sent,
            chunks_already_held,
            requests,
            retries,
            bytes_sent,
            stopped,
        } = report;
        let outcome = match stopped {
            _ if offline => SyncOutcome::Offline,
            None if runs_pending == 0 => SyncOutcome::Done,
            None => SyncOutcome::RetryAt {
                retry_at_unix_ms,
                reason: format!("{runs_pending} runs still pending"),
            },
            Some(SyncStop::TryLater { reason, server_wait: _ }) => {
                SyncOutcome::RetryAt { retry_at_unix_ms, reason }
            }
            Some(SyncStop::Unauthorized { reason }) => SyncOutcome::Unauthorized { reason },
            Some(SyncStop::RunRefused { run_id, reason }) => {
                SyncOutcome::RunRefused { run_id, reason, retry_at_unix_ms }
            }
            Some(SyncStop::Store { reason }) => SyncOutcome::StoreFailed { reason },
            Some(SyncStop::Cancelled) => SyncOutcome::Cancelled,
        };
        Self {
            outcome,
            runs_uploaded,
            runs_pending,
            chunks_sent,
            chunks_already_held,
            requests,
            retries,
            bytes_sent,
        }
    }
}

impl From<pacenote_core::coaching::analysis::Trend> for crate::coaching::Trend {
    fn from(t: pacenote_core::coaching::analysis::Trend) -> Self {
        let pacenote_core::coaching::analysis::Trend {
            runs_before,
            pace_at_reference_hr_change_s_per_km_per_30_days,
            efficiency_vs_history_pct,
            milestones,
        } = t;
        Self {
            runs_before: count_u32(runs_before),
            pace_at_reference_hr_change_s_per_km_per_30_days,
            efficiency_vs_history_pct,
            milestones,
        }
    }
}

impl From<pacenote_core::coaching::goals::ProcessStatus> for crate::coaching::WeekStatus {
    fn from(p: pacenote_core::coaching::goals::ProcessStatus) -> Self {
        let pacenote_core::coaching::goals::ProcessStatus { this_week, streak_weeks, week_complete } = p;
        let pacenote_core::coaching::goals::WeekTally { week_start, planned, done } = this_week;
        Self {
            week_start: week_start.to_string(),
            runs_planned: planned,
            runs_done: done,
            streak_weeks,
            week_complete,
        }
    }
}

impl From<pacenote_core::coaching::goals::Goal> for crate::coaching::Goal {
    fn from(g: pacenote_core::coaching::goals::Goal) -> Self {
        let pacenote_core::coaching::goals::Goal { tier, what, target, deadline, measure } = g;
        Self { tier, what, target, deadline: deadline.map(|d| d.to_string()), measure }
    }
}

impl TryFrom<crate::coaching::Goal> for pacenote_core::coaching::goals::Goal {
    type Error = crate::error::PacenoteError;

    fn try_from(g: crate::coaching::Goal) -> Result<Self, Self::Error> {
        let crate::coaching::Goal { tier, what, target, deadline, measure } = g;
        let deadline = deadline
            .map(|d| {
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|e| {
                    crate::error::PacenoteError::invalid_input(format!(
                        "goal \"{what}\": deadline \"{d}\" is not a date like 2027-03-01 ({e})"
                    ))
                })
            })
            .transpose()?;
        Ok(Self { tier, what, target, deadline, measure })
    }
}

impl From<pacenote_core::coaching::goals::GoalProgress> for crate::coaching::GoalProgress {
    fn from(p: pacenote_core::coaching::goals::GoalProgress) -> Self {
        let pacenote_core::coaching::goals::GoalProgress {
            goal,
            current,
            target,
            share,
            reached,
            days_left,
            words,
        } = p;
        Self { goal: goal.into(), current, target, share, reached, days_left, words }
    }
}

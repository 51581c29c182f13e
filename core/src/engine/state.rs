//! What the run screen shows now: a snapshot of the run — the step and what is left of it,
//! the pace the runner would hear, heart rate and zone, distance, time, GPS — taken from the
//! engine's own state, so the screen and the coach never disagree.
//!
//! Must not: change the engine (a snapshot is read-only), or decide anything from it.

use super::{Phase, RunSession};
use crate::plan::{StepEnd, Target};
use crate::signal::pace::GpsStatus;
use crate::units::SecondsPerKm;

/// Where the run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPhase {
    NotStarted,
    Running,
    /// The timer is stopped (the runner's pause, or auto-pause).
    Paused,
    /// Finish was asked for; the last words are still to be said.
    Finishing,
    Finished,
}

/// The plan step the runner is in.
#[derive(Debug, Clone, PartialEq)]
pub struct StepState {
    /// 0-based, of `steps` in the plan (repeats expanded).
    pub index: usize,
    pub steps: usize,
    /// What the step asks, in a runner's words ("work 1.00 km @ 4:45–4:55/km").
    pub description: String,
    /// The pace band, for a pace target (fastest, slowest).
    pub pace_band: Option<(SecondsPerKm, SecondsPerKm)>,
    /// Moving time left in a step that ends on time, s.
    pub time_left_s: Option<f64>,
    /// Distance left in a step that ends on distance, m.
    pub distance_left_m: Option<f64>,
}

/// The run now, as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// The run clock of the latest input.
    pub at_ms: u64,
    pub phase: RunPhase,
    pub step: Option<StepState>,
    pub distance_m: f64,
    pub moving_time_s: f64,
    /// The pace the runner would hear now (steadier than one second's estimate).
    pub pace: Option<SecondsPerKm>,
    pub heart_rate_bpm: Option<f64>,
    /// The heart rate's zone (1–5), when the runner's zones are known.
    pub heart_rate_zone: Option<u8>,
    pub gps: GpsStatus,
}

impl RunSession {
    /// The run now, for the run screen.
    pub fn state(&self) -> RunState {
        let now = self.now_ms;
        let estimate = self.pace.estimate(now);
        let phase = match self.phase {
            Phase::NotStarted => RunPhase::NotStarted,
            Phase::Running if self.progress.is_paused() => RunPhase::Paused,
            Phase::Running => RunPhase::Running,
            Phase::Finishing => RunPhase::Finishing,
            Phase::Finished => RunPhase::Finished,
        };
        let (step_ms, step_m) = self.progress.step_elapsed();
        let step = self.progress.current_step().filter(|_| phase != RunPhase::Finished).map(|s| StepState {
            index: s.index,
            steps: self.progress.steps().len(),
            description: s.describe(),
            pace_band: match &s.step.target {
                Some(Target::Pace(band)) => Some((band.fastest, band.slowest)),
                _ => None,
            },
            time_left_s: match s.step.end {
                StepEnd::Time(seconds) => Some((seconds - step_ms as f64 / 1000.0).max(0.0)),
                _ => None,
            },
            distance_left_m: match s.step.end {
                StepEnd::Distance(metres) => Some((metres - step_m).max(0.0)),
                _ => None,
            },
        });
        let pace = match &self.coach {
            Some(coach) => coach.spoken_pace(now, &estimate),
            None => estimate.pace(),
        };
        let heart_rate_bpm = self.heart.estimate(now).bpm;
        RunState {
            at_ms: now,
            phase,
            step,
            distance_m: self.progress.distance_m(),
            moving_time_s: self.progress.moving_ms() as f64 / 1000.0,
            pace,
            heart_rate_bpm,
            heart_rate_zone: self.zones.zip(heart_rate_bpm).map(|(zones, bpm)| zones.zone_of(bpm)),
            gps: estimate.gps,
        }
    }
}

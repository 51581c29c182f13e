//! The pace a runner hears: the figure spoken in corrections, steady enough to match their
//! watch and as close to the truth as the readings allow.
//!
//! With Doppler it is read from the raw Doppler readings (`RecentFixes::doppler_mean`):
//! running steadily, their mean over the last 20 s — unbiased, and below the least-squares
//! bound of a watch's 10-s window on `pacenote bench pace` (0.8 ×) — or, after a change of
//! pace, the readings since read as a runner settling onto the new pace (speed approaching it
//! as e^(−t/τ), τ of 1–7 s weighted by how well each fits), where a mean would speak a pace
//! between the two and lag half its window. A change the engine expects (a step of the plan
//! starts, the runner gets going after a stop) is read from its first reading rather than
//! waited for (see `RecentFixes::pace_may_change`); the Kalman filter's speed, tuned to decide
//! rather than to show, lags a surge by seconds and reads a stop late.
//! Without Doppler (positions alone, a treadmill, cadence) it is the mean of the estimate's
//! speed over the same window.
//!
//! Must not: decide anything. Corrections are decided on the estimate and its tests; this only
//! says the number.

use std::collections::VecDeque;

use super::pace::PaceEstimate;
use crate::units::SecondsPerKm;

/// The window the spoken pace averages the estimate's speeds over when there is no Doppler:
/// the runner hears a figure that matches their watch (which averages over a few to ten
/// seconds), not one second's wobble. It is also the yardstick of the display's error on
/// `bench pace` (the least-squares bound of a window this long).
pub const DISPLAY_WINDOW_MS: u64 = 10_000;

/// The estimate's speeds of the last [`DISPLAY_WINDOW_MS`] (for when there is no Doppler), or
/// of a longer stretch for a caller that also wants a longer mean (a step's rep reference).
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayPace {
    speeds: VecDeque<(u64, f64)>,
    keep_ms: u64,
}

impl Default for DisplayPace {
    fn default() -> Self {
        Self::keeping(DISPLAY_WINDOW_MS)
    }
}

impl DisplayPace {
    /// One that keeps the speeds of the last `keep_ms` (at least the display's window).
    pub fn keeping(keep_ms: u64) -> Self {
        Self { speeds: VecDeque::new(), keep_ms: keep_ms.max(DISPLAY_WINDOW_MS) }
    }

    /// Keeps the estimate's speed at `t_ms` (one per instant; older than kept is dropped).
    pub fn note(&mut self, t_ms: u64, estimate: &PaceEstimate) {
        if let Some(v) = estimate.speed_mps
            && self.speeds.back().is_none_or(|(t, _)| *t < t_ms)
        {
            self.speeds.push_back((t_ms, v));
        }
        while self.speeds.front().is_some_and(|(t, _)| t_ms.saturating_sub(*t) > self.keep_ms) {
            self.speeds.pop_front();
        }
    }

    /// The mean of the estimate's speeds of the last `window_ms` before `now_ms`, when there
    /// are at least `min_speeds` of them (no allocation: this runs on the per-sample path).
    pub fn mean_mps(&self, now_ms: u64, window_ms: u64, min_speeds: usize) -> Option<f64> {
        let (sum, n) = self
            .speeds
            .iter()
            .filter(|(t, _)| now_ms.saturating_sub(*t) <= window_ms)
            .fold((0.0, 0usize), |(sum, n), (_, v)| (sum + v, n + 1));
        (n >= min_speeds.max(1)).then(|| sum / n as f64)
    }

    /// The pace to speak at `t_ms`: Doppler's mean over the window when every recent fix had
    /// one, else the mean of the estimate's speeds over it.
    pub fn pace(&self, t_ms: u64, estimate: &PaceEstimate) -> Option<SecondsPerKm> {
        let doppler = estimate.recent.and_then(|r| r.doppler_mean_mps);
        let speed = doppler.or_else(|| self.mean_mps(t_ms, DISPLAY_WINDOW_MS, 1));
        speed.and_then(SecondsPerKm::from_speed_mps).or(estimate.pace())
    }
}

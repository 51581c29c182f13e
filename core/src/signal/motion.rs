//! Auto-pause and resume from speed, with hysteresis so a slow shuffle at a crossing does not
//! flicker the timer. Never from GPS loss: an unknown speed keeps the state it had (a tunnel
//! is not a stop), and running cadence counts as moving whatever GPS says. Never before the
//! runner has first moved: standing at the start line (or a watch whose speed channel reads
//! zero for its first seconds) is not a stop.
//!
//! Pure state; the engine decides what to say about it.

use serde::Serialize;

/// Below this speed the runner is stopped (slower than 33 min/km; walking is ~1.3 m/s, so a
/// run-walk never pauses).
pub const STOPPED_BELOW_MPS: f64 = 0.5;
/// Above this speed the runner is moving again (a clear walk).
pub const MOVING_ABOVE_MPS: f64 = 1.0;
/// Stopped this long before the timer pauses: a stumble or a look at the watch is not a stop.
pub const PAUSE_AFTER_MS: u64 = 4_000;
/// Moving this long before it resumes: one wobbly fix at a standstill is not a start.
pub const RESUME_AFTER_MS: u64 = 2_000;
/// Cadence at or above this is running or walking, whatever the speed estimate says.
pub const MOVING_CADENCE_SPM: f64 = 100.0;

/// Whether the runner is moving, as the timer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    Moving,
    Stopped,
}

/// The auto-pause detector.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoPause {
    state: Motion,
    /// Since when the evidence has pointed the other way.
    contrary_since_ms: Option<u64>,
    /// The runner has been seen moving since the start: only then can they stop.
    started_moving: bool,
}

impl Default for AutoPause {
    fn default() -> Self {
        Self::new()
    }
}

impl AutoPause {
    pub fn new() -> Self {
        Self { state: Motion::Moving, contrary_since_ms: None, started_moving: false }
    }

    pub fn state(&self) -> Motion {
        self.state
    }

    /// Takes the speed estimate (`None` when unknown) and cadence (if any) at `t_ms`; returns
    /// the new state when it changed.
    pub fn update(&mut self, t_ms: u64, speed_mps: Option<f64>, cadence_spm: Option<f64>) -> Option<Motion> {
        let cadence_moving = cadence_spm.is_some_and(|c| c.is_finite() && c >= MOVING_CADENCE_SPM);
        let evidence = match (self.state, speed_mps.filter(|v| v.is_finite())) {
            _ if cadence_moving => Some(Motion::Moving),
            // Unknown speed: no evidence either way (GPS lost is not a stop).
            (_, None) => None,
            (Motion::Moving, Some(v)) => {
                Some(if v < STOPPED_BELOW_MPS { Motion::Stopped } else { Motion::Moving })
            }
            (Motion::Stopped, Some(v)) => {
                Some(if v > MOVING_ABOVE_MPS { Motion::Moving } else { Motion::Stopped })
            }
        };
        if evidence == Some(Motion::Moving) {
            self.started_moving = true;
        }
        if !self.started_moving {
            return None;
        }
        match evidence {
            Some(e) if e != self.state => {
                let since = *self.contrary_since_ms.get_or_insert(t_ms);
                let needed = if e == Motion::Stopped { PAUSE_AFTER_MS } else { RESUME_AFTER_MS };
                if t_ms.saturating_sub(since) >= needed {
                    self.state = e;
                    self.contrary_since_ms = None;
                    return Some(e);
                }
            }
            Some(_) => self.contrary_since_ms = None,
            None => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pause: &mut AutoPause, speeds: &[(u64, Option<f64>)]) -> Vec<(u64, Motion)> {
        speeds.iter().filter_map(|&(t, v)| pause.update(t, v, None).map(|m| (t, m))).collect()
    }

    #[test]
    fn stops_and_starts_with_hysteresis() {
        let mut pause = AutoPause::new();
        let mut speeds: Vec<(u64, Option<f64>)> = (0..10).map(|s| (s * 1000, Some(3.0))).collect();
        speeds.extend((10..30).map(|s| (s * 1000, Some(0.2))));
        // Shuffling at 0.8 m/s: above "stopped" but below "moving": stays paused.
        speeds.extend((30..40).map(|s| (s * 1000, Some(0.8))));
        speeds.extend((40..50).map(|s| (s * 1000, Some(3.0))));
        assert_eq!(run(&mut pause, &speeds), vec![(14_000, Motion::Stopped), (42_000, Motion::Moving)]);
    }

    #[test]
    fn gps_loss_never_pauses_and_blips_do_not_count() {
        let mut pause = AutoPause::new();
        let mut speeds: Vec<(u64, Option<f64>)> = (0..60).map(|s| (s * 1000, None)).collect();
        speeds.extend([(60_000, Some(0.1)), (61_000, Some(0.1)), (62_000, Some(3.0)), (63_000, Some(0.1))]);
        assert!(run(&mut pause, &speeds).is_empty());
        assert_eq!(pause.state(), Motion::Moving);
    }

    #[test]
    fn no_stop_before_the_runner_first_moves() {
        let mut pause = AutoPause::new();
        // A watch whose speed reads zero for the first seconds, then the run.
        let mut speeds: Vec<(u64, Option<f64>)> = (0..8).map(|s| (s * 1000, Some(0.0))).collect();
        speeds.extend((8..20).map(|s| (s * 1000, Some(2.5))));
        speeds.extend((20..30).map(|s| (s * 1000, Some(0.0))));
        assert_eq!(run(&mut pause, &speeds), vec![(24_000, Motion::Stopped)]);
    }

    #[test]
    fn running_cadence_means_moving() {
        let mut pause = AutoPause::new();
        for s in 0..20 {
            assert_eq!(pause.update(s * 1000, Some(0.0), Some(168.0)), None);
        }
    }
}

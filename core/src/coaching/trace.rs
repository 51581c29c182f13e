//! A run's trace for the post-run analysis, as the phone recorded it: after each input that
//! moved the run on (a fix, a tick, the finish), the engine's own moving time and distance
//! (pauses and auto-pauses out, positions filtered) and the heart rate of that moment. So the splits and figures shown after the run agree with the
//! distance and time the run itself reported.
//!
//! Must not: read a clock, or keep a point the engine did not move for (a stop would count as
//! steady running at zero speed).

use super::analysis::TracePoint;
use crate::engine::Input;

/// A heart-rate reading older than this is not the heart rate of a fix: the strap dropped out
/// (straps send about once a second; a few seconds covers a missed packet or two).
pub const HEART_RATE_FRESH_MS: u64 = 5_000;
/// Heart-rate readings outside this are not a heart (the analysis' own bounds).
const HEART_RATE_VALID_BPM: (f64, f64) = (30.0, 230.0);

/// The trace as a run goes: feed it every input with the engine's distance and moving time
/// just after the engine took it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTrace {
    points: Vec<TracePoint>,
    /// Run clock of the newest point.
    last_point_ms: Option<u64>,
    /// The newest heart-rate reading: run clock, bpm.
    heart_rate: Option<(u64, f64)>,
}

impl RunTrace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one input, with the engine's `distance_m` and `moving_s` after it.
    pub fn take(&mut self, input: &Input, distance_m: f64, moving_s: f64) {
        if let Input::HeartRate(reading) = input {
            let bpm = reading.bpm;
            if !(HEART_RATE_VALID_BPM.0..=HEART_RATE_VALID_BPM.1).contains(&bpm) {
                return;
            }
            self.heart_rate = Some((reading.t_ms, bpm));
            // A strap and the GPS report the same instant in either order.
            if self.last_point_ms == Some(reading.t_ms)
                && let Some(point) = self.points.last_mut()
                && point.hr_bpm.is_none()
            {
                point.hr_bpm = Some(bpm);
            }
            return;
        }
        let moved = self.points.last().is_none_or(|p| moving_s > p.moving_s);
        if !moved || !distance_m.is_finite() || !moving_s.is_finite() {
            return;
        }
        let t_ms = input.t_ms();
        let hr_bpm = self
            .heart_rate
            .filter(|(t, _)| *t <= t_ms && t_ms - *t <= HEART_RATE_FRESH_MS)
            .map(|(_, bpm)| bpm);
        self.points.push(TracePoint { moving_s, distance_m, hr_bpm });
        self.last_point_ms = Some(t_ms);
    }

    pub fn points(&self) -> &[TracePoint] {
        &self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::{HeartRateReading, LocationFix};

    fn fix(t_ms: u64) -> Input {
        Input::Fix(LocationFix {
            t_ms,
            lat_deg: 0.0,
            lon_deg: 0.0,
            horizontal_accuracy_m: 5.0,
            speed_mps: None,
            speed_accuracy_mps: None,
            altitude_m: None,
        })
    }

    fn hr(t_ms: u64, bpm: f64) -> Input {
        Input::HeartRate(HeartRateReading { t_ms, bpm })
    }

    #[test]
    fn a_fix_takes_the_heart_rate_of_its_instant_in_either_order() {
        let mut trace = RunTrace::new();
        trace.take(&fix(1000), 3.0, 1.0);
        trace.take(&hr(1000, 140.0), 3.0, 1.0);
        trace.take(&hr(1500, 141.0), 3.0, 1.0);
        trace.take(&fix(2000), 6.0, 2.0);
        assert_eq!(trace.points()[0].hr_bpm, Some(140.0));
        assert_eq!(trace.points()[1].hr_bpm, Some(141.0));
    }

    #[test]
    fn a_stale_strap_gives_no_heart_rate_and_a_stop_no_point() {
        let mut trace = RunTrace::new();
        trace.take(&hr(0, 140.0), 0.0, 0.0);
        trace.take(&fix(1000), 3.0, 1.0);
        // Paused: the engine's moving time stands still.
        trace.take(&fix(2000), 3.0, 1.0);
        trace.take(&fix(9000), 6.0, 2.0);
        trace.take(&hr(9500, f64::NAN), 6.0, 2.0);
        assert_eq!(trace.points().len(), 2);
        assert_eq!(trace.points()[0].hr_bpm, Some(140.0));
        assert_eq!(trace.points()[1].hr_bpm, None);
    }
}

//! One recording type for every source (GPX, TCX, FIT, the simulator): samples on a run clock
//! in milliseconds with whatever channels the device recorded, pause intervals and laps, plus
//! the summary figures `pacenote track info` prints.
//!
//! This module holds data and arithmetic only; reading files is the importers' job.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use pacenote_core::signal::geo::{EARTH_RADIUS_M, haversine_m};
/// A gap between samples longer than this, in a file that has no pause events, is a pause: the
/// device stopped recording. Smart recording spaces samples up to ~10 s and phones drop fixes
/// for a few seconds, so a shorter gap is not a pause.
pub const PAUSE_GAP_MS: u64 = 30_000;
/// The longest gap between two samples a recording may have (a day): a watch left paused over
/// lunch is a run; a sample years after the one before is a damaged clock.
pub const MAX_SAMPLE_GAP_MS: u64 = 24 * 3600 * 1000;
/// Device distance is trusted when at least this share of samples carries it.
const DEVICE_DISTANCE_MIN_SHARE: f64 = 0.5;

/// Where a recording came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gpx,
    Tcx,
    Fit,
    Simulated,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gpx => "gpx",
            Self::Tcx => "tcx",
            Self::Fit => "fit",
            Self::Simulated => "simulated",
        }
    }
}

/// A position fix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Reported horizontal accuracy (1 σ-ish, as phones report it), when the source gives one.
    pub accuracy_m: Option<f64>,
}

/// What the device knew at one instant. Every channel is optional: GPS drops out, straps lose
/// contact, watches record cadence but phones do not.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Sample {
    /// Run clock: milliseconds since the first sample.
    pub t_ms: u64,
    pub position: Option<Position>,
    /// Speed the device measured (Doppler on phones, footpod or GPS on watches).
    pub speed_mps: Option<f64>,
    pub heart_rate_bpm: Option<f64>,
    /// Steps per minute (both legs).
    pub cadence_spm: Option<f64>,
    pub altitude_m: Option<f64>,
    /// Cumulative distance as the device computed it.
    pub distance_m: Option<f64>,
}

/// A stretch of the run clock with the timer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pause {
    pub start_ms: u64,
    pub end_ms: u64,
}

impl Pause {
    pub fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// A lap as the device recorded it (the runner pressed lap, or auto-lap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lap {
    pub start_ms: u64,
    pub end_ms: u64,
    pub distance_m: Option<f64>,
}

/// A whole recorded (or simulated) run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recording {
    pub format: Format,
    /// Wall-clock time of the first sample, when the source gives it.
    pub start_time: Option<DateTime<Utc>>,
    /// In run-clock order, `t_ms` never decreasing.
    pub samples: Vec<Sample>,
    /// Sorted, not overlapping.
    pub pauses: Vec<Pause>,
    pub laps: Vec<Lap>,
    /// What the importer skipped or repaired, for the person who asked.
    pub warnings: Vec<String>,
}

/// The figures `pacenote track info` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSummary {
    pub format: Format,
    pub start_time: Option<DateTime<Utc>>,
    pub samples: usize,
    pub duration_s: f64,
    pub moving_time_s: f64,
    pub distance_m: f64,
    /// Where the distance came from: "device" or "gps".
    pub distance_source: &'static str,
    pub pauses: usize,
    pub paused_s: f64,
    pub laps: usize,
    pub has_hr: bool,
    pub has_gps: bool,
    pub has_cadence: bool,
    pub has_speed: bool,
    pub has_altitude: bool,
    /// Share of samples with a position, 0–1.
    pub gps_share: f64,
    /// Longest stretch without a position while the timer ran, in seconds.
    pub longest_gps_gap_s: f64,
    pub warnings: Vec<String>,
}

impl Recording {
    /// An empty recording of a format, for importers to fill.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            start_time: None,
            samples: Vec::new(),
            pauses: Vec::new(),
            laps: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Run clock of the last sample, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.t_ms)
    }

    pub fn paused_ms(&self) -> u64 {
        self.pauses.iter().map(Pause::duration_ms).sum()
    }

    /// Whether the timer was stopped at `t_ms` (pause starts count as paused, ends do not).
    pub fn is_paused_at(&self, t_ms: u64) -> bool {
        self.pauses.iter().any(|p| p.start_ms <= t_ms && t_ms < p.end_ms)
    }

    /// Cumulative distance at each sample, in metres, and where it came from: the device's own
    /// distance channel when it has one, otherwise great-circle steps between fixes (not counting
    /// movement while paused).
    pub fn cumulative_distance_m(&self) -> (Vec<f64>, &'static str) {
        let with_distance = self.samples.iter().filter(|s| s.distance_m.is_some()).count();
        if !self.samples.is_empty()
            && with_distance as f64 >= DEVICE_DISTANCE_MIN_SHARE * self.samples.len() as f64
        {
            let mut total = 0.0f64;
            let mut first = None;
            let out = self
                .samples
                .iter()
                .map(|s| {
                    if let Some(d) = s.distance_m.filter(|d| d.is_finite()) {
                        let base = *first.get_or_insert(d);
                        total = total.max(d - base);
                    }
                    total
                })
                .collect();
            return (out, "device");
        }
        let mut total = 0.0;
        let mut last: Option<(u64, Position)> = None;
        let out = self
            .samples
            .iter()
            .map(|s| {
                if let Some(p) = s.position {
                    if let Some((t_prev, prev)) = last
                        && !self.pauses.iter().any(|pause| t_prev <= pause.start_ms && pause.end_ms <= s.t_ms)
                    {
                        total += haversine_m(prev.lat_deg, prev.lon_deg, p.lat_deg, p.lon_deg);
                    }
                    last = Some((s.t_ms, p));
                }
                total
            })
            .collect();
        (out, "gps")
    }

    /// The figures for `pacenote track info`.
    pub fn summary(&self) -> TrackSummary {
        let n = self.samples.len();
        let share = |f: fn(&Sample) -> bool| {
            if n == 0 { 0.0 } else { self.samples.iter().filter(|s| f(s)).count() as f64 / n as f64 }
        };
        let (distances, distance_source) = self.cumulative_distance_m();
        let duration_ms = self.duration_ms();
        let gps_share = share(|s| s.position.is_some());
        TrackSummary {
            format: self.format,
            start_time: self.start_time,
            samples: n,
            duration_s: duration_ms as f64 / 1000.0,
            moving_time_s: duration_ms.saturating_sub(self.paused_ms()) as f64 / 1000.0,
            distance_m: distances.last().copied().unwrap_or(0.0),
            distance_source,
            pauses: self.pauses.len(),
            paused_s: self.paused_ms() as f64 / 1000.0,
            laps: self.laps.len(),
            has_hr: share(|s| s.heart_rate_bpm.is_some()) > 0.0,
            has_gps: gps_share > 0.0,
            has_cadence: share(|s| s.cadence_spm.is_some()) > 0.0,
            has_speed: share(|s| s.speed_mps.is_some()) > 0.0,
            has_altitude: share(|s| s.altitude_m.is_some()) > 0.0,
            gps_share,
            longest_gps_gap_s: self.longest_gps_gap_ms() as f64 / 1000.0,
            warnings: self.warnings.clone(),
        }
    }

    /// Longest run-clock stretch between two fixes while the timer ran.
    fn longest_gps_gap_ms(&self) -> u64 {
        let fixes: Vec<u64> = self.samples.iter().filter(|s| s.position.is_some()).map(|s| s.t_ms).collect();
        fixes
            .windows(2)
            .map(|w| {
                let paused: u64 =
                    self.pauses.iter().map(|p| p.end_ms.min(w[1]).saturating_sub(p.start_ms.max(w[0]))).sum();
                (w[1] - w[0]).saturating_sub(paused)
            })
            .max()
            .unwrap_or(0)
    }

    /// Adds pauses for gaps between samples longer than [`PAUSE_GAP_MS`] (for formats that do
    /// not record timer events), merging with pauses already known.
    pub fn infer_pauses_from_gaps(&mut self) {
        for w in self.samples.windows(2) {
            let (a, b) = (w[0].t_ms, w[1].t_ms);
            if b - a > PAUSE_GAP_MS && !self.pauses.iter().any(|p| p.start_ms < b && a < p.end_ms) {
                self.pauses.push(Pause { start_ms: a, end_ms: b });
            }
        }
        self.pauses.sort_by_key(|p| p.start_ms);
    }

    /// Puts samples in run-clock order and drops what cannot be used, noting it: samples that
    /// go back in time, and non-finite or impossible channel values.
    pub(crate) fn tidy(&mut self) -> Result<(), crate::TrackError> {
        // A clock that leaps ahead by more than any pause is damage (a flipped bit in a
        // timestamp), not a run: refused with the sample named, before anything downstream
        // lays a second's tick over every second of the leap.
        for (i, pair) in self.samples.windows(2).enumerate() {
            let gap_ms = pair[1].t_ms.saturating_sub(pair[0].t_ms);
            if gap_ms > MAX_SAMPLE_GAP_MS {
                return Err(crate::TrackError::Format(format!(
                    "sample {} is {:.0} h after sample {} (at {:.1} h into the recording): more than \
                     any pause in a run ({} h) — the file's clock is damaged",
                    i + 2,
                    gap_ms as f64 / 3_600_000.0,
                    i + 1,
                    pair[0].t_ms as f64 / 3_600_000.0,
                    MAX_SAMPLE_GAP_MS / 3_600_000,
                )));
            }
        }
        let mut dropped_backwards = 0;
        let mut last_t = None;
        self.samples.retain(|s| {
            let keep = last_t.is_none_or(|t| s.t_ms >= t);
            if keep {
                last_t = Some(s.t_ms);
            } else {
                dropped_backwards += 1;
            }
            keep
        });
        if dropped_backwards > 0 {
            self.warnings.push(format!("dropped {dropped_backwards} samples whose time goes backwards"));
        }
        let mut cleared = 0;
        for s in &mut self.samples {
            let before = *s;
            s.position = s.position.filter(|p| {
                p.lat_deg.is_finite()
                    && p.lon_deg.is_finite()
                    && p.lat_deg.abs() <= 90.0
                    && p.lon_deg.abs() <= 180.0
                    && !(p.lat_deg == 0.0 && p.lon_deg == 0.0)
            });
            s.speed_mps = s.speed_mps.filter(|v| v.is_finite() && *v >= 0.0);
            s.heart_rate_bpm = s.heart_rate_bpm.filter(|v| v.is_finite() && *v > 0.0);
            s.cadence_spm = s.cadence_spm.filter(|v| v.is_finite() && *v >= 0.0);
            s.altitude_m = s.altitude_m.filter(|v| v.is_finite());
            s.distance_m = s.distance_m.filter(|v| v.is_finite() && *v >= 0.0);
            if *s != before {
                cleared += 1;
            }
        }
        if cleared > 0 {
            self.warnings.push(format!(
                "cleared impossible values (NaN, negative, off the globe) in {cleared} samples"
            ));
        }
        let end = self.duration_ms();
        for p in &mut self.pauses {
            p.end_ms = p.end_ms.min(end);
        }
        self.pauses.retain(|p| p.end_ms > p.start_ms);
        self.pauses.sort_by_key(|p| p.start_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_ms: u64, lat: f64) -> Sample {
        Sample {
            t_ms,
            position: Some(Position { lat_deg: lat, lon_deg: 10.0, accuracy_m: None }),
            ..Sample::default()
        }
    }

    #[test]
    fn a_degree_of_latitude_is_about_111_km() {
        let d = haversine_m(50.0, 10.0, 51.0, 10.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn gaps_become_pauses_and_do_not_count_as_distance() {
        let mut rec = Recording::new(Format::Gpx);
        rec.samples = vec![at(0, 50.0), at(1000, 50.0001), at(61_000, 50.01), at(62_000, 50.0101)];
        rec.infer_pauses_from_gaps();
        assert_eq!(rec.pauses, vec![Pause { start_ms: 1000, end_ms: 61_000 }]);
        let summary = rec.summary();
        assert_eq!(summary.duration_s, 62.0);
        assert_eq!(summary.moving_time_s, 2.0);
        assert!((summary.distance_m - 22.2).abs() < 0.5, "{}", summary.distance_m);
        assert_eq!(summary.longest_gps_gap_s, 1.0);
    }

    #[test]
    fn tidy_drops_backwards_time_and_impossible_values() {
        let mut rec = Recording::new(Format::Gpx);
        rec.samples = vec![at(0, 50.0), at(2000, 91.0), at(1000, 50.0), at(3000, 50.0)];
        rec.samples[3].heart_rate_bpm = Some(f64::NAN);
        rec.tidy().expect("no leap");
        assert_eq!(rec.samples.len(), 3);
        assert!(rec.samples[1].position.is_none());
        assert!(rec.samples[2].heart_rate_bpm.is_none());
        assert_eq!(rec.warnings.len(), 2);
    }
}

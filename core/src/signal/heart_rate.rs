//! Heart rate a coach can act on: strap glitches rejected, light smoothing, and the runner's
//! zones from their profile (Karvonen from max + resting HR, Friel from lactate-threshold HR,
//! or percentages of max HR as the last resort).
//!
//! Chest straps lose contact when dry (readings collapse to 40 or jump to 220 for a few
//! seconds); optical sensors lock onto cadence. Those readings are dropped, not averaged in.
//! Pure state; no I/O.

use serde::Serialize;

pub use crate::profile::RunnerProfile;
use crate::sensor::HeartRateReading;

/// Readings outside this range are not a heart (DESIGN §3).
pub const PLAUSIBLE_BPM: std::ops::RangeInclusive<f64> = 30.0..=230.0;
/// A heart cannot change this much from one reading to the next (about a second apart); a
/// bigger jump is a contact glitch (DESIGN §3).
pub const MAX_CHANGE_BPM_PER_S: f64 = 25.0;
/// Smoothing time constant: short, because HR already lags effort by 20–40 s.
const SMOOTHING_S: f64 = 3.0;
/// After this many rejected readings in a row spanning at least [`REANCHOR_AFTER_MS`], the
/// new level is real (the strap settled after a glitch at the start): accept it.
const REANCHOR_AFTER_READINGS: u32 = 5;
const REANCHOR_AFTER_MS: u64 = 5_000;
/// Without a reading for this long, heart rate is unknown (the strap dropped out).
pub const HR_STALE_AFTER_MS: u64 = 10_000;

/// How the zones were worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneMethod {
    /// Friel's running zones from lactate-threshold HR.
    Friel,
    /// Karvonen: shares of heart-rate reserve (max − resting).
    Karvonen,
    /// Shares of max HR: the least personal, used only when nothing else is known.
    PercentOfMax,
}

/// Five zones as (low, high) bpm, zone 1 first.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeartRateZones {
    pub method: ZoneMethod,
    pub bounds_bpm: [(f64, f64); 5],
}

/// Friel's running zones as shares of LTHR (Friel, "Quick Guide to Setting Zones"): Z1 below
/// 85 %, Z2 85–89 %, Z3 90–94 %, Z4 95–99 %, Z5 100 % and up (5a–5c merged).
const FRIEL_SHARES: [(f64, f64); 5] = [(0.5, 0.85), (0.85, 0.90), (0.90, 0.95), (0.95, 1.0), (1.0, 1.15)];
/// Karvonen and %max zones: 50–60, 60–70, 70–80, 80–90, 90–100 %.
const FIVE_ZONE_SHARES: [(f64, f64); 5] = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)];

impl RunnerProfile {
    /// The runner's zones, from the best information the profile has; `None` when it has no
    /// usable heart-rate facts (zone targets then cannot be coached).
    pub fn zones(&self) -> Option<HeartRateZones> {
        let plausible = |v: Option<f64>| v.filter(|b| PLAUSIBLE_BPM.contains(b));
        if let Some(lthr) = plausible(self.lthr_bpm) {
            return Some(HeartRateZones {
                method: ZoneMethod::Friel,
                bounds_bpm: FRIEL_SHARES.map(|(lo, hi)| (lthr * lo, lthr * hi)),
            });
        }
        let max = plausible(self.max_hr_bpm)?;
        if let Some(rest) = plausible(self.resting_hr_bpm).filter(|r| *r < max) {
            let reserve = max - rest;
            return Some(HeartRateZones {
                method: ZoneMethod::Karvonen,
                bounds_bpm: FIVE_ZONE_SHARES.map(|(lo, hi)| (rest + lo * reserve, rest + hi * reserve)),
            });
        }
        Some(HeartRateZones {
            method: ZoneMethod::PercentOfMax,
            bounds_bpm: FIVE_ZONE_SHARES.map(|(lo, hi)| (lo * max, hi * max)),
        })
    }
}

impl HeartRateZones {
    /// The zone (1–5) of a heart rate; below zone 1 counts as 1, above zone 5 as 5.
    pub fn zone_of(&self, bpm: f64) -> u8 {
        let above = self.bounds_bpm.iter().filter(|(lo, _)| bpm >= *lo).count();
        above.clamp(1, 5) as u8
    }

    /// The (low, high) bpm of zone 1–5.
    pub fn range(&self, zone: u8) -> Option<(f64, f64)> {
        self.bounds_bpm.get(usize::from(zone).checked_sub(1)?).copied()
    }
}

/// What became of a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartRateVerdict {
    Accepted,
    NotPlausible,
    TimeNotForward,
    TooFastAChange,
}

/// The filtered heart rate at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeartRateEstimate {
    pub at_ms: u64,
    /// `None` with no reading yet or none for [`HR_STALE_AFTER_MS`].
    pub bpm: Option<f64>,
    /// 1 with a fresh accepted reading, falling towards 0 as it ages or glitches pile up.
    pub confidence: f64,
}

/// The heart-rate filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeartRateFilter {
    smoothed: Option<f64>,
    last_accepted: Option<(u64, f64)>,
    last_seen_ms: Option<u64>,
    rejected_in_a_row: u32,
    first_rejected_ms: Option<u64>,
}

impl HeartRateFilter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on_reading(&mut self, reading: &HeartRateReading) -> HeartRateVerdict {
        let (t, bpm) = (reading.t_ms, reading.bpm);
        if !(bpm.is_finite() && PLAUSIBLE_BPM.contains(&bpm)) {
            return HeartRateVerdict::NotPlausible;
        }
        if self.last_seen_ms.is_some_and(|seen| t <= seen) {
            return HeartRateVerdict::TimeNotForward;
        }
        self.last_seen_ms = Some(t);
        // Compared with the last accepted reading while it is fresh; after a dropout the strap
        // starts afresh. The step is judged per reading (straps report about once a second):
        // a glitch holds its wrong value for seconds, so a limit growing with the gap would
        // let it in.
        let fresh = self.last_accepted.filter(|(last_t, _)| t - last_t <= HR_STALE_AFTER_MS);
        if fresh.is_none() {
            self.smoothed = None;
        }
        if let Some((_, last_bpm)) = fresh
            && (bpm - last_bpm).abs() > MAX_CHANGE_BPM_PER_S
        {
            self.rejected_in_a_row += 1;
            let first = *self.first_rejected_ms.get_or_insert(t);
            let settled = self.rejected_in_a_row >= REANCHOR_AFTER_READINGS && t - first >= REANCHOR_AFTER_MS;
            if !settled {
                return HeartRateVerdict::TooFastAChange;
            }
            // The new level has held: it is real. Start smoothing from it.
            self.smoothed = Some(bpm);
        }
        let smoothed = match (self.smoothed, self.last_accepted) {
            (Some(s), Some((last_t, _))) => {
                let dt_s = (t - last_t) as f64 / 1000.0;
                let alpha = 1.0 - (-dt_s / SMOOTHING_S).exp();
                s + alpha * (bpm - s)
            }
            _ => bpm,
        };
        self.smoothed = Some(smoothed);
        self.last_accepted = Some((t, bpm));
        self.rejected_in_a_row = 0;
        self.first_rejected_ms = None;
        HeartRateVerdict::Accepted
    }

    pub fn estimate(&self, t_ms: u64) -> HeartRateEstimate {
        let fresh = self.last_accepted.filter(|(t, _)| t_ms.saturating_sub(*t) <= HR_STALE_AFTER_MS);
        match (fresh, self.smoothed) {
            (Some((t, _)), Some(bpm)) => {
                let age = t_ms.saturating_sub(t) as f64 / HR_STALE_AFTER_MS as f64;
                let glitchy = 1.0 / (1.0 + f64::from(self.rejected_in_a_row));
                HeartRateEstimate { at_ms: t_ms, bpm: Some(bpm), confidence: (1.0 - age) * glitchy }
            }
            _ => HeartRateEstimate { at_ms: t_ms, bpm: None, confidence: 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(filter: &mut HeartRateFilter, readings: &[(u64, f64)]) -> Vec<HeartRateVerdict> {
        readings.iter().map(|&(t_ms, bpm)| filter.on_reading(&HeartRateReading { t_ms, bpm })).collect()
    }

    #[test]
    fn glitches_are_dropped_and_smoothing_is_light() {
        let mut f = HeartRateFilter::new();
        let verdicts = feed(
            &mut f,
            &[(0, 140.0), (1000, 141.0), (2000, 222.0), (3000, 0.0), (3000, 142.0), (3000, 143.0)],
        );
        use HeartRateVerdict::*;
        assert_eq!(
            verdicts,
            vec![Accepted, Accepted, TooFastAChange, NotPlausible, Accepted, TimeNotForward]
        );
        let bpm = f.estimate(3000).bpm.expect("known");
        assert!((140.0..142.0).contains(&bpm), "{bpm}");
    }

    #[test]
    fn a_new_level_that_holds_is_accepted() {
        let mut f = HeartRateFilter::new();
        feed(&mut f, &[(0, 70.0)]);
        // The strap was wrong at the start: the real HR is 150 and stays there.
        let verdicts = feed(&mut f, &(1..=8).map(|s| (s * 1000, 150.0)).collect::<Vec<_>>());
        assert_eq!(verdicts.iter().filter(|v| **v == HeartRateVerdict::Accepted).count(), 3);
        assert_eq!(f.estimate(8000).bpm.map(f64::round), Some(150.0));
    }

    #[test]
    fn stale_heart_rate_is_unknown() {
        let mut f = HeartRateFilter::new();
        feed(&mut f, &[(0, 120.0)]);
        assert!(f.estimate(5000).bpm.is_some());
        assert_eq!(f.estimate(11_000).bpm, None);
    }

    #[test]
    fn zones_from_the_best_facts_available() {
        let friel = RunnerProfile { lthr_bpm: Some(170.0), max_hr_bpm: Some(190.0), ..Default::default() };
        let zones = friel.zones().expect("zones");
        assert_eq!(zones.method, ZoneMethod::Friel);
        assert_eq!(zones.zone_of(150.0), 2); // 88 % of LTHR
        assert_eq!(zones.zone_of(172.0), 5);
        let karvonen = RunnerProfile { max_hr_bpm: Some(190.0), resting_hr_bpm: Some(50.0), lthr_bpm: None };
        let zones = karvonen.zones().expect("zones");
        assert_eq!(zones.method, ZoneMethod::Karvonen);
        assert_eq!(zones.range(2), Some((134.0, 148.0)));
        assert_eq!(zones.zone_of(100.0), 1);
        let max_only = RunnerProfile { max_hr_bpm: Some(200.0), ..Default::default() };
        assert_eq!(max_only.zones().map(|z| z.method), Some(ZoneMethod::PercentOfMax));
        assert_eq!(RunnerProfile::default().zones(), None);
        assert_eq!(RunnerProfile { max_hr_bpm: Some(400.0), ..Default::default() }.zones(), None);
    }

    proptest! {
        #[test]
        fn any_readings_give_a_plausible_estimate_or_none(
            readings in proptest::collection::vec((0u64..5000, prop_oneof![Just(f64::NAN), -50.0f64..400.0]), 0..200)
        ) {
            let mut f = HeartRateFilter::new();
            let mut t = 0;
            for (dt, bpm) in readings {
                t += dt;
                f.on_reading(&HeartRateReading { t_ms: t, bpm });
                if let Some(b) = f.estimate(t).bpm {
                    prop_assert!(PLAUSIBLE_BPM.contains(&b));
                }
            }
        }
    }
}

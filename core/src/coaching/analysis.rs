//! What a run shows afterwards — visible competence (DESIGN §9): splits, efficiency factor,
//! pace at a reference heart rate, aerobic decoupling, milestones, and the trend against the
//! runner's history.
//!
//! Input is a run as moving time, distance and heart rate (pauses already taken out by the
//! caller). Must not: judge a run by speed alone, or call a slow day a failure.

use serde::{Deserialize, Serialize};

/// One moment of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TracePoint {
    /// Moving time since the start (pauses removed), s.
    pub moving_s: f64,
    /// Distance since the start, m.
    pub distance_m: f64,
    pub hr_bpm: Option<f64>,
}

/// The first minutes are left out of efficiency figures: heart rate is still rising to its
/// steady state (phase-II kinetics) and the runner is warming up. Friel computes EF and
/// decoupling over the steady part of an aerobic run, after the warm-up (Friel, "The Triathlete's
/// Training Bible"; TrainingPeaks, "Aerobic decoupling").
pub const WARMUP_S: f64 = 10.0 * 60.0;
/// Speed and heart rate are averaged over this long before judging steadiness (GPS speed is
/// noisy second to second).
pub const SMOOTHING_S: f64 = 30.0;
/// A stretch is steady running when its speed is within this share of the run's median.
pub const STEADY_SPEED_SHARE: f64 = 0.10;
/// A run is steady (decoupling means something) when this share of its post-warm-up time is
/// steady running.
pub const STEADY_RUN_SHARE: f64 = 0.7;
/// Decoupling under this is a sign of good aerobic endurance for that duration (Friel: < 5 %).
pub const GOOD_DECOUPLING_PCT: f64 = 5.0;
/// Steady running needed for efficiency figures at all.
pub const MIN_STEADY_S: f64 = 10.0 * 60.0;
/// Fitting speed against heart rate needs at least this spread of heart rates; with less, the
/// pace at the reference HR is taken from the efficiency factor (speed ∝ HR).
pub const MIN_HR_SPREAD_BPM: f64 = 8.0;
/// The heart rate for "pace at the same heart rate" when nothing better is known: an easy
/// aerobic effort for most adult runners.
pub const DEFAULT_REFERENCE_HR_BPM: f64 = 140.0;
/// …or this share of max HR when it is known (the top of an easy run; see
/// `readiness::EASY_HR_CAP_SHARE_OF_MAX`).
pub const REFERENCE_HR_SHARE_OF_MAX: f64 = 0.75;

/// The heart rate runs are compared at, for a runner whose max HR is `max_hr_bpm` if known.
pub fn reference_hr_bpm(max_hr_bpm: Option<f64>) -> f64 {
    max_hr_bpm
        .filter(|m| m.is_finite())
        .map_or(DEFAULT_REFERENCE_HR_BPM, |m| (m * REFERENCE_HR_SHARE_OF_MAX).round())
}

/// Heart-rate readings outside this are not a heart.
const HR_VALID_BPM: (f64, f64) = (30.0, 230.0);

/// One kilometre split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub km: u32,
    pub time_s: f64,
    pub avg_hr_bpm: Option<f64>,
}

/// The fastest stretch of a run over a distance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestEffort {
    pub distance_m: f64,
    /// Moving time of the fastest stretch of that length, s.
    pub time_s: f64,
}

/// The speed–heart-rate pairs of a run's steady running, kept as the sums a least-squares line
/// needs: the pace at any reference heart rate can be read again later (the runner's max HR,
/// and so the reference, may change after the run is stored).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeedHrFit {
    pub pairs: u32,
    pub mean_speed_mps: f64,
    pub mean_hr_bpm: f64,
    /// Σ (hr − mean hr)², bpm².
    pub s_hh: f64,
    /// Σ (hr − mean hr)(speed − mean speed), bpm·m/s.
    pub s_hv: f64,
    pub min_hr_bpm: f64,
    pub max_hr_bpm: f64,
}

impl SpeedHrFit {
    /// The fit of (speed m/s, hr bpm) pairs; `None` for none.
    fn of(pairs: &[(f64, f64)]) -> Option<Self> {
        if pairs.is_empty() {
            return None;
        }
        let n = pairs.len() as f64;
        let (mv, mh) =
            (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
        let (lo, hi) = pairs.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        Some(Self {
            pairs: u32::try_from(pairs.len()).unwrap_or(u32::MAX),
            mean_speed_mps: mv,
            mean_hr_bpm: mh,
            s_hh: pairs.iter().map(|p| (p.1 - mh).powi(2)).sum(),
            s_hv: pairs.iter().map(|p| (p.1 - mh) * (p.0 - mv)).sum(),
            min_hr_bpm: lo,
            max_hr_bpm: hi,
        })
    }

    /// Speed at `hr`: on the least-squares line when heart rates spread enough, otherwise in
    /// proportion to heart rate (the efficiency factor held).
    pub fn speed_at_mps(&self, hr_bpm: f64) -> Option<f64> {
        let v =
            if self.max_hr_bpm - self.min_hr_bpm >= MIN_HR_SPREAD_BPM && self.s_hh > 0.0 && self.s_hv > 0.0 {
                self.mean_speed_mps + self.s_hv / self.s_hh * (hr_bpm - self.mean_hr_bpm)
            } else {
                self.mean_speed_mps * hr_bpm / self.mean_hr_bpm
            };
        (v.is_finite() && v > 0.5).then_some(v)
    }
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunAnalysis {
    pub distance_m: f64,
    pub moving_time_s: f64,
    pub avg_pace_s_per_km: Option<f64>,
    pub avg_hr_bpm: Option<f64>,
    pub splits: Vec<Split>,
    /// Speed (m/min) per heartbeat per minute over steady running (Friel's efficiency factor).
    pub efficiency_factor: Option<f64>,
    /// Pa:HR decoupling, first half versus second half of steady running, % (steady runs only).
    pub decoupling_pct: Option<f64>,
    /// Whether the run was steady enough for decoupling to mean something.
    pub steady: bool,
    pub reference_hr_bpm: f64,
    /// The pace this run shows at the reference heart rate.
    pub pace_at_reference_hr_s_per_km: Option<f64>,
    /// Speed against heart rate over steady running (when there was enough of it): what the
    /// pace at another reference heart rate is read from.
    #[serde(default)]
    pub speed_hr_fit: Option<SpeedHrFit>,
    /// The fastest stretch over each whole kilometre the run covered, and over the half and
    /// the full marathon when it covered those: what performance goals are measured by.
    #[serde(default)]
    pub best_efforts: Vec<BestEffort>,
}

impl RunAnalysis {
    /// The same run judged at another reference heart rate.
    pub fn at_reference_hr(mut self, reference_hr_bpm: f64) -> Self {
        self.reference_hr_bpm = reference_hr_bpm;
        self.pace_at_reference_hr_s_per_km = self.pace_at_s_per_km(reference_hr_bpm);
        self
    }

    /// The pace this run shows at `hr_bpm` (s/km), from its speed–HR line.
    pub fn pace_at_s_per_km(&self, hr_bpm: f64) -> Option<f64> {
        self.speed_hr_fit.and_then(|f| f.speed_at_mps(hr_bpm)).map(|v| 1000.0 / v)
    }

    /// The fastest time over at least `distance_m`: the best effort over the shortest stored
    /// distance that is not shorter (holding a pace longer also holds it for less).
    pub fn best_effort_over(&self, distance_m: f64) -> Option<BestEffort> {
        self.best_efforts
            .iter()
            .filter(|e| e.distance_m >= distance_m - 1e-6)
            .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m))
            .copied()
    }
}

/// Best efforts are kept over every whole kilometre and these longer race distances, m.
pub const BEST_EFFORT_RACE_DISTANCES_M: [f64; 2] = [21_097.5, 42_195.0];

/// The shortest moving time over which `points` cover `distance_m` (interpolated).
fn best_effort_s(points: &[TracePoint], distance_m: f64) -> Option<f64> {
    let mut best: Option<f64> = None;
    let mut end = 0;
    for start in points {
        let goal = start.distance_m + distance_m;
        while end < points.len() && points[end].distance_m < goal {
            end += 1;
        }
        let Some(p) = points.get(end) else { break };
        let before = &points[end.saturating_sub(1)];
        let share = if p.distance_m > before.distance_m {
            ((goal - before.distance_m) / (p.distance_m - before.distance_m)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let at = before.moving_s + share * (p.moving_s - before.moving_s);
        let time = at - start.moving_s;
        if time > 0.0 && best.is_none_or(|b| time < b) {
            best = Some(time);
        }
    }
    best
}

fn best_efforts(points: &[TracePoint], distance_m: f64) -> Vec<BestEffort> {
    let whole_km = (1..=(distance_m / 1000.0).floor() as u32).map(|km| f64::from(km) * 1000.0);
    whole_km
        .chain(BEST_EFFORT_RACE_DISTANCES_M.into_iter().filter(|d| *d <= distance_m))
        .filter_map(|d| best_effort_s(points, d).map(|time_s| BestEffort { distance_m: d, time_s }))
        .collect()
}

/// Smoothed (moving s, speed m/s, hr) after the warm-up, one per sample.
fn smoothed(points: &[TracePoint]) -> Vec<(f64, f64, Option<f64>)> {
    let mut out = Vec::new();
    let mut back = 0;
    for (i, p) in points.iter().enumerate() {
        while points[back].moving_s < p.moving_s - SMOOTHING_S {
            back += 1;
        }
        let span = p.moving_s - points[back].moving_s;
        if p.moving_s < WARMUP_S || span < SMOOTHING_S * 0.5 {
            continue;
        }
        let speed = (p.distance_m - points[back].distance_m) / span;
        let hrs: Vec<f64> = points[back..=i]
            .iter()
            .filter_map(|q| q.hr_bpm)
            .filter(|h| (HR_VALID_BPM.0..=HR_VALID_BPM.1).contains(h))
            .collect();
        let hr = (!hrs.is_empty()).then(|| hrs.iter().sum::<f64>() / hrs.len() as f64);
        out.push((p.moving_s, speed, hr));
    }
    out
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// Efficiency factor of (speed m/s, hr) pairs: mean speed in m/min over mean HR.
fn efficiency(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let speed = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let hr = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    (hr > 0.0).then_some(speed * 60.0 / hr)
}

/// Analyses a run. `reference_hr_bpm` is the heart rate pace is compared at across runs.
pub fn analyse(points: &[TracePoint], reference_hr_bpm: f64) -> RunAnalysis {
    let distance_m = points.last().map_or(0.0, |p| p.distance_m);
    let moving_time_s = points.last().map_or(0.0, |p| p.moving_s);
    let hrs: Vec<f64> = points
        .iter()
        .filter_map(|p| p.hr_bpm)
        .filter(|h| (HR_VALID_BPM.0..=HR_VALID_BPM.1).contains(h))
        .collect();
    let avg_hr_bpm = (!hrs.is_empty()).then(|| hrs.iter().sum::<f64>() / hrs.len() as f64);
    let avg_pace_s_per_km = (distance_m > 100.0).then(|| moving_time_s / distance_m * 1000.0);

    // Splits: the moving time at which each whole kilometre was reached (interpolated).
    let mut splits = Vec::new();
    let mut last_s = 0.0;
    let mut from = 0;
    for (i, pair) in points.windows(2).enumerate() {
        let next_km = (splits.len() + 1) as f64 * 1000.0;
        if pair[0].distance_m < next_km && pair[1].distance_m >= next_km {
            let share = (next_km - pair[0].distance_m) / (pair[1].distance_m - pair[0].distance_m).max(1e-9);
            let at = pair[0].moving_s + share * (pair[1].moving_s - pair[0].moving_s);
            let hr: Vec<f64> = points[from..=i + 1].iter().filter_map(|p| p.hr_bpm).collect();
            splits.push(Split {
                km: splits.len() as u32 + 1,
                time_s: at - last_s,
                avg_hr_bpm: (!hr.is_empty()).then(|| hr.iter().sum::<f64>() / hr.len() as f64),
            });
            last_s = at;
            from = i + 1;
        }
    }

    let smooth = smoothed(points);
    let median_speed = median(smooth.iter().map(|s| s.1).filter(|v| *v > 1.0).collect());
    let steady_pairs: Vec<(f64, f64, f64)> = match median_speed {
        Some(m) => smooth
            .iter()
            .filter(|s| (s.1 - m).abs() <= STEADY_SPEED_SHARE * m)
            .filter_map(|s| s.2.map(|hr| (s.0, s.1, hr)))
            .collect(),
        None => Vec::new(),
    };
    let after_warmup = (moving_time_s - WARMUP_S).max(0.0);
    // Samples are about evenly spaced in moving time: the share of samples is the share of time.
    let steady_share = if smooth.is_empty() { 0.0 } else { steady_pairs.len() as f64 / smooth.len() as f64 };
    let steady_s = steady_share * after_warmup;
    let enough = steady_s >= MIN_STEADY_S;
    let pairs: Vec<(f64, f64)> = steady_pairs.iter().map(|p| (p.1, p.2)).collect();
    let efficiency_factor = efficiency(&pairs).filter(|_| enough);
    let steady = enough && steady_share >= STEADY_RUN_SHARE;
    let decoupling_pct = if steady {
        let half = steady_pairs.len() / 2;
        let first: Vec<(f64, f64)> = steady_pairs[..half].iter().map(|p| (p.1, p.2)).collect();
        let second: Vec<(f64, f64)> = steady_pairs[half..].iter().map(|p| (p.1, p.2)).collect();
        match (efficiency(&first), efficiency(&second)) {
            (Some(a), Some(b)) if a > 0.0 => Some((a - b) / a * 100.0),
            _ => None,
        }
    } else {
        None
    };
    let speed_hr_fit = if enough { SpeedHrFit::of(&pairs) } else { None };
    RunAnalysis {
        distance_m,
        moving_time_s,
        avg_pace_s_per_km,
        avg_hr_bpm,
        splits,
        efficiency_factor,
        decoupling_pct,
        steady,
        reference_hr_bpm,
        pace_at_reference_hr_s_per_km: None,
        speed_hr_fit,
        best_efforts: best_efforts(points, distance_m),
    }
    .at_reference_hr(reference_hr_bpm)
}

/// Distances worth celebrating the first time they are reached, m.
pub const MILESTONE_DISTANCES_M: [(f64, &str); 5] = [
    (5_000.0, "5 km"),
    (10_000.0, "10 km"),
    (21_097.5, "half marathon"),
    (30_000.0, "30 km"),
    (42_195.0, "marathon"),
];

/// A past run, as far as trends need it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// Days since the Unix epoch (so any calendar works).
    pub day: i64,
    pub distance_m: f64,
    pub pace_at_reference_hr_s_per_km: Option<f64>,
    pub efficiency_factor: Option<f64>,
}

/// This run against the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub runs_before: usize,
    /// Change of pace at the reference HR per 30 days, s/km (negative: faster for the same
    /// heart rate — fitter), from a least-squares line through history and this run.
    pub pace_at_reference_hr_change_s_per_km_per_30_days: Option<f64>,
    /// This run's efficiency factor against the mean of the history, %.
    pub efficiency_vs_history_pct: Option<f64>,
    pub milestones: Vec<String>,
}

/// A trend needs at least this many runs with a pace at the reference heart rate: a line
/// through two points says nothing about its spread.
pub const TREND_MIN_RUNS: usize = 3;

/// The change of pace per 30 days of a least-squares line through (day, pace s/km) points
/// (negative: faster — fitter at the same heart rate); `None` under [`TREND_MIN_RUNS`] points
/// or all on one day.
pub fn pace_change_per_30_days(points: &[(i64, f64)]) -> Option<f64> {
    if points.len() < TREND_MIN_RUNS {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) =
        (points.iter().map(|p| p.0 as f64).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx = points.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum::<f64>();
    let sxy = points.iter().map(|p| (p.0 as f64 - mx) * (p.1 - my)).sum::<f64>();
    (sxx > 0.0).then(|| sxy / sxx * 30.0)
}

/// Trend of this run (`today`, `run`) against `history` (older runs).
pub fn trend(history: &[HistoryPoint], today: i64, run: &RunAnalysis) -> Trend {
    let mut milestones = Vec::new();
    let longest_before = history.iter().map(|h| h.distance_m).fold(0.0, f64::max);
    for (metres, name) in MILESTONE_DISTANCES_M {
        if run.distance_m >= metres && longest_before < metres {
            milestones.push(format!("first {name}"));
        }
    }
    if !history.is_empty() && run.distance_m > longest_before && milestones.is_empty() {
        milestones.push("longest run yet".to_owned());
    }
    let efs: Vec<f64> = history.iter().filter_map(|h| h.efficiency_factor).collect();
    if let Some(ef) = run.efficiency_factor
        && !efs.is_empty()
        && efs.iter().all(|e| ef > *e)
    {
        milestones.push("best efficiency yet: more pace for the same heartbeat".to_owned());
    }
    let mut points: Vec<(i64, f64)> =
        history.iter().filter_map(|h| h.pace_at_reference_hr_s_per_km.map(|p| (h.day, p))).collect();
    if let Some(p) = run.pace_at_reference_hr_s_per_km {
        points.push((today, p));
    }
    let slope = pace_change_per_30_days(&points);
    let efficiency_vs_history_pct = match (run.efficiency_factor, efs.is_empty()) {
        (Some(ef), false) => {
            let mean = efs.iter().sum::<f64>() / efs.len() as f64;
            Some((ef - mean) / mean * 100.0)
        }
        _ => None,
    };
    Trend {
        runs_before: history.len(),
        pace_at_reference_hr_change_s_per_km_per_30_days: slope,
        efficiency_vs_history_pct,
        milestones,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady run: `speed(t)` m/s and `hr(t)` bpm, one point a second.
    fn run(seconds: u32, speed: impl Fn(f64) -> f64, hr: impl Fn(f64) -> f64) -> Vec<TracePoint> {
        let mut distance = 0.0;
        (0..=seconds)
            .map(|s| {
                let t = f64::from(s);
                if s > 0 {
                    distance += speed(t);
                }
                TracePoint { moving_s: t, distance_m: distance, hr_bpm: Some(hr(t)) }
            })
            .collect()
    }

    #[test]
    fn splits_add_up_to_the_distance_run() {
        let points = run(3000, |_| 3.0, |_| 140.0);
        let a = analyse(&points, 140.0);
        assert_eq!(a.splits.len(), 9);
        assert!(a.splits.iter().all(|s| (s.time_s - 1000.0 / 3.0).abs() < 1.0), "{:?}", a.splits);
        assert!((a.distance_m - 9000.0).abs() < 1e-6);
    }

    #[test]
    fn a_steady_run_without_drift_is_coupled_and_its_ef_is_speed_over_hr() {
        let a = analyse(&run(3600, |_| 3.0, |_| 150.0), 150.0);
        assert!(a.steady);
        assert!((a.efficiency_factor.expect("ef") - 180.0 / 150.0).abs() < 1e-6);
        assert!(a.decoupling_pct.expect("decoupling").abs() < 0.1);
        assert!((a.pace_at_reference_hr_s_per_km.expect("pace") - 1000.0 / 3.0).abs() < 0.5);
    }

    #[test]
    fn cardiac_drift_shows_as_decoupling() {
        // Same pace, heart rate creeping up 10 bpm over the hour.
        let a = analyse(&run(3600, |_| 3.0, |t| 145.0 + 10.0 * t / 3600.0), 150.0);
        let d = a.decoupling_pct.expect("decoupling");
        assert!(d > 2.0 && d < GOOD_DECOUPLING_PCT, "{d}");
    }

    #[test]
    fn intervals_are_not_steady_and_get_no_decoupling() {
        let a = analyse(
            &run(
                3600,
                |t| if (t as u32 / 120).is_multiple_of(2) { 4.2 } else { 2.4 },
                |t| if (t as u32 / 120).is_multiple_of(2) { 170.0 } else { 140.0 },
            ),
            150.0,
        );
        assert!(!a.steady);
        assert_eq!(a.decoupling_pct, None);
    }

    #[test]
    fn pace_at_the_reference_hr_comes_from_the_speed_hr_line() {
        // Speed rises with heart rate: 2.5 m/s at 130 → 3.5 at 170 (ten-minute blocks).
        let speed = |t: f64| 2.5 + 0.25 * ((t / 600.0).floor() % 5.0);
        let hr = |t: f64| 130.0 + 10.0 * ((t / 600.0).floor() % 5.0);
        let pairs: Vec<(f64, f64)> = (0..3000).map(|s| (speed(f64::from(s)), hr(f64::from(s)))).collect();
        let v = SpeedHrFit::of(&pairs).and_then(|f| f.speed_at_mps(150.0)).expect("speed");
        assert!((v - 3.0).abs() < 1e-6, "{v}");
    }

    #[test]
    fn trends_and_milestones_against_history() {
        let history: Vec<HistoryPoint> = (0..4)
            .map(|i| HistoryPoint {
                day: 100 + i * 7,
                distance_m: 8_000.0,
                pace_at_reference_hr_s_per_km: Some(340.0 - i as f64),
                efficiency_factor: Some(1.1 + 0.01 * i as f64),
            })
            .collect();
        let a = analyse(&run(3600, |_| 3.0, |_| 150.0), 150.0);
        let t = trend(&history, 128, &a);
        assert_eq!(t.milestones[0], "first 10 km");
        assert!(t.milestones.iter().any(|m| m.starts_with("best efficiency")));
        assert!(t.pace_at_reference_hr_change_s_per_km_per_30_days.expect("slope") < 0.0);
        assert!(t.efficiency_vs_history_pct.expect("vs history") > 0.0);
    }

    #[test]
    fn no_heart_rate_means_no_efficiency_not_a_guess() {
        let mut points = run(3600, |_| 3.0, |_| 150.0);
        points.iter_mut().for_each(|p| p.hr_bpm = None);
        let a = analyse(&points, 150.0);
        assert_eq!(a.efficiency_factor, None);
        assert_eq!(a.pace_at_reference_hr_s_per_km, None);
        assert_eq!(a.splits.len(), 10);
    }
}

//! What a recording's runner actually did, as the coach would have needed it: the terrain
//! (distance and grade at each sample), heart-rate steadiness, GPS gaps, and a plan fitted to
//! the run's laps — so a real run can be replayed against the plan its runner was following
//! and the coaching judged the way the runner would have heard it (`pacenote bench corpus`).
//!
//! Must not: look at what the engine said; this is the ground the coaching is judged against.

use pacenote_core::plan::{Plan, PlanError};

use crate::recording::Recording;

/// Grade is measured over at least this much distance and this long (DESIGN §3: "a baseline of
/// ≥ 50 m / ~60 s", never point to point; over 50 m a 1 m altitude error is 2 % of grade).
pub const GRADE_BASELINE_M: f64 = 50.0;
pub const GRADE_BASELINE_MS: u64 = 60_000;
/// Sections this flat count as flat when fitting a band (|grade| below this share).
pub const FLAT_GRADE: f64 = 0.02;
/// A lap's band is fitted to its flat sections when at least this share of its moving time is
/// flat; otherwise to the whole lap.
const MIN_FLAT_SHARE: f64 = 0.25;
/// Half-width of a fitted pace band, as a share of its centre: ±3 % is a tempo runner's ±10 s
/// at 5:30/km, and the ±3.3 % band of the detection goal (issue 12).
pub const BAND_HALF_SHARE: f64 = 0.03;
/// Consecutive laps whose paces differ by less than this share are one step (auto-laps of a
/// steady run are not a structured session).
const MERGE_LAPS_WITHIN_SHARE: f64 = 0.04;
/// Laps slower than this are walking or a stop: a step with no pace target.
const WALK_PACE_S_PER_KM: f64 = 540.0;
/// Laps shorter than this are not a step worth coaching on their own: merged into the next.
const MIN_STEP_S: f64 = 60.0;
/// A position gap longer than this (and than [`GAP_INTERVALS`] usual intervals) outside a
/// pause is a GPS dropout.
const GAP_MIN_MS: u64 = 6_000;
const GAP_INTERVALS: u64 = 3;

/// Per-sample terrain and effort, aligned with `recording.samples`.
#[derive(Debug, Clone, PartialEq)]
pub struct Terrain {
    pub t_ms: Vec<u64>,
    /// Cumulative distance, m (the device's own when it has one).
    pub distance_m: Vec<f64>,
    /// Grade over the last [`GRADE_BASELINE_M`] and [`GRADE_BASELINE_MS`] or more, as a share
    /// (0.04 = 4 %); `None` without altitude or before enough of a baseline.
    pub grade: Vec<Option<f64>>,
    pub heart_rate_bpm: Vec<Option<f64>>,
}

impl Terrain {
    pub fn of(recording: &Recording) -> Self {
        let (distance_m, _) = recording.cumulative_distance_m();
        let samples = &recording.samples;
        let mut grade = vec![None; samples.len()];
        let mut back = 0usize;
        for i in 0..samples.len() {
            // The latest earlier sample at least the baseline behind in distance and time.
            while back + 1 < i
                && distance_m[i] - distance_m[back + 1] >= GRADE_BASELINE_M
                && samples[i].t_ms - samples[back + 1].t_ms >= GRADE_BASELINE_MS
            {
                back += 1;
            }
            let run = distance_m[i] - distance_m[back];
            if run >= GRADE_BASELINE_M
                && samples[i].t_ms - samples[back].t_ms >= GRADE_BASELINE_MS
                && let (Some(a1), Some(a0)) = (samples[i].altitude_m, samples[back].altitude_m)
            {
                grade[i] = Some((a1 - a0) / run);
            }
        }
        Self {
            t_ms: samples.iter().map(|s| s.t_ms).collect(),
            distance_m,
            grade,
            heart_rate_bpm: samples.iter().map(|s| s.heart_rate_bpm).collect(),
        }
    }

    /// Index of the last sample at or before `t_ms`.
    fn index_at(&self, t_ms: u64) -> Option<usize> {
        self.t_ms.partition_point(|t| *t <= t_ms).checked_sub(1)
    }

    /// The grade at `t_ms`.
    pub fn grade_at(&self, t_ms: u64) -> Option<f64> {
        self.grade[self.index_at(t_ms)?]
    }

    /// Mean heart rate over `[from_ms, to_ms]`.
    fn mean_hr(&self, from_ms: u64, to_ms: u64) -> Option<f64> {
        let lo = self.t_ms.partition_point(|t| *t < from_ms);
        let hi = self.t_ms.partition_point(|t| *t <= to_ms);
        let hrs: Vec<f64> = self.heart_rate_bpm[lo..hi].iter().flatten().copied().collect();
        (!hrs.is_empty()).then(|| hrs.iter().sum::<f64>() / hrs.len() as f64)
    }

    /// Whether the runner's effort was steady at `t_ms`: heart rate over the last 30 s within
    /// `share` of its mean over the 5 minutes before. A runner holding effort up a climb keeps
    /// a steady heart rate while the pace falls; one who eases off shows it in the heart rate.
    pub fn hr_steady_at(&self, t_ms: u64, share: f64) -> bool {
        let now = self.mean_hr(t_ms.saturating_sub(30_000), t_ms);
        let before = self.mean_hr(t_ms.saturating_sub(330_000), t_ms.saturating_sub(30_000));
        matches!((now, before), (Some(n), Some(b)) if (n - b).abs() <= share * b)
    }
}

/// GPS dropouts: (last fix before, first fix after) on the run clock, outside pauses.
pub fn gps_gaps(recording: &Recording) -> Vec<(u64, u64)> {
    let fixes: Vec<u64> = recording.samples.iter().filter(|s| s.position.is_some()).map(|s| s.t_ms).collect();
    let mut intervals: Vec<u64> = fixes.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_unstable();
    let usual = intervals.get(intervals.len() / 2).copied().unwrap_or(1000);
    let limit = GAP_MIN_MS.max(GAP_INTERVALS * usual);
    fixes
        .windows(2)
        .filter(|w| w[1] - w[0] > limit)
        .filter(|w| !recording.pauses.iter().any(|p| p.start_ms < w[1] && w[0] < p.end_ms))
        .map(|w| (w[0], w[1]))
        .collect()
}

/// One step of a fitted plan: its moving seconds and the band centre's pace (None: walking).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FittedStep {
    pub moving_s: f64,
    pub pace_s_per_km: Option<f64>,
}

/// The steps a recording's laps make (the whole run as one lap when it has none): each lap's
/// pace measured on its flat sections where it has enough of them, consecutive laps of about
/// the same pace merged, laps too short to coach merged into the next.
pub fn fit_steps(recording: &Recording) -> Vec<FittedStep> {
    let terrain = Terrain::of(recording);
    let end_ms = recording.duration_ms();
    let mut bounds: Vec<(u64, u64)> = recording.laps.iter().map(|l| (l.start_ms, l.end_ms)).collect();
    if bounds.is_empty() {
        bounds.push((0, end_ms));
    }
    // The last lap runs to the end of the recording (devices leave a tail after the last press).
    if let Some(last) = bounds.last_mut() {
        last.1 = last.1.max(end_ms);
    }
    // Per lap: (moving s, all metres, flat metres, flat s).
    let mut laps: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (start, end) in bounds {
        let (mut moving, mut metres, mut flat_m, mut flat_s) = (0.0, 0.0, 0.0, 0.0);
        for i in 1..terrain.t_ms.len() {
            let (t0, t1) = (terrain.t_ms[i - 1], terrain.t_ms[i]);
            if t0 < start || t1 > end || recording.is_paused_at(t0) {
                continue;
            }
            let dt = (t1 - t0) as f64 / 1000.0;
            let dd = terrain.distance_m[i] - terrain.distance_m[i - 1];
            moving += dt;
            metres += dd;
            if terrain.grade[i].is_some_and(|g| g.abs() < FLAT_GRADE) {
                flat_m += dd;
                flat_s += dt;
            }
        }
        if moving > 0.0 {
            laps.push((moving, metres, flat_m, flat_s));
        }
    }
    let pace = |(moving, metres, flat_m, flat_s): (f64, f64, f64, f64)| {
        let (m, s) = if flat_s >= MIN_FLAT_SHARE * moving && flat_m > 0.0 {
            (flat_m, flat_s)
        } else {
            (metres, moving)
        };
        (m > 0.0).then(|| s / m * 1000.0)
    };
    let mut merged: Vec<(f64, f64, f64, f64)> = Vec::new();
    for lap in laps {
        let same_pace = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => {
                (a.min(WALK_PACE_S_PER_KM) - b.min(WALK_PACE_S_PER_KM)).abs() <= MERGE_LAPS_WITHIN_SHARE * a
            }
            (None, None) => true,
            _ => false,
        };
        match merged.last_mut() {
            Some(prev) if prev.0 < MIN_STEP_S || same_pace(pace(*prev), pace(lap)) => {
                *prev = (prev.0 + lap.0, prev.1 + lap.1, prev.2 + lap.2, prev.3 + lap.3);
            }
            _ => merged.push(lap),
        }
    }
    merged
        .into_iter()
        .map(|lap| FittedStep {
            moving_s: lap.0.round(),
            pace_s_per_km: pace(lap).filter(|p| *p < WALK_PACE_S_PER_KM),
        })
        .collect()
}

/// A plan of [`fit_steps`]: time steps with a ±[`BAND_HALF_SHARE`] pace band around each
/// step's fitted pace, walking steps without a target.
pub fn fit_plan(recording: &Recording, id: &str) -> Result<Plan, PlanError> {
    let steps: Vec<String> = fit_steps(recording)
        .iter()
        .map(|s| match s.pace_s_per_km {
            Some(p) => format!(
                r#"{{"kind":"work","end":{{"time_s":{}}},"target":{{"pace":{{"fastest":{:.0},"slowest":{:.0}}}}}}}"#,
                s.moving_s,
                p * (1.0 - BAND_HALF_SHARE),
                p * (1.0 + BAND_HALF_SHARE)
            ),
            None => format!(r#"{{"kind":"easy","end":{{"time_s":{}}}}}"#, s.moving_s),
        })
        .collect();
    let json =
        format!(r#"{{"version":1,"id":"{id}","name":"fitted to {id}","steps":[{}]}}"#, steps.join(","));
    Plan::from_json(json.as_bytes())
}

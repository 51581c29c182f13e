//! The grade the runner is on, and what it does to pace: grade from altitude over a baseline
//! of at least 50 m (never point to point), the phone's barometer preferred to GPS altitude,
//! and the speed factor that turns raw speed into grade-adjusted speed (GAP).
//!
//! Why a baseline: GPS altitude is good to ~4 m, a barometer's relative altitude to a few
//! decimetres; point-to-point over a 3-m step either would read as a wall. A least-squares
//! slope of altitude over distance along the last ≥ 50 m (and ~60 s) keeps the grade error
//! to ±1–2 % with a barometer; GPS altitude needs a longer baseline for the same.
//!
//! Must not: guess a grade without altitude, or use altitudes from before a pause or a reset.

use std::collections::VecDeque;

use super::line_fit::{LineSums, REBASE_AFTER_MS};

/// Grade is measured over at least this much distance with a barometer (DESIGN §3).
pub const BARO_BASELINE_M: f64 = 50.0;
/// With GPS altitude (σ ≈ 4 m) the baseline is longer: over 150 m a least-squares slope is
/// good to about ±2 %, where 50 m would be ±7 %.
pub const GPS_BASELINE_M: f64 = 150.0;
/// The slope of GPS altitude is taken over at least this long too (~60 s, DESIGN §3): its
/// error wanders over tens of seconds.
pub const GPS_WINDOW_MS: u64 = 60_000;
/// A barometer is good to decimetres over a minute: its slope over 20 s (and ≥ 50 m) is good
/// to about ±0.5 % of grade, and lags a change of grade by only ~10 s — a 60-s window would
/// leave the foot and the top of every climb judged on the wrong grade for half a minute.
pub const BARO_WINDOW_MS: u64 = 20_000;
/// The grade over a short stretch (the one a correction is about) needs at least this long
/// and this far of barometric altitude; GPS altitude is too coarse for it.
pub const SHORT_GRADE_MIN_SPAN_MS: u64 = 8_000;
const SHORT_GRADE_MIN_RUN_M: f64 = 15.0;
/// The factor's slope is taken over ± this much grade (the table is piecewise linear).
const FACTOR_SLOPE_STEP: f64 = 0.001;
/// GPS altitude errors persist for tens of seconds (the chipset's vertical solution wanders
/// like its horizontal one): a slope's residuals count one independent reading per this many.
const GPS_ALTITUDE_READINGS_PER_INDEPENDENT: f64 = 1.0;
/// A barometer reading older than this is stale; GPS altitude is used instead.
const BARO_FRESH_MS: u64 = 5_000;
/// Altitudes further back than this are dropped whatever the baseline.
const MAX_KEEP_MS: u64 = 300_000;
/// Fewer altitudes than this say nothing about a slope.
const MIN_POINTS: usize = 4;
/// Grades beyond ±45 % are not running; the factor is clipped there (issue 12).
pub const MAX_GRADE: f64 = 0.45;

/// Strava's 2017 heart-rate-based grade adjustment ("An Improved GAP Model", Strava
/// engineering, 2017): (grade, speed factor) — running at speed v on that grade is the effort
/// of running v × factor on the flat. Chosen over Minetti's metabolic cost ratio, which
/// over-credits climbs for runners (DESIGN §3).
pub const STRAVA_2017_FACTORS: [(f64, f64); 8] = [
    (-0.10, 0.876),
    (-0.04, 0.918),
    (0.0, 1.0),
    (0.02, 1.055),
    (0.04, 1.135),
    (0.06, 1.228),
    (0.10, 1.459),
    (0.15, 1.846),
];

/// The speed factor at `grade` (a share, 0.04 = 4 %): straight lines between the table's
/// points; above +15 % the last segment's slope carries on to +45 %; below −10 % the factor
/// stays at its −10 % value (Strava's curve bottoms out there: steeper descents are braking,
/// not free speed).
pub fn speed_factor(grade: f64) -> f64 {
    let g = if grade.is_finite() { grade.clamp(-MAX_GRADE, MAX_GRADE) } else { 0.0 };
    let table = &STRAVA_2017_FACTORS;
    if g <= table[0].0 {
        return table[0].1;
    }
    let i = table.partition_point(|(x, _)| *x < g).clamp(1, table.len() - 1);
    let ((x0, y0), (x1, y1)) = (table[i - 1], table[i]);
    y0 + (g - x0) * (y1 - y0) / (x1 - x0)
}

/// Where altitude comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AltitudeSource {
    Barometer,
    Gps,
}

/// The grade now, and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Grade {
    /// Rise over run (0.04 = 4 %).
    pub grade: f64,
    /// Its standard deviation, from the slope's own residuals (so a grade that changes within
    /// the stretch is less sure), counting correlated altitude errors as fewer readings.
    pub sigma: f64,
    pub source: AltitudeSource,
}

impl Grade {
    /// The speed factor of this grade, and its σ.
    pub fn adjustment(&self) -> Adjustment {
        let slope = (speed_factor(self.grade + FACTOR_SLOPE_STEP)
            - speed_factor(self.grade - FACTOR_SLOPE_STEP))
            / (2.0 * FACTOR_SLOPE_STEP);
        Adjustment { factor: speed_factor(self.grade), sigma: slope.abs() * self.sigma }
    }
}

/// What grade adjustment does to a speed: times `factor`, and `sigma` more uncertain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adjustment {
    pub factor: f64,
    /// σ of the factor (from the grade's σ).
    pub sigma: f64,
}

impl Adjustment {
    /// No adjustment (no altitude, or a plan whose hills are raw).
    pub const NONE: Self = Self { factor: 1.0, sigma: 0.0 };

    /// A speed and its σ, adjusted: the grade's uncertainty adds to the speed's.
    pub fn apply(&self, speed_mps: f64, sigma_mps: f64) -> (f64, f64) {
        // A plain root, not libm's hypot (slow, and speeds cannot overflow): this runs for every
        // window on every sample.
        let (a, b) = (sigma_mps * self.factor, speed_mps * self.sigma);
        (speed_mps * self.factor, (a * a + b * b).sqrt())
    }
}

/// One altitude along the run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    t_ms: u64,
    distance_m: f64,
    altitude_m: f64,
    /// The slope sums over the points kept before this one.
    before: LineSums,
}

/// Altitudes along the run's distance, for the grade.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GradeEstimator {
    /// The altitudes of the current source, oldest first.
    points: VecDeque<Point>,
    /// Slope sums (altitude over distance) over every point kept, relative to `origin`
    /// (t_ms, distance m, altitude m).
    total: LineSums,
    origin: (u64, f64, f64),
    source: Option<AltitudeSource>,
    last_baro_ms: Option<u64>,
    latest: Option<Grade>,
}

impl GradeEstimator {
    /// A barometer's relative altitude (any zero) at `distance_m` along the run.
    pub fn on_barometer(&mut self, t_ms: u64, distance_m: f64, altitude_m: f64) {
        self.last_baro_ms = Some(t_ms);
        self.push(AltitudeSource::Barometer, t_ms, distance_m, altitude_m);
    }

    /// A fix's GPS altitude, used while there is no fresh barometer.
    pub fn on_gps_altitude(&mut self, t_ms: u64, distance_m: f64, altitude_m: f64) {
        if self.last_baro_ms.is_some_and(|t| t_ms.saturating_sub(t) <= BARO_FRESH_MS) {
            return;
        }
        self.push(AltitudeSource::Gps, t_ms, distance_m, altitude_m);
    }

    /// The grade over the stretch since `from_ms` (barometer only, at least
    /// [`SHORT_GRADE_MIN_SPAN_MS`] of it): what the runner climbed while a speed was measured.
    pub fn grade_since(&self, from_ms: u64) -> Option<Grade> {
        if self.source != Some(AltitudeSource::Barometer) {
            return None;
        }
        let end = self.points.back()?;
        let first = self.points.get(self.points.partition_point(|p| p.t_ms < from_ms))?;
        if end.t_ms - first.t_ms < SHORT_GRADE_MIN_SPAN_MS
            || end.distance_m - first.distance_m < SHORT_GRADE_MIN_RUN_M
        {
            return None;
        }
        least_squares_slope(self.total.less(&first.before)).map(|(grade, sigma)| Grade {
            grade: grade.clamp(-MAX_GRADE, MAX_GRADE),
            sigma,
            source: AltitudeSource::Barometer,
        })
    }

    /// Whether any altitude is known (grade adjustment is in play).
    pub fn has_altitude(&self) -> bool {
        !self.points.is_empty()
    }

    /// Forgets the altitudes (after a pause: the runner may have walked anywhere).
    pub fn reset(&mut self) {
        self.points.clear();
        self.latest = None;
    }

    /// The grade as of the latest altitude, once there is a baseline.
    pub fn grade(&self) -> Option<Grade> {
        self.latest
    }

    fn push(&mut self, source: AltitudeSource, t_ms: u64, distance_m: f64, altitude_m: f64) {
        if !(distance_m.is_finite() && altitude_m.is_finite()) {
            return;
        }
        if self.source != Some(source) {
            // Barometric and GPS altitudes have different zeros: never mixed in one slope.
            self.points.clear();
            self.source = Some(source);
        }
        if self.points.back().is_some_and(|p| p.t_ms >= t_ms || p.distance_m > distance_m) {
            return;
        }
        if self.points.is_empty() {
            self.origin = (t_ms, distance_m, altitude_m);
            self.total = LineSums::default();
        }
        let point = Point { t_ms, distance_m, altitude_m, before: self.total };
        self.total.add(distance_m - self.origin.1, altitude_m - self.origin.2);
        self.points.push_back(point);
        while self.points.front().is_some_and(|p| t_ms - p.t_ms > MAX_KEEP_MS) {
            self.points.pop_front();
        }
        if t_ms - self.origin.0 > REBASE_AFTER_MS {
            self.rebase();
        }
        self.latest = self.slope(source);
    }

    /// Moves the sums' origin up to the oldest point kept, summing the kept points afresh.
    fn rebase(&mut self) {
        let Some(front) = self.points.front() else { return };
        self.origin = (front.t_ms, front.distance_m, front.altitude_m);
        self.total = LineSums::default();
        for p in &mut self.points {
            p.before = self.total;
            self.total.add(p.distance_m - self.origin.1, p.altitude_m - self.origin.2);
        }
    }

    /// Least-squares slope of altitude over distance, over the newest points spanning at least
    /// the baseline and the window.
    fn slope(&self, source: AltitudeSource) -> Option<Grade> {
        let (baseline, window_ms) = match source {
            AltitudeSource::Barometer => (BARO_BASELINE_M, BARO_WINDOW_MS),
            AltitudeSource::Gps => (GPS_BASELINE_M, GPS_WINDOW_MS),
        };
        let end = self.points.back()?;
        // The newest points back to the first that covers both the baseline and the window
        // (older points cover more: the last that does).
        let covers = self
            .points
            .partition_point(|p| end.distance_m - p.distance_m >= baseline && end.t_ms - p.t_ms >= window_ms);
        let first = self.points.get(covers.checked_sub(1)?)?;
        if self.points.len() - (covers - 1) < MIN_POINTS {
            return None;
        }
        let (grade, sigma) = least_squares_slope(self.total.less(&first.before))?;
        let sigma = match source {
            AltitudeSource::Barometer => sigma,
            AltitudeSource::Gps => sigma * GPS_ALTITUDE_READINGS_PER_INDEPENDENT.sqrt(),
        };
        Some(Grade { grade: grade.clamp(-MAX_GRADE, MAX_GRADE), sigma, source })
    }
}

/// The least-squares slope of altitude over distance summed in `sums`, and its σ from the
/// residuals; `None` when the distances do not spread or the slope is not a number.
fn least_squares_slope(sums: LineSums) -> Option<(f64, f64)> {
    let line = sums.centred()?;
    let slope = line.slope();
    let residual_var =
        if sums.n > 2 { ((line.syy - slope * line.sxy) / (sums.n as f64 - 2.0)).max(0.0) } else { 0.0 };
    (line.sxx > 0.0 && slope.is_finite()).then(|| (slope, (residual_var / line.sxx).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_is_strava_2017_at_its_points() {
        for (grade, factor) in STRAVA_2017_FACTORS {
            assert!((speed_factor(grade) - factor).abs() < 1e-9, "{grade}: {}", speed_factor(grade));
        }
        // Between points, monotone on climbs; clipped at ±45 %.
        assert!(speed_factor(0.03) > 1.055 && speed_factor(0.03) < 1.135);
        assert_eq!(speed_factor(0.9), speed_factor(0.45));
        assert_eq!(speed_factor(-0.3), 0.876);
        assert_eq!(speed_factor(f64::NAN), 1.0);
    }

    #[test]
    fn the_grade_reads_the_same_after_the_sums_origin_moves_up() {
        // 25 minutes of rolling hills (grade changing every 100 s) on GPS altitude: the sums'
        // origin moves up twice; the grade is the slope over the covering points, as if summed
        // afresh.
        let mut g = GradeEstimator::default();
        let mut altitude = 300.0;
        for s in 0..1500u64 {
            altitude += 3.0 * [0.04, -0.03, 0.08, 0.0][((s / 100) % 4) as usize];
            let wobble = [1.5, -1.0, 0.5, -1.5, 1.0][(s % 5) as usize];
            g.on_gps_altitude(s * 1000, 3.0 * s as f64, altitude + wobble);
        }
        assert!(g.origin.0 > 0, "the origin moved up");
        let end = *g.points.back().expect("points");
        let covering: Vec<&Point> = g
            .points
            .iter()
            .filter(|p| end.t_ms - p.t_ms <= GPS_WINDOW_MS.max(((GPS_BASELINE_M / 3.0) * 1000.0) as u64))
            .collect();
        let n = covering.len() as f64;
        let md = covering.iter().map(|p| p.distance_m).sum::<f64>() / n;
        let ma = covering.iter().map(|p| p.altitude_m).sum::<f64>() / n;
        let sdd: f64 = covering.iter().map(|p| (p.distance_m - md).powi(2)).sum();
        let sda: f64 = covering.iter().map(|p| (p.distance_m - md) * (p.altitude_m - ma)).sum();
        let grade = g.grade().expect("a grade");
        assert!((grade.grade - sda / sdd).abs() < 1e-9, "{} vs {}", grade.grade, sda / sdd);
    }

    #[test]
    fn grade_needs_a_baseline_and_comes_from_the_slope_not_the_last_step() {
        let mut g = GradeEstimator::default();
        // 3 m/s up a 6 % grade, barometer at 1 Hz with ±0.3 m of wobble.
        for s in 0..90u64 {
            let d = 3.0 * s as f64;
            let wobble = [0.3, -0.2, 0.1, -0.3, 0.2][(s % 5) as usize];
            g.on_barometer(s * 1000, d, 100.0 + 0.06 * d + wobble);
            if s < 20 {
                assert_eq!(g.grade(), None, "no baseline yet at {s} s");
            }
        }
        let short = g.grade_since(78_000).expect("a short grade");
        assert!((short.grade - 0.06).abs() < 0.02, "{short:?}");
        assert!(short.sigma > 0.0 && short.sigma < 0.01, "{short:?}");
        assert_eq!(g.grade_since(85_000), None, "too short a stretch");
        let grade = g.grade().expect("a grade");
        assert!((grade.grade - 0.06).abs() < 0.005, "{grade:?}");
        assert_eq!(grade.source, AltitudeSource::Barometer);
    }

    #[test]
    fn a_fresh_barometer_wins_over_gps_altitude() {
        let mut g = GradeEstimator::default();
        for s in 0..200u64 {
            let d = 3.0 * s as f64;
            // GPS altitude says a steep hill; the barometer says flat.
            g.on_gps_altitude(s * 1000, d, 0.2 * d);
            g.on_barometer(s * 1000, d, 50.0);
        }
        let grade = g.grade().expect("a grade");
        assert_eq!(grade.source, AltitudeSource::Barometer);
        assert!(grade.grade.abs() < 1e-9, "{grade:?}");
    }
}

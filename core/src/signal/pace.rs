//! Pace and distance from what the phone senses: a constant-velocity Kalman filter in local
//! metres fusing positions (weighted by their reported accuracy) with Doppler speed, with the
//! outliers phones produce thrown out, GPS loss reported as *unknown* pace rather than a guess,
//! distance bridged over short gaps, and a fallback to device speed (treadmill, footpod) or
//! cadence × learned stride when there is no GPS at all.
//!
//! Why a filter and not a moving average: a runner's speed changes smoothly, positions are
//! noisy, and Doppler speed is an order of magnitude better than differencing positions. The
//! filter weighs each reading by how good it is and says how sure it is (`speed_sigma_mps`),
//! which is what lets the coach stay quiet when it does not know.
//!
//! Pure state: readings in with the host's run clock, estimates out. Bad readings are counted
//! and rejected with a reason, never a panic.

use serde::Serialize;

use super::geo::LocalFrame;
use super::grade::Adjustment;
use super::recent::{RecentFixes, RecentSpeed};
use crate::sensor::{CadenceReading, DeviceSpeedReading, LocationFix};
use crate::units::SecondsPerKm;

/// Fixes whose reported accuracy is worse than this are not used: urban-canyon fixes of 30 m
/// and more are mostly wrong by more than the distance run between them.
pub const MAX_ACCURACY_M: f64 = 30.0;
/// No runner goes faster than this (Bolt's top speed is 12.4 m/s over a few metres); a fix
/// implying more is a jump.
pub const MAX_RUNNING_SPEED_MPS: f64 = 12.0;
/// Without an accepted fix for this long, GPS is lost: phones deliver a fix a second, so five
/// missing in a row is not jitter. Devices that record less often ("smart recording", a fix
/// every 2–12 s) get [`LOST_AFTER_INTERVALS`] of their usual interval instead.
pub const GPS_LOST_AFTER_MS: u64 = 6_000;
/// GPS is lost after this many usual fix intervals without a fix.
pub const LOST_AFTER_INTERVALS: f64 = 3.0;
/// Weight of a new interval in the running mean of fix intervals.
const INTERVAL_MEAN_WEIGHT: f64 = 0.05;
/// The usual interval is learned only from gaps shorter than this (longer ones are losses).
const MAX_USUAL_INTERVAL_MS: f64 = 15_000.0;
/// Gaps up to this long are bridged with the straight line between the fixes either side
/// (a tunnel, a bridge); longer ones too, but the pace over them stays unknown.
pub const BRIDGE_MAX_GAP_MS: u64 = 300_000;
/// Phones report accuracy as a ~68 % radius; a 2-D Gaussian's 68 % radius is 1.515 σ per axis.
const ACCURACY_PER_AXIS_SIGMA: f64 = 1.515;
/// Spectral density of the runner's acceleration (m²/s³) in the filter's process model:
/// small, because a runner's speed drifts over tens of seconds (with Doppler at 0.2 m/s this
/// averages over ~2–3 s); a rep start is handled by the manoeuvre rule below, not by a large
/// q. Tuned with `pacenote bench pace`: smaller gives a smoother pace but later corrections.
const ACCELERATION_NOISE_M2_S3: f64 = 0.01;
/// Spectral density of acceleration *across* the direction of travel (m²/s³): a runner turns
/// a street corner (≈ 3 m/s through 90° in a few seconds) without slowing.
const TURNING_NOISE_M2_S3: f64 = 0.2;
/// Two speed readings in a row this many standard deviations from the prediction, on the
/// same side, mean the runner really changed speed: the filter widens its velocity
/// uncertainty and follows at once instead of averaging the change away.
const MANOEUVRE_SIGMAS: f64 = 2.0;
/// Extra velocity variance when restarting along the old heading: the path may have turned.
const HEADING_RESTART_VAR_MPS2: f64 = 0.5;
/// Doppler speed error when the platform gives none: phones manage 0.2–0.5 m/s.
const DEFAULT_DOPPLER_SIGMA_MPS: f64 = 0.3;
/// Innovation gates (χ² at 99.9 %): a reading further from the prediction is an outlier.
const GATE_CHI2_2DOF: f64 = 13.8;
const GATE_CHI2_1DOF: f64 = 10.8;
/// After this many outliers in a row the filter, not the fixes, is wrong: start again.
const RESET_AFTER_REJECTS: u32 = 3;
/// Pace is reported unknown when its standard deviation is worse than this (about 25 % of
/// an easy running speed): a coach should say nothing rather than guess.
const UNKNOWN_ABOVE_SIGMA_MPS: f64 = 0.8;
/// Speed σ at which confidence is one half.
const HALF_CONFIDENCE_SIGMA_MPS: f64 = 0.25;
/// After a loss, GPS is back only after this many fixes in a row (a lone fix between two
/// dropouts is not the signal back).
pub const REACQUIRE_MIN_FIXES: u32 = 3;
/// After a loss, with positions alone, the fixes of this long are the chipset converging (the
/// first fixes after a gap come back tens of metres off and walk in over seconds: OpenTracks
/// #1519, #1905): the filter, which took that walk for speed, starts again from the fix after
/// it, and no correction is made before it (`engine::targets`).
pub const REACQUIRE_SETTLE_MS: u64 = 15_000;
/// Device speed and cadence readings older than this are stale.
const FALLBACK_FRESH_MS: u64 = 3_000;
/// Stride is learned only from confident GPS speeds, and moves slowly (weight of a new one).
const STRIDE_LEARN_MAX_SIGMA_MPS: f64 = 0.2;
const STRIDE_LEARN_WEIGHT: f64 = 0.02;
/// A typical running stride (metres per step) to start from: ~1.1 m at 165 spm is 6:55/km.
const DEFAULT_STRIDE_M: f64 = 1.1;
/// Cadence below this is walking or standing; its stride model does not hold.
const MIN_RUNNING_CADENCE_SPM: f64 = 120.0;
/// σ of a cadence-based speed: strides vary about 10 % with fatigue and terrain.
const CADENCE_SPEED_SIGMA_SHARE: f64 = 0.1;
/// σ of a treadmill or footpod speed.
const DEVICE_SPEED_SIGMA_MPS: f64 = 0.1;

/// Why a fix was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// NaN, infinite, or off the globe.
    NotFinite,
    /// Not later than the fix before it.
    TimeNotForward,
    /// Reported accuracy worse than [`MAX_ACCURACY_M`].
    PoorAccuracy,
    /// Further from the last fix than a runner could go.
    ImpossibleSpeed,
    /// Far outside what the filter expected.
    Outlier,
}

/// What became of a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FixVerdict {
    Accepted,
    Rejected(RejectReason),
}

/// The state of the position signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpsStatus {
    /// No usable fix yet.
    Waiting,
    Good,
    /// No usable fix since `since_ms`.
    Lost {
        since_ms: u64,
    },
    /// Fixes are coming back after a loss (since `lost_since_ms`), but too few yet to trust:
    /// the first fixes after a gap jump (the chipset re-converging), and a lone fix between two
    /// dropouts is not the GPS back.
    Returning {
        lost_since_ms: u64,
    },
}

/// Where the current speed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedSource {
    /// Positions, and Doppler speed when the phone gives it.
    Gps,
    /// A treadmill or footpod.
    Device,
    /// Cadence times the stride learned while GPS was good.
    Cadence,
    /// Nothing trustworthy.
    None,
}

/// The best knowledge of speed and distance at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PaceEstimate {
    pub at_ms: u64,
    /// `None` when unknown (no fix, GPS lost, or too uncertain).
    pub speed_mps: Option<f64>,
    pub speed_sigma_mps: f64,
    /// 0 (no idea) to 1 (sure), from the speed's standard deviation.
    pub confidence: f64,
    pub distance_m: f64,
    pub gps: GpsStatus,
    pub source: SpeedSource,
    /// What the recent windows of raw GPS readings surely say (GPS only): the quick test of
    /// whether the runner is off target.
    pub recent: Option<RecentSpeed>,
    /// The newest raw speed reading (Doppler or device), for tests that take each reading
    /// as it comes rather than the filter's smoothed speed.
    pub reading: Option<SpeedReading>,
    /// The first fix after the latest GPS loss, if there was one.
    pub reacquired_at_ms: Option<u64>,
}

/// One raw speed reading with its σ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpeedReading {
    pub t_ms: u64,
    pub speed_mps: f64,
    pub sigma_mps: f64,
}

impl PaceEstimate {
    /// The pace, when the speed is known and the runner is moving.
    pub fn pace(&self) -> Option<SecondsPerKm> {
        self.speed_mps.and_then(SecondsPerKm::from_speed_mps)
    }

    /// The same estimate as grade-adjusted speeds: every speed times the adjustment's factor
    /// and its σ widened by the grade's ([`crate::signal::grade::Adjustment`] of the grade
    /// now), windows included — a caller that knows the grade over a window's own span adjusts
    /// the raw window by that instead.
    pub fn grade_adjusted(&self, adjustment: Adjustment) -> Self {
        let speed = self.speed_mps.map(|v| adjustment.apply(v, self.speed_sigma_mps));
        Self {
            speed_mps: speed.map(|(v, _)| v),
            speed_sigma_mps: speed.map_or(self.speed_sigma_mps * adjustment.factor, |(_, s)| s),
            recent: self.recent.map(|r| RecentSpeed {
                windows: r.windows.map(|w| w.map(|w| w.adjusted(adjustment))),
                doppler_mean_mps: r.doppler_mean_mps.map(|v| v * adjustment.factor),
            }),
            reading: self.reading.map(|r| {
                let (speed_mps, sigma_mps) = adjustment.apply(r.speed_mps, r.sigma_mps);
                SpeedReading { speed_mps, sigma_mps, ..r }
            }),
            ..*self
        }
    }
}

/// Counts of what happened to the fixes, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FixCounts {
    pub accepted: u64,
    pub not_finite: u64,
    pub time_not_forward: u64,
    pub poor_accuracy: u64,
    pub impossible_speed: u64,
    pub outlier: u64,
}

/// The filter proper: state [east, north, v_east, v_north] and its covariance.
#[derive(Debug, Clone, PartialEq)]
struct Kalman {
    x: [f64; 4],
    p: [[f64; 4]; 4],
    t_ms: u64,
    /// Direction of travel (unit east, north) when last clearly moving: a runner setting off
    /// from a standstill usually goes on the way they were going.
    heading: Option<(f64, f64)>,
}

impl Kalman {
    fn new(t_ms: u64, at: (f64, f64), position_var: f64, velocity: (f64, f64), velocity_var: f64) -> Self {
        let mut p = [[0.0; 4]; 4];
        p[0][0] = position_var;
        p[1][1] = position_var;
        p[2][2] = velocity_var;
        p[3][3] = velocity_var;
        Self { x: [at.0, at.1, velocity.0, velocity.1], p, t_ms, heading: None }
    }

    /// Moves the state to `t_ms` with the constant-velocity model and white acceleration noise.
    fn predict(&mut self, t_ms: u64) {
        let dt = t_ms.saturating_sub(self.t_ms) as f64 / 1000.0;
        self.t_ms = t_ms.max(self.t_ms);
        if dt <= 0.0 {
            return;
        }
        self.x[0] += dt * self.x[2];
        self.x[1] += dt * self.x[3];
        // P = F P Fᵀ + Q, with F = [[I, dt I], [0, I]]: first F P, then (F P) Fᵀ.
        let p = self.p;
        let fp: [[f64; 4]; 4] = std::array::from_fn(|i| {
            std::array::from_fn(|j| p[i][j] + if i < 2 { dt * p[i + 2][j] } else { 0.0 })
        });
        let mut n: [[f64; 4]; 4] = std::array::from_fn(|i| {
            std::array::from_fn(|j| fp[i][j] + if j < 2 { dt * fp[i][j + 2] } else { 0.0 })
        });
        // Runners turn far more readily than they change speed: the acceleration noise is
        // small along the direction of travel and large across it (and large both ways at a
        // standstill, where there is no direction yet).
        let speed = self.speed();
        let (u, w) = if speed >= 0.5 { (self.x[2] / speed, self.x[3] / speed) } else { (1.0, 0.0) };
        let (along, across) = if speed >= 0.5 {
            (ACCELERATION_NOISE_M2_S3, TURNING_NOISE_M2_S3)
        } else {
            (TURNING_NOISE_M2_S3, TURNING_NOISE_M2_S3)
        };
        // Qa = R diag(along, across) Rᵀ with R = [[u, −w], [w, u]].
        let qa = [
            [along * u * u + across * w * w, (along - across) * u * w],
            [(along - across) * u * w, along * w * w + across * u * u],
        ];
        for i in 0..2 {
            for j in 0..2 {
                n[i][j] += qa[i][j] * dt.powi(3) / 3.0;
                n[i][j + 2] += qa[i][j] * dt.powi(2) / 2.0;
                n[i + 2][j] += qa[i][j] * dt.powi(2) / 2.0;
                n[i + 2][j + 2] += qa[i][j] * dt;
            }
        }
        self.p = n;
    }

    /// Position update; `false` (and no change) when the fix fails the gate.
    fn update_position(&mut self, z: (f64, f64), var: f64) -> bool {
        let y = [z.0 - self.x[0], z.1 - self.x[1]];
        let s = [[self.p[0][0] + var, self.p[0][1]], [self.p[1][0], self.p[1][1] + var]];
        let det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
        if !(det.is_finite() && det > 0.0) {
            return false;
        }
        let si = [[s[1][1] / det, -s[0][1] / det], [-s[1][0] / det, s[0][0] / det]];
        let d2 = y[0] * (si[0][0] * y[0] + si[0][1] * y[1]) + y[1] * (si[1][0] * y[0] + si[1][1] * y[1]);
        if d2 > GATE_CHI2_2DOF {
            return false;
        }
        // K = P Hᵀ S⁻¹ (4×2); P Hᵀ is the first two columns of P.
        let mut k = [[0.0; 2]; 4];
        for (i, row) in k.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = self.p[i][0] * si[0][j] + self.p[i][1] * si[1][j];
            }
        }
        for (i, row) in k.iter().enumerate() {
            self.x[i] += row[0] * y[0] + row[1] * y[1];
        }
        // P = (I − K H) P: row i loses K[i]·(rows 0 and 1 of P).
        let p = self.p;
        self.p = std::array::from_fn(|i| {
            std::array::from_fn(|j| p[i][j] - (k[i][0] * p[0][j] + k[i][1] * p[1][j]))
        });
        self.symmetrize();
        true
    }

    /// Speed-magnitude update (Doppler, device speed); `false` when it fails the gate.
    fn update_speed(&mut self, speed: f64, var: f64) -> bool {
        let h_speed = self.speed();
        if h_speed >= 1.0 {
            self.heading = Some((self.x[2] / h_speed, self.x[3] / h_speed));
        }
        // Along the current direction of travel. At a standstill the direction is unknown:
        // "standing" readings pull both components to zero; "moving" readings are taken along
        // the last heading (with the velocity uncertainty widened, as it is a guess), or left
        // to the positions when there is no heading yet.
        let h: [f64; 4] = if h_speed >= 0.3 {
            [0.0, 0.0, self.x[2] / h_speed, self.x[3] / h_speed]
        } else if speed < 0.5 {
            let mut ok = true;
            for axis in 2..4 {
                let mut h = [0.0; 4];
                h[axis] = 1.0;
                ok &= self.scalar_update(&h, 0.0 - self.x[axis], var);
            }
            return ok;
        } else if let Some((u, w)) = self.heading {
            self.widen_velocity(speed * speed);
            [0.0, 0.0, u, w]
        } else {
            self.widen_velocity(speed * speed);
            return true;
        };
        let along = h[2] * self.x[2] + h[3] * self.x[3];
        self.scalar_update(&h, speed - along, var)
    }

    fn scalar_update(&mut self, h: &[f64; 4], innovation: f64, var: f64) -> bool {
        let ph: [f64; 4] = std::array::from_fn(|i| (0..4).map(|j| self.p[i][j] * h[j]).sum());
        let s = (0..4).map(|i| h[i] * ph[i]).sum::<f64>() + var;
        if !(s.is_finite() && s > 0.0) || innovation * innovation / s > GATE_CHI2_1DOF {
            return false;
        }
        let k: [f64; 4] = std::array::from_fn(|i| ph[i] / s);
        for (x, k) in self.x.iter_mut().zip(k) {
            *x += k * innovation;
        }
        // (I − K h) P = P − K (hᵀP); hᵀP = phᵀ as P is symmetric.
        let p = self.p;
        self.p = std::array::from_fn(|i| std::array::from_fn(|j| p[i][j] - k[i] * ph[j]));
        self.symmetrize();
        true
    }

    /// How far a speed reading is from the prediction, in standard deviations (0 when the
    /// direction of travel is not known yet).
    fn normalized_speed_innovation(&self, speed: f64, var: f64) -> f64 {
        let v = self.speed();
        if v < 0.3 {
            return 0.0;
        }
        let s = self.speed_var() + var;
        if s > 0.0 { (speed - v) / s.sqrt() } else { 0.0 }
    }

    /// Adds `var` to the velocity variance along the direction of travel (both axes at a
    /// standstill): the runner changed speed more than the model expected.
    fn widen_velocity(&mut self, var: f64) {
        let v = self.speed();
        if v < 0.3 {
            self.p[2][2] += var;
            self.p[3][3] += var;
            return;
        }
        let (u, w) = (self.x[2] / v, self.x[3] / v);
        // The position predicted at the old speed is off along the track too (by about the
        // speed change times a second): let the next fix correct it there, rather than
        // through a velocity kick backwards.
        for base in [0, 2] {
            self.p[base][base] += var * u * u;
            self.p[base][base + 1] += var * u * w;
            self.p[base + 1][base] += var * u * w;
            self.p[base + 1][base + 1] += var * w * w;
        }
    }

    fn symmetrize(&mut self) {
        for i in 0..4 {
            for j in (i + 1)..4 {
                let m = (self.p[i][j] + self.p[j][i]) / 2.0;
                self.p[i][j] = m;
                self.p[j][i] = m;
            }
        }
    }

    fn speed(&self) -> f64 {
        // Plain sqrt, not hypot: speeds cannot overflow, and libm's hypot was a tenth of the
        // engine's time per sample.
        (self.x[2] * self.x[2] + self.x[3] * self.x[3]).sqrt()
    }

    /// Variance of the speed along the direction of travel (or the mean of both axes when
    /// standing still).
    fn speed_var(&self) -> f64 {
        let v = self.speed();
        if v < 0.3 {
            return (self.p[2][2] + self.p[3][3]) / 2.0;
        }
        let (u, w) = (self.x[2] / v, self.x[3] / v);
        u * u * self.p[2][2] + 2.0 * u * w * self.p[2][3] + w * w * self.p[3][3]
    }
}

/// Pace and distance from fixes, device speed and cadence.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceEstimator {
    frame: Option<LocalFrame>,
    kalman: Option<Kalman>,
    /// Last accepted fix: time, local position, accuracy.
    last_fix: Option<(u64, (f64, f64), f64)>,
    last_fix_seen_ms: Option<u64>,
    rejects_in_a_row: u32,
    /// Normalised innovation of the last speed reading, for manoeuvre detection.
    last_speed_innovation: f64,
    distance_m: f64,
    /// Speed used for distance at the last accepted fix.
    last_speed_mps: f64,
    counts: FixCounts,
    device_speed: Option<DeviceSpeedReading>,
    cadence: Option<CadenceReading>,
    stride_m: f64,
    /// Last time distance was integrated from a fallback source.
    fallback_integrated_ms: Option<u64>,
    /// Whether fallback distance was counted during the current GPS gap.
    gap_bridged_by_fallback: bool,
    /// Distance does not count while the timer is stopped.
    paused: bool,
    /// Running mean of the interval between fixes, ms.
    usual_interval_ms: f64,
    /// The raw readings of the last two minutes, for [`PaceEstimate::recent`].
    recent: RecentFixes,
    /// The smoothed direction of travel the recent windows measure distance along.
    direction: Direction,
    /// The newest Doppler reading of an accepted fix.
    doppler_reading: Option<SpeedReading>,
    /// After a loss, until [`REACQUIRE_MIN_FIXES`] fixes have come: (lost since, fixes back).
    reacquiring: Option<(u64, u32)>,
    /// The first fix after the latest loss.
    reacquired_at_ms: Option<u64>,
    /// With positions alone, when the filter starts again after a re-acquisition.
    settle_restart_at_ms: Option<u64>,
    /// Counts the changes of state: an estimate asked for again at the same instant and the
    /// same generation is the same estimate (see [`Self::generation`]).
    generation: u64,
}

/// The direction of travel for [`RecentFixes`]: a vector average of the filter's velocity over
/// about ten seconds, used two fixes late. A direction that has seen a fix's error would bend
/// towards it and turn that error into distance (a positive bias of the order of the position
/// variance over a second's travel); two fixes late, it is independent of both ends of the step
/// it measures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Direction {
    average: (f64, f64),
    /// The average after the fix before last, and after the last fix.
    lagged: [Option<(f64, f64)>; 2],
    /// When the last velocity was learned.
    learned_ms: Option<u64>,
}

/// Weight of each second's velocity in the direction average (≈ 10 s of smoothing: with 8 m
/// of white noise the filter's own heading wobbles by ±10°, and the average's lag on a winding
/// path costs less than that wobble). Per second, not per fix: a phone fixing every 4 s
/// weighted per fix would take 40 s to follow a corner, and count the steps after it short.
const DIRECTION_AVERAGE_WEIGHT_PER_S: f64 = 0.1;
/// Below this averaged speed there is no direction of travel.
const DIRECTION_MIN_SPEED_MPS: f64 = 0.5;

impl Direction {
    /// The velocity (east, north, m/s) whose direction the newest step is measured along.
    fn for_step(&self) -> Option<(f64, f64)> {
        let (e, n) = self.lagged[0]?;
        ((e * e + n * n).sqrt() >= DIRECTION_MIN_SPEED_MPS).then_some((e, n))
    }

    fn learn(&mut self, t_ms: u64, velocity: (f64, f64)) {
        let dt_s = self.learned_ms.map_or(1.0, |last| t_ms.saturating_sub(last) as f64 / 1000.0);
        self.learned_ms = Some(t_ms);
        let weight = 1.0 - (1.0 - DIRECTION_AVERAGE_WEIGHT_PER_S).powf(dt_s);
        self.average.0 += weight * (velocity.0 - self.average.0);
        self.average.1 += weight * (velocity.1 - self.average.1);
        self.lagged = [self.lagged[1], Some(self.average)];
    }
}

impl Default for PaceEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl PaceEstimator {
    pub fn new() -> Self {
        Self {
            frame: None,
            kalman: None,
            last_fix: None,
            last_fix_seen_ms: None,
            rejects_in_a_row: 0,
            last_speed_innovation: 0.0,
            distance_m: 0.0,
            last_speed_mps: 0.0,
            counts: FixCounts::default(),
            device_speed: None,
            cadence: None,
            stride_m: DEFAULT_STRIDE_M,
            fallback_integrated_ms: None,
            gap_bridged_by_fallback: false,
            paused: false,
            usual_interval_ms: 1000.0,
            recent: RecentFixes::default(),
            direction: Direction::default(),
            doppler_reading: None,
            reacquiring: None,
            reacquired_at_ms: None,
            settle_restart_at_ms: None,
            generation: 0,
        }
    }

    /// How long without a fix before GPS counts as lost, for this device's fix rate.
    fn lost_after_ms(&self) -> u64 {
        (GPS_LOST_AFTER_MS as f64).max(LOST_AFTER_INTERVALS * self.usual_interval_ms) as u64
    }

    pub fn counts(&self) -> FixCounts {
        self.counts
    }

    /// The distance run so far, m.
    pub fn distance_m(&self) -> f64 {
        self.distance_m
    }

    /// Stride the cadence fallback uses, learned from good GPS.
    pub fn stride_m(&self) -> f64 {
        self.stride_m
    }

    /// While paused, distance does not grow (the runner walks to the shop; the run is stopped).
    pub fn set_paused(&mut self, paused: bool) {
        self.generation += 1;
        self.paused = paused;
        if paused {
            self.recent.reset();
        }
    }

    /// Takes a location fix.
    pub fn on_fix(&mut self, fix: &LocationFix) -> FixVerdict {
        self.generation += 1;
        let verdict = self.judge_fix(fix);
        let counter = match verdict {
            FixVerdict::Accepted => &mut self.counts.accepted,
            FixVerdict::Rejected(RejectReason::NotFinite) => &mut self.counts.not_finite,
            FixVerdict::Rejected(RejectReason::TimeNotForward) => &mut self.counts.time_not_forward,
            FixVerdict::Rejected(RejectReason::PoorAccuracy) => &mut self.counts.poor_accuracy,
            FixVerdict::Rejected(RejectReason::ImpossibleSpeed) => &mut self.counts.impossible_speed,
            FixVerdict::Rejected(RejectReason::Outlier) => &mut self.counts.outlier,
        };
        *counter += 1;
        verdict
    }

    fn judge_fix(&mut self, fix: &LocationFix) -> FixVerdict {
        let finite = fix.lat_deg.is_finite()
            && fix.lon_deg.is_finite()
            && fix.lat_deg.abs() <= 90.0
            && fix.lon_deg.abs() <= 180.0
            && fix.horizontal_accuracy_m.is_finite()
            && fix.horizontal_accuracy_m >= 0.0;
        if !finite {
            return FixVerdict::Rejected(RejectReason::NotFinite);
        }
        if self.last_fix_seen_ms.is_some_and(|t| fix.t_ms <= t) {
            return FixVerdict::Rejected(RejectReason::TimeNotForward);
        }
        self.last_fix_seen_ms = Some(fix.t_ms);
        if fix.horizontal_accuracy_m > MAX_ACCURACY_M {
            return FixVerdict::Rejected(RejectReason::PoorAccuracy);
        }
        let frame = *self.frame.get_or_insert_with(|| LocalFrame::new(fix.lat_deg, fix.lon_deg));
        let at = frame.to_local_m(fix.lat_deg, fix.lon_deg);
        let sigma = (fix.horizontal_accuracy_m / ACCURACY_PER_AXIS_SIGMA).max(1.0);
        let doppler =
            fix.speed_mps.filter(|v| v.is_finite() && (0.0..=MAX_RUNNING_SPEED_MPS).contains(v)).map(|v| {
                let s = fix
                    .speed_accuracy_mps
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .unwrap_or(DEFAULT_DOPPLER_SIGMA_MPS);
                (v, s)
            });

        let Some((last_t, last_at, last_acc)) = self.last_fix else {
            self.start_filter(fix.t_ms, at, sigma, doppler);
            return FixVerdict::Accepted;
        };
        let dt_s = (fix.t_ms - last_t) as f64 / 1000.0;
        let (east_m, north_m) = (at.0 - last_at.0, at.1 - last_at.1);
        let jump_m =
            ((east_m * east_m + north_m * north_m).sqrt() - last_acc - fix.horizontal_accuracy_m).max(0.0);
        if jump_m > MAX_RUNNING_SPEED_MPS * dt_s {
            return self.reject_or_restart(fix.t_ms, at, sigma, doppler, RejectReason::ImpossibleSpeed);
        }
        let gap_ms = fix.t_ms - last_t;
        let was_lost = gap_ms > self.lost_after_ms();
        if (gap_ms as f64) < MAX_USUAL_INTERVAL_MS {
            self.usual_interval_ms += INTERVAL_MEAN_WEIGHT * (gap_ms as f64 - self.usual_interval_ms);
        }
        let Some(kalman) = self.kalman.as_mut() else {
            self.start_filter(fix.t_ms, at, sigma, doppler);
            return FixVerdict::Accepted;
        };
        if was_lost {
            // The loss lasts, for the runner, from the first loss until fixes come steadily.
            let lost_since = self.reacquiring.map_or(last_t + self.lost_after_ms(), |(since, _)| since);
            self.reacquiring = Some((lost_since, 1));
            self.reacquired_at_ms = Some(fix.t_ms);
            // After a gap the old velocity says little: start again here, and bridge the
            // distance with the straight line unless a fallback already counted it.
            let straight = (at.0 - last_at.0).hypot(at.1 - last_at.1);
            if !self.gap_bridged_by_fallback && !self.paused && gap_ms <= BRIDGE_MAX_GAP_MS {
                self.distance_m += straight;
            }
            self.gap_bridged_by_fallback = false;
            self.start_filter(fix.t_ms, at, sigma, doppler);
            self.settle_restart_at_ms = doppler.is_none().then_some(fix.t_ms + REACQUIRE_SETTLE_MS);
            return FixVerdict::Accepted;
        }
        if doppler.is_some() {
            self.settle_restart_at_ms = None;
        }
        if self.settle_restart_at_ms.is_some_and(|at_ms| fix.t_ms >= at_ms) {
            // The chipset has converged: what the filter learned from its walk is not speed.
            self.settle_restart_at_ms = None;
            if !self.paused {
                self.distance_m += self.last_speed_mps * dt_s;
            }
            self.start_filter(fix.t_ms, at, sigma, doppler);
            self.count_reacquired_fix();
            return FixVerdict::Accepted;
        }
        let before = kalman.clone();
        kalman.predict(fix.t_ms);
        if !kalman.update_position(at, sigma * sigma) {
            *kalman = before;
            return self.reject_or_restart(fix.t_ms, at, sigma, doppler, RejectReason::Outlier);
        }
        if let Some((v, s)) = doppler {
            // A manoeuvre (a rep start, a stop): two speed readings in a row well outside
            // what the filter expects, on the same side. Noise does that about once in
            // 20 minutes; a real change does it at once.
            let z = kalman.normalized_speed_innovation(v, s * s);
            let same_side = z.signum() == self.last_speed_innovation.signum();
            if z.abs() > MANOEUVRE_SIGMAS && self.last_speed_innovation.abs() > MANOEUVRE_SIGMAS && same_side
            {
                kalman.widen_velocity((v - kalman.speed()).powi(2));
            }
            self.last_speed_innovation = z;
            kalman.update_speed(v, s * s);
        }
        let speed = kalman.speed();
        let speed_sigma = kalman.speed_var().max(0.0).sqrt();
        let velocity = (kalman.x[2], kalman.x[3]);
        self.push_recent(fix.t_ms, at, sigma * sigma, doppler, Some(velocity));
        if !self.paused {
            self.distance_m += (self.last_speed_mps + speed) / 2.0 * dt_s;
        }
        self.last_speed_mps = speed;
        self.last_fix = Some((fix.t_ms, at, fix.horizontal_accuracy_m));
        self.rejects_in_a_row = 0;
        self.gap_bridged_by_fallback = false;
        self.fallback_integrated_ms = None;
        self.learn_stride(fix.t_ms, speed, speed_sigma);
        self.count_reacquired_fix();
        FixVerdict::Accepted
    }

    /// One more fix after a loss; enough of them and GPS is back.
    fn count_reacquired_fix(&mut self) {
        if let Some((since, fixes)) = self.reacquiring {
            self.reacquiring = (fixes + 1 < REACQUIRE_MIN_FIXES).then_some((since, fixes + 1));
        }
    }

    fn start_filter(&mut self, t_ms: u64, at: (f64, f64), sigma: f64, doppler: Option<(f64, f64)>) {
        // A runner coming out of a tunnel keeps going the way they went in: start from the
        // old heading and the new speed reading when there are both. Otherwise the direction
        // is unknown: a wide velocity prior, and positions find the direction in seconds.
        let heading = self.kalman.as_ref().and_then(|k| k.heading);
        let mut kalman = match (heading, doppler) {
            (Some((u, w)), Some((v, s))) => {
                Kalman::new(t_ms, at, sigma * sigma, (u * v, w * v), s * s + HEADING_RESTART_VAR_MPS2)
            }
            _ => {
                let velocity_var = doppler.map_or(9.0, |(v, s)| (v * v).max(s * s) + 1.0);
                Kalman::new(t_ms, at, sigma * sigma, (0.0, 0.0), velocity_var)
            }
        };
        kalman.heading = heading;
        self.kalman = Some(kalman);
        self.recent.reset();
        self.direction = Direction::default();
        self.push_recent(t_ms, at, sigma * sigma, doppler, None);
        self.last_speed_mps = doppler.map_or(self.last_speed_mps, |(v, _)| v);
        self.last_fix = Some((t_ms, at, sigma * ACCURACY_PER_AXIS_SIGMA));
        self.rejects_in_a_row = 0;
        self.fallback_integrated_ms = None;
    }

    /// Hands an accepted fix to the recent windows; `velocity` is the filter's after it.
    fn push_recent(
        &mut self,
        t_ms: u64,
        at: (f64, f64),
        position_var_m2: f64,
        doppler: Option<(f64, f64)>,
        velocity: Option<(f64, f64)>,
    ) {
        // A fix with no direction yet (the first after a restart) is taken along its step:
        // noise then adds distance, but only for the first couple of seconds.
        self.recent.push(t_ms, at, position_var_m2, self.direction.for_step(), doppler);
        self.doppler_reading =
            doppler.map(|(speed_mps, sigma_mps)| SpeedReading { t_ms, speed_mps, sigma_mps });
        if let Some(velocity) = velocity {
            self.direction.learn(t_ms, velocity);
        }
    }

    fn reject_or_restart(
        &mut self,
        t_ms: u64,
        at: (f64, f64),
        sigma: f64,
        doppler: Option<(f64, f64)>,
        reason: RejectReason,
    ) -> FixVerdict {
        self.rejects_in_a_row += 1;
        if self.rejects_in_a_row > RESET_AFTER_REJECTS {
            // Several fixes agree with each other and not with us: we were the outlier. The
            // runner kept running meanwhile: count that stretch at the speed they had.
            if let Some((last_t, ..)) = self.last_fix
                && !self.paused
            {
                let now_speed = doppler.map_or(self.last_speed_mps, |(v, _)| v);
                self.distance_m += (self.last_speed_mps + now_speed) / 2.0 * (t_ms - last_t) as f64 / 1000.0;
            }
            self.start_filter(t_ms, at, sigma, doppler);
            self.count_reacquired_fix();
            return FixVerdict::Accepted;
        }
        FixVerdict::Rejected(reason)
    }

    fn learn_stride(&mut self, t_ms: u64, speed: f64, speed_sigma: f64) {
        let Some(cadence) = self.cadence.filter(|c| t_ms.saturating_sub(c.t_ms) <= FALLBACK_FRESH_MS) else {
            return;
        };
        if speed_sigma > STRIDE_LEARN_MAX_SIGMA_MPS || cadence.spm < MIN_RUNNING_CADENCE_SPM || speed < 1.5 {
            return;
        }
        let stride = speed / (cadence.spm / 60.0);
        if (0.4..2.5).contains(&stride) {
            self.stride_m += STRIDE_LEARN_WEIGHT * (stride - self.stride_m);
        }
    }

    /// Takes a treadmill or footpod speed.
    pub fn on_device_speed(&mut self, reading: &DeviceSpeedReading) {
        if reading.speed_mps.is_finite()
            && (0.0..=MAX_RUNNING_SPEED_MPS).contains(&reading.speed_mps)
            && self.device_speed.is_none_or(|d| reading.t_ms > d.t_ms)
        {
            self.generation += 1;
            self.device_speed = Some(*reading);
        }
    }

    /// Takes a cadence reading.
    pub fn on_cadence(&mut self, reading: &CadenceReading) {
        if reading.spm.is_finite()
            && (0.0..=300.0).contains(&reading.spm)
            && self.cadence.is_none_or(|c| reading.t_ms > c.t_ms)
        {
            self.generation += 1;
            self.cadence = Some(*reading);
        }
    }

    /// The GPS state at `t_ms`.
    pub fn gps_status(&self, t_ms: u64) -> GpsStatus {
        match (self.last_fix, self.reacquiring) {
            (None, _) => GpsStatus::Waiting,
            (Some((t, ..)), reacquiring) if self.no_fix_for(t, t_ms) => {
                GpsStatus::Lost { since_ms: reacquiring.map_or(t + self.lost_after_ms(), |(since, _)| since) }
            }
            (Some(_), Some((lost_since_ms, _))) => GpsStatus::Returning { lost_since_ms },
            (Some(_), None) => GpsStatus::Good,
        }
    }

    /// Whether no fix has come since the one at `last_t` for long enough to call GPS lost.
    fn no_fix_for(&self, last_t: u64, t_ms: u64) -> bool {
        t_ms.saturating_sub(last_t) > self.lost_after_ms()
    }

    /// A speed from the fallbacks (device speed first, then cadence), with its σ.
    fn fallback_speed(&self, t_ms: u64) -> Option<(f64, f64, SpeedSource)> {
        let fresh = |t: u64| t_ms.saturating_sub(t) <= FALLBACK_FRESH_MS && t <= t_ms;
        if let Some(d) = self.device_speed.filter(|d| fresh(d.t_ms)) {
            return Some((d.speed_mps, DEVICE_SPEED_SIGMA_MPS, SpeedSource::Device));
        }
        let c = self.cadence.filter(|c| fresh(c.t_ms) && c.spm >= MIN_RUNNING_CADENCE_SPM)?;
        let speed = c.spm / 60.0 * self.stride_m;
        Some((speed, speed * CADENCE_SPEED_SIGMA_SHARE, SpeedSource::Cadence))
    }

    /// Moves the clock to `t_ms` without a fix: while GPS is lost, distance grows from a
    /// fallback speed if there is one. Call it on every tick.
    pub fn on_tick(&mut self, t_ms: u64) {
        // Fixes are coming (even the few after a loss, which carry distance themselves).
        if self.last_fix.is_some_and(|(t, ..)| !self.no_fix_for(t, t_ms)) {
            return;
        }
        self.generation += 1;
        let Some((speed, _, _)) = self.fallback_speed(t_ms) else {
            self.fallback_integrated_ms = None;
            return;
        };
        if let Some(from) = self.fallback_integrated_ms.filter(|from| t_ms > *from)
            && !self.paused
        {
            self.distance_m += speed * (t_ms - from) as f64 / 1000.0;
            self.gap_bridged_by_fallback = true;
        }
        if self.fallback_integrated_ms.is_none_or(|from| t_ms > from) {
            self.fallback_integrated_ms = Some(t_ms);
        }
    }

    /// The runner's pace is expected to change at `t_ms` (a step of the plan starts): the
    /// spoken pace forgets the readings before it rather than wait to see the change (see
    /// [`super::recent::RecentFixes::pace_may_change`]).
    pub fn pace_may_change(&mut self, t_ms: u64) {
        self.recent.pace_may_change(t_ms);
        self.generation += 1;
    }

    /// Changes with every change of state (a fix, a reading, a pause, distance from a
    /// fallback): a caller may keep an estimate for as long as the instant and this stay the
    /// same.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The estimate at `t_ms`.
    pub fn estimate(&self, t_ms: u64) -> PaceEstimate {
        let gps = self.gps_status(t_ms);
        let unknown = |source| PaceEstimate {
            at_ms: t_ms,
            speed_mps: None,
            speed_sigma_mps: f64::INFINITY,
            confidence: 0.0,
            distance_m: self.distance_m,
            gps,
            source,
            recent: None,
            reading: None,
            reacquired_at_ms: self.reacquired_at_ms,
        };
        let from_gps = match (gps, &self.kalman) {
            (GpsStatus::Good, Some(kalman)) => {
                let mut k = kalman.clone();
                k.predict(t_ms);
                Some((k.speed(), k.speed_var().max(0.0).sqrt(), SpeedSource::Gps))
            }
            _ => None,
        };
        let best = from_gps
            .filter(|(_, sigma, _)| *sigma <= UNKNOWN_ABOVE_SIGMA_MPS)
            .or_else(|| self.fallback_speed(t_ms));
        let Some((speed, sigma, source)) = best else {
            return unknown(SpeedSource::None);
        };
        if sigma > UNKNOWN_ABOVE_SIGMA_MPS {
            return unknown(source);
        }
        PaceEstimate {
            at_ms: t_ms,
            speed_mps: Some(speed),
            speed_sigma_mps: sigma,
            confidence: 1.0 / (1.0 + (sigma / HALF_CONFIDENCE_SIGMA_MPS).powi(2)),
            distance_m: self.distance_m,
            gps,
            source,
            recent: if source == SpeedSource::Gps { self.recent.recent_speed() } else { None },
            reading: match source {
                SpeedSource::Gps => self.doppler_reading,
                SpeedSource::Device => self.device_speed.map(|d| SpeedReading {
                    t_ms: d.t_ms,
                    speed_mps: d.speed_mps,
                    sigma_mps: DEVICE_SPEED_SIGMA_MPS,
                }),
                SpeedSource::Cadence | SpeedSource::None => None,
            },
            reacquired_at_ms: self.reacquired_at_ms,
        }
    }
}

#[cfg(test)]
mod tests;

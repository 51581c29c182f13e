//! The estimator on synthetic straight-line runs with known truth.

use proptest::prelude::*;

use super::*;

/// A small deterministic noise source for tests (xorshift64* and Box–Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const LAT0: f64 = 52.0;
const LON0: f64 = 13.0;

/// A fix `east_m` metres east of the origin, with noise.
fn fix(t_ms: u64, east_m: f64, sigma_m: f64, speed: Option<f64>, noise: &mut Noise) -> LocationFix {
    let e = east_m + sigma_m * noise.gauss();
    let n = sigma_m * noise.gauss();
    LocationFix {
        t_ms,
        lat_deg: LAT0 + (n / super::super::geo::EARTH_RADIUS_M).to_degrees(),
        lon_deg: LON0 + (e / (super::super::geo::EARTH_RADIUS_M * LAT0.to_radians().cos())).to_degrees(),
        horizontal_accuracy_m: (sigma_m * ACCURACY_PER_AXIS_SIGMA).max(3.0),
        speed_mps: speed.map(|v| v + 0.2 * noise.gauss()),
        speed_accuracy_mps: speed.map(|_| 0.2),
        altitude_m: None,
    }
}

/// Runs `seconds` at `speed` with 1 Hz fixes; returns (squared errors after settling, final estimate).
fn steady(speed: f64, sigma_m: f64, doppler: bool, seconds: u64) -> (Vec<f64>, PaceEstimate) {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut est = PaceEstimator::new();
    let mut errors = Vec::new();
    for s in 0..=seconds {
        let t = s * 1000;
        est.on_fix(&fix(t, speed * s as f64, sigma_m, doppler.then_some(speed), &mut noise));
        let e = est.estimate(t);
        if s >= 30 {
            errors.push((e.speed_mps.expect("known") - speed).powi(2));
        }
    }
    (errors, est.estimate(seconds * 1000))
}

fn rmse(errors: &[f64]) -> f64 {
    (errors.iter().sum::<f64>() / errors.len() as f64).sqrt()
}

#[test]
fn steady_speed_from_positions_alone() {
    let (errors, last) = steady(3.5, 3.0, false, 600);
    assert!(rmse(&errors) < 0.25, "rmse {}", rmse(&errors));
    assert!((last.distance_m - 2100.0).abs() < 0.03 * 2100.0, "distance {}", last.distance_m);
    assert_eq!(last.gps, GpsStatus::Good);
    assert_eq!(last.source, SpeedSource::Gps);
}

#[test]
fn doppler_makes_it_much_better() {
    let (without, _) = steady(3.5, 5.0, false, 600);
    let (with, last) = steady(3.5, 5.0, true, 600);
    assert!(rmse(&with) < 0.12, "rmse with Doppler {}", rmse(&with));
    assert!(rmse(&with) < 0.7 * rmse(&without), "{} vs {}", rmse(&with), rmse(&without));
    // |v| of a noisy velocity vector runs a little long (by σ²/2v across the track).
    assert!((last.distance_m - 2100.0).abs() < 0.015 * 2100.0, "distance {}", last.distance_m);
    assert!(last.confidence > 0.7, "confidence {}", last.confidence);
}

#[test]
fn a_rep_start_shows_within_seconds() {
    let mut noise = Noise(21);
    let mut est = PaceEstimator::new();
    let (easy, fast) = (2.8, 3.6);
    let mut east = 0.0;
    let mut seen_after = None;
    for s in 0..=240u64 {
        let v = if s < 120 { easy } else { fast };
        east += v;
        est.on_fix(&fix(s * 1000, east, 4.0, Some(v), &mut noise));
        let speed = est.estimate(s * 1000).speed_mps.unwrap_or(0.0);
        if s >= 120 && seen_after.is_none() && speed > easy + 0.9 * (fast - easy) {
            seen_after = Some(s - 120);
        }
    }
    let seen_after = seen_after.expect("the new speed shows");
    assert!(seen_after <= 8, "took {seen_after} s");
}

#[test]
fn bad_fixes_are_rejected_with_a_reason() {
    let mut noise = Noise(7);
    let mut est = PaceEstimator::new();
    for s in 0..60u64 {
        est.on_fix(&fix(s * 1000, 3.0 * s as f64, 2.0, Some(3.0), &mut noise));
    }
    let before = est.estimate(59_000);
    let jump = fix(60_000, 3.0 * 60.0 + 400.0, 0.0, Some(3.0), &mut noise);
    assert_eq!(est.on_fix(&jump), FixVerdict::Rejected(RejectReason::ImpossibleSpeed));
    let mut nan = fix(61_000, 183.0, 0.0, None, &mut noise);
    nan.lat_deg = f64::NAN;
    assert_eq!(est.on_fix(&nan), FixVerdict::Rejected(RejectReason::NotFinite));
    let old = fix(30_000, 90.0, 0.0, None, &mut noise);
    assert_eq!(est.on_fix(&old), FixVerdict::Rejected(RejectReason::TimeNotForward));
    let mut vague = fix(62_000, 186.0, 0.0, None, &mut noise);
    vague.horizontal_accuracy_m = 65.0;
    assert_eq!(est.on_fix(&vague), FixVerdict::Rejected(RejectReason::PoorAccuracy));
    let after = est.estimate(62_000);
    assert!((after.speed_mps.expect("known") - 3.0).abs() < 0.3, "{after:?}");
    assert!(after.distance_m - before.distance_m < 10.0, "a jump adds no distance");
    let counts = est.counts();
    assert_eq!(
        (counts.impossible_speed, counts.not_finite, counts.time_not_forward, counts.poor_accuracy),
        (1, 1, 1, 1)
    );
}

#[test]
fn gps_loss_gives_unknown_pace_and_the_gap_is_bridged() {
    let mut noise = Noise(11);
    let mut est = PaceEstimator::new();
    let speed = 3.2;
    for s in (0..=120u64).chain(160..=240) {
        est.on_fix(&fix(s * 1000, speed * s as f64, 3.0, Some(speed), &mut noise));
        if s == 120 {
            for quiet in 121..160u64 {
                est.on_tick(quiet * 1000);
            }
            let lost = est.estimate(140_000);
            assert_eq!(lost.speed_mps, None, "no guessing while GPS is lost");
            assert_eq!(lost.gps, GpsStatus::Lost { since_ms: 126_000 });
        }
    }
    let end = est.estimate(240_000);
    assert_eq!(end.gps, GpsStatus::Good);
    assert!((end.distance_m - speed * 240.0).abs() < 0.02 * speed * 240.0, "distance {}", end.distance_m);
}

#[test]
fn a_lone_fix_between_dropouts_does_not_end_the_loss() {
    let mut noise = Noise(12);
    let mut est = PaceEstimator::new();
    let speed = 3.0;
    // 60 s of fixes, 40 s of nothing, one fix, 46 s of nothing, then fixes again.
    for s in (0..=60u64).chain([100]).chain(146..=200) {
        est.on_fix(&fix(s * 1000, speed * s as f64, 3.0, None, &mut noise));
        let status = est.gps_status(s * 1000);
        match s {
            100 => assert_eq!(status, GpsStatus::Returning { lost_since_ms: 66_000 }),
            // The second loss is the same loss for the runner; the track is back after three
            // fixes in a row.
            146 | 147 => assert_eq!(status, GpsStatus::Returning { lost_since_ms: 66_000 }),
            148 => assert_eq!(status, GpsStatus::Good),
            _ => {}
        }
        if (146..=147).contains(&s) {
            assert_eq!(est.estimate(s * 1000).speed_mps, None, "no speed from the first fixes back");
        }
    }
    assert_eq!(est.estimate(200_000).reacquired_at_ms, Some(146_000));
}

#[test]
fn the_walk_of_fixes_after_a_gap_is_not_taken_for_speed() {
    let mut noise = Noise(13);
    let mut est = PaceEstimator::new();
    let speed = 3.0;
    // 120 s of fixes, 40 s of nothing; the first fix back is 30 m north, walking in over ~5 s
    // (a chipset re-converging), positions only.
    for s in (0..=120u64).chain(160..=200) {
        let jump_m = if s >= 160 { 30.0 * (-((s - 160) as f64) / 5.0).exp() } else { 0.0 };
        let mut f = fix(s * 1000, speed * s as f64, 1.0, None, &mut noise);
        f.lat_deg += (jump_m / super::super::geo::EARTH_RADIUS_M).to_degrees();
        est.on_fix(&f);
        if s == 181 {
            // The walk ran north at up to 6 m/s; the filter that took it for speed started
            // again at 175 s, and has the runner's speed back (kept, it still read 7 % fast).
            let v = est.estimate(s * 1000).speed_mps.expect("known");
            assert!((v - speed).abs() < 0.12, "{v}");
        }
    }
}

#[test]
fn treadmill_speed_without_gps() {
    let mut est = PaceEstimator::new();
    for s in 0..=300u64 {
        est.on_device_speed(&DeviceSpeedReading { t_ms: s * 1000, speed_mps: 3.0 });
        est.on_tick(s * 1000);
    }
    let e = est.estimate(300_000);
    assert_eq!(e.source, SpeedSource::Device);
    assert_eq!(e.speed_mps, Some(3.0));
    assert!((e.distance_m - 900.0).abs() < 1.0, "{}", e.distance_m);
    assert_eq!(e.gps, GpsStatus::Waiting);
}

#[test]
fn cadence_carries_pace_through_a_tunnel() {
    let mut noise = Noise(5);
    let mut est = PaceEstimator::new();
    let speed = 3.3;
    let spm = 170.0;
    for s in 0..=900u64 {
        est.on_cadence(&CadenceReading { t_ms: s * 1000, spm });
        if !(600..700).contains(&s) {
            est.on_fix(&fix(s * 1000, speed * s as f64, 3.0, Some(speed), &mut noise));
        }
        est.on_tick(s * 1000);
        if s == 650 {
            let e = est.estimate(650_000);
            assert_eq!(e.source, SpeedSource::Cadence);
            let v = e.speed_mps.expect("cadence speed");
            assert!((v - speed).abs() < 0.1 * speed, "cadence speed {v}");
        }
    }
    assert!((est.stride_m() - speed / (spm / 60.0)).abs() < 0.05, "stride {}", est.stride_m());
    let d = est.estimate(900_000).distance_m;
    assert!((d - speed * 900.0).abs() < 0.02 * speed * 900.0, "distance {d}");
}

#[test]
fn paused_distance_does_not_count() {
    let mut noise = Noise(3);
    let mut est = PaceEstimator::new();
    for s in 0..=200u64 {
        est.set_paused((100..150).contains(&s));
        est.on_fix(&fix(s * 1000, 3.0 * s as f64, 1.0, Some(3.0), &mut noise));
    }
    let d = est.estimate(200_000).distance_m;
    assert!((d - 3.0 * 150.0).abs() < 15.0, "distance {d}");
}

proptest! {
    #[test]
    fn arbitrary_fixes_never_panic_or_give_non_finite_estimates(
        fixes in proptest::collection::vec(
            (0u64..3000, -1.0f64..1.0, -1.0f64..1.0, prop_oneof![Just(f64::NAN), 0.0f64..100.0, Just(f64::INFINITY)],
             proptest::option::of(prop_oneof![Just(f64::NAN), -5.0f64..50.0]), any::<bool>()),
            0..200)
    ) {
        let mut est = PaceEstimator::new();
        let mut t = 0u64;
        for (dt, dlat, dlon, acc, speed, backwards) in fixes {
            t = if backwards { t.saturating_sub(dt) } else { t + dt };
            est.on_fix(&LocationFix {
                t_ms: t,
                lat_deg: LAT0 + dlat * 0.01,
                lon_deg: LON0 + dlon * 0.01,
                horizontal_accuracy_m: acc,
                speed_mps: speed,
                speed_accuracy_mps: None,
                altitude_m: None,
            });
            est.on_tick(t);
            let e = est.estimate(t);
            prop_assert!(e.distance_m.is_finite() && e.distance_m >= 0.0);
            if let Some(v) = e.speed_mps {
                prop_assert!(v.is_finite() && v >= 0.0);
                prop_assert!(e.confidence.is_finite());
            }
        }
    }
}

/// A fix at (`east_m`, `north_m`) with white noise of `sigma_m` and no Doppler, every few
/// seconds as phones' recordings often are.
fn fix_at(t_ms: u64, (east_m, north_m): (f64, f64), sigma_m: f64, noise: &mut Noise) -> LocationFix {
    let (e, n) = (east_m + sigma_m * noise.gauss(), north_m + sigma_m * noise.gauss());
    LocationFix {
        t_ms,
        lat_deg: LAT0 + (n / super::super::geo::EARTH_RADIUS_M).to_degrees(),
        lon_deg: LON0 + (e / (super::super::geo::EARTH_RADIUS_M * LAT0.to_radians().cos())).to_degrees(),
        horizontal_accuracy_m: 5.0,
        speed_mps: None,
        speed_accuracy_mps: None,
        altitude_m: None,
    }
}

#[test]
fn a_corner_between_sparse_fixes_is_not_taken_for_a_slowdown() {
    // East at 3 m/s for 3 minutes, then a right-angle turn north; fixes every 4 s (a phone
    // recording GPX), 0.5 m of white noise. The windows that take in the corner read the
    // runner's speed: a direction of travel averaged per fix (40 s at this rate) and steps
    // counted along it alone read 2.3 m/s here, and "pick it up" followed.
    let mut noise = Noise(7);
    let mut est = PaceEstimator::new();
    let speed = 3.0;
    let at = |s: u64| {
        let s = s as f64;
        if s <= 180.0 { (speed * s, 0.0) } else { (speed * 180.0, speed * (s - 180.0)) }
    };
    let mut slowest = f64::INFINITY;
    for s in (0..=260u64).step_by(4) {
        est.on_fix(&fix_at(s * 1000, at(s), 0.5, &mut noise));
        if s > 180 {
            let windows = est.estimate(s * 1000).recent.expect("windows").windows;
            for w in windows.iter().take(3).flatten() {
                slowest = slowest.min(w.speed_mps);
            }
        }
    }
    assert!(slowest > 0.93 * speed, "a window read {slowest:.2} m/s round the corner");
}

#[test]
fn the_direction_of_travel_turns_in_seconds_however_sparse_the_fixes() {
    // A right-angle turn with fixes every 4 s: 20 s later the direction steps are measured
    // along has turned most of the way (weighted per fix it would still point 35° off east).
    let mut direction = Direction::default();
    for s in (0..=180u64).step_by(4) {
        direction.learn(s * 1000, (3.0, 0.0));
    }
    for s in (184..=200u64).step_by(4) {
        direction.learn(s * 1000, (0.0, 3.0));
    }
    let (east, north) = direction.for_step().expect("moving");
    let turned_deg = north.atan2(east).to_degrees();
    assert!(turned_deg > 60.0, "turned {turned_deg:.0}°");
}

//! The run simulator: a runner following a plan, recorded by a phone, with the ground truth
//! kept beside the recording. Tests, benchmarks and the demo use it instead of shipping
//! recordings (real ones live in ../shared/corpus and are never copied into the project).
//!
//! What it models, and why:
//! - the runner aims for each step's target (pace band, HR zone or range, effort) with a few
//!   seconds to change speed and a slow wobble around the intent, as real runners do;
//! - heart rate follows speed with first-order lag (slower down than up) and cardiac drift;
//! - phone GPS error is mostly *correlated* (a slowly wandering offset, as chipset filters
//!   produce) plus a little white noise; Doppler speed is much better than positions;
//! - GPS dropouts (tunnels, bridges) remove fixes but not heart rate; stops (traffic lights)
//!   stop the timer, which the recording shows as pauses.
//!
//! Deterministic: the same plan and config give the same run, bit for bit (ChaCha8 from a seed).

use chrono::{DateTime, Utc};
use pacenote_core::plan::{Plan, StepEnd, StepKind, Target};
use pacenote_core::progress::PlanProgress;
use pacenote_core::signal::grade::speed_factor;
use pacenote_core::units::SecondsPerKm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::recording::{EARTH_RADIUS_M, Format, Lap, Pause, Position, Recording, Sample};

/// A re-acquisition jump fades with this time constant (s): phones' first fixes after a gap
/// converge over several seconds.
pub const REACQUIRE_JUMP_SETTLE_S: f64 = 5.0;
/// Seconds a runner takes to settle on a new speed (first-order time constant).
const SPEED_RESPONSE_S: f64 = 3.0;
/// Correlation time of the runner's speed wobble: surges and lulls last tens of seconds.
const WOBBLE_CORRELATION_S: f64 = 20.0;
/// HR rises towards its steady state with this time constant and falls more slowly; phase-2
/// HR kinetics at moderate intensity run 20–40 s (Hagberg et al., J Appl Physiol 1978).
const HR_RISE_S: f64 = 25.0;
const HR_FALL_S: f64 = 40.0;
/// Cardiac drift: HR creeps up about 5–10 bpm an hour at steady pace (Coyle & González-Alonso,
/// Exerc Sport Sci Rev 2001); this is the middle of that.
const HR_DRIFT_BPM_PER_MIN: f64 = 0.12;
/// Share of heart-rate reserve at threshold speed (about 88 % HRR at lactate threshold).
const HRR_AT_THRESHOLD: f64 = 0.88;
/// Change in share of HRR per unit of speed relative to threshold speed.
const HRR_PER_RELATIVE_SPEED: f64 = 1.05;
/// Standing still after running, HR stays above resting: about 20 % of reserve.
const HRR_STANDING: f64 = 0.2;
/// Karvonen zone bounds as shares of heart-rate reserve: Z1 50–60 % … Z5 90–100 %.
const ZONE_HRR: [(f64, f64); 5] = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)];
/// Walking speed for rest steps.
const WALK_SPEED_MPS: f64 = 1.4;
/// Recovery jogs run this share of easy speed.
const RECOVERY_SHARE_OF_EASY: f64 = 0.9;
/// How long a runner stays in an open (until-lap) step before pressing lap.
const OPEN_STEP_S: f64 = 300.0;
/// A simulated run never lasts longer than this, whatever the plan says.
const MAX_RUN_S: f64 = 8.0 * 3600.0;
/// Reported accuracy is this multiple of the true error's σ (phones report a rough 68 % radius).
const ACCURACY_PER_SIGMA: f64 = 1.2;

/// How the simulated runner runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerModel {
    pub easy_pace: SecondsPerKm,
    pub threshold_pace: SecondsPerKm,
    pub resting_hr_bpm: f64,
    pub max_hr_bpm: f64,
    /// Wobble of speed around intent, as a share of speed (1 σ).
    pub speed_wobble: f64,
}

impl Default for RunnerModel {
    fn default() -> Self {
        Self {
            easy_pace: SecondsPerKm(360.0),
            threshold_pace: SecondsPerKm(280.0),
            resting_hr_bpm: 52.0,
            max_hr_bpm: 188.0,
            speed_wobble: 0.025,
        }
    }
}

/// How the simulated phone records position and speed.
#[derive(Debug, Clone, PartialEq)]
pub struct GpsModel {
    pub interval_ms: u64,
    /// σ of the slowly wandering part of the position error, per axis.
    pub correlated_sigma_m: f64,
    pub correlation_time_s: f64,
    /// σ of the independent part of the error, per axis.
    pub white_sigma_m: f64,
    /// Whether fixes carry a Doppler speed, and its error.
    pub doppler: bool,
    pub doppler_sigma_mps: f64,
    /// Stretches of run clock (start s, length s) with no fix at all.
    pub dropouts_s: Vec<(f64, f64)>,
    /// How far off (m) the first fix after a dropout is, in a random direction, the offset
    /// fading over [`REACQUIRE_JUMP_SETTLE_S`]: a chipset re-converging after a gap
    /// (OpenTracks #1519, #1905). 0: no jump.
    pub reacquire_jump_m: f64,
    /// σ of the error of each recorded altitude (white): a barometer's is ~0.2 m, GPS
    /// altitude's several metres; 0 records the true altitude (to 0.1 m).
    pub altitude_sigma_m: f64,
}

/// Everything a simulated run depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub runner: RunnerModel,
    pub gps: GpsModel,
    /// Stops with the timer paused: (moving time s when it starts, length s).
    pub stops_s: Vec<(f64, f64)>,
    /// A hilly route, as (length m, grade) sections repeated along it; the runner holds the
    /// effort, so their speed on a grade is their flat speed over Strava's factor for it.
    /// Empty: the gently rolling default (under 1 % of grade).
    pub hills: Vec<(f64, f64)>,
    /// Whether the phone keeps recording through stops (an app that leaves pausing to its
    /// own auto-pause) rather than stopping its timer (a watch's auto-pause: a gap in the
    /// recording and a pause interval).
    pub record_through_stops: bool,
    pub start_lat_deg: f64,
    pub start_lon_deg: f64,
    pub start_time: DateTime<Utc>,
}

impl SimConfig {
    /// A modern phone in the open: 1 Hz fixes, ~4 m error wandering over ~100 s (chipset
    /// filtering makes phone error slow), 0.3 m of white noise, Doppler speed to ±0.15 m/s.
    pub fn phone(seed: u64) -> Self {
        Self {
            seed,
            runner: RunnerModel::default(),
            gps: GpsModel {
                interval_ms: 1000,
                correlated_sigma_m: 4.0,
                correlation_time_s: 100.0,
                white_sigma_m: 0.3,
                doppler: true,
                doppler_sigma_mps: 0.15,
                dropouts_s: Vec::new(),
                reacquire_jump_m: 0.0,
                altitude_sigma_m: 0.0,
            },
            stops_s: Vec::new(),
            hills: Vec::new(),
            record_through_stops: false,
            start_lat_deg: 51.5007,
            start_lon_deg: -0.1246,
            start_time: DateTime::from_timestamp(1_780_000_000, 0).unwrap_or(DateTime::UNIX_EPOCH),
        }
    }
}

/// What really happened at one instant of a simulated run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthSample {
    pub t_ms: u64,
    pub distance_m: f64,
    pub speed_mps: f64,
    pub heart_rate_bpm: f64,
    /// False while stopped with the timer paused.
    pub moving: bool,
    /// Index of the plan step being run (repeats expanded).
    pub step: usize,
}

/// A simulated run: the recording a phone would make, and the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedRun {
    pub recording: Recording,
    pub truth: Vec<TruthSample>,
}

/// Simulates a runner following `plan` until its last step ends.
pub fn simulate_plan(plan: &Plan, config: &SimConfig) -> SimulatedRun {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let runner = &config.runner;
    let gps = &config.gps;
    let dt_ms = gps.interval_ms.max(100);
    let dt = dt_ms as f64 / 1000.0;
    let threshold_speed = runner.threshold_pace.speed_mps();
    let reserve = runner.max_hr_bpm - runner.resting_hr_bpm;

    let mut progress = PlanProgress::new(plan);
    progress.start(0);
    let mut recording = Recording::new(Format::Simulated);
    recording.start_time = Some(config.start_time);
    let mut truth = Vec::new();

    let (mut t_ms, mut moving_s, mut distance_m) = (0u64, 0.0f64, 0.0f64);
    let mut speed = 0.0f64;
    let mut wobble = 0.0f64;
    let mut hr = runner.resting_hr_bpm + HRR_STANDING * reserve;
    let (mut east_m, mut north_m, mut heading) =
        (0.0f64, 0.0f64, rng.random_range(0.0..std::f64::consts::TAU));
    let mut phone = Phone::new(config, &mut rng);
    let mut step_started_s = 0.0f64;
    let mut current_step = 0usize;
    let mut lap_start_ms = 0u64;
    let mut lap_start_m = 0.0f64;
    let mut stops = config.stops_s.clone();
    stops.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut stops = stops.into_iter().peekable();
    // The phone's first fix, standing at the start.
    recording.samples.push(phone.observe(&mut rng, 0, (0.0, 0.0), 0.0, hr, 0.0));

    while !progress.is_complete() && (t_ms as f64) < MAX_RUN_S * 1000.0 {
        // A stop: the timer pauses, the runner stands, heart rate falls.
        if let Some(&(at_s, length_s)) = stops.peek()
            && moving_s >= at_s
        {
            stops.next();
            progress.pause(t_ms, distance_m);
            let start_ms = t_ms;
            let end_ms = t_ms + (length_s * 1000.0).round() as u64;
            while t_ms < end_ms {
                t_ms += dt_ms;
                hr += (runner.resting_hr_bpm + HRR_STANDING * reserve - hr) * (1.0 - (-dt / HR_FALL_S).exp());
                if config.record_through_stops && t_ms < end_ms {
                    recording.samples.push(phone.observe(
                        &mut rng,
                        t_ms,
                        (east_m, north_m),
                        0.0,
                        hr,
                        distance_m,
                    ));
                }
                truth.push(TruthSample {
                    t_ms,
                    distance_m,
                    speed_mps: 0.0,
                    heart_rate_bpm: hr,
                    moving: false,
                    step: current_step,
                });
            }
            speed = 0.0;
            if !config.record_through_stops {
                recording.pauses.push(Pause { start_ms, end_ms: t_ms });
            }
            // The timer starts again with a fix where the runner stands.
            recording.samples.push(phone.observe(&mut rng, t_ms, (east_m, north_m), 0.0, hr, distance_m));
            progress.resume(t_ms, distance_m);
        }

        let Some(step) = progress.current_step().cloned() else { break };
        if step.index != current_step {
            current_step = step.index;
            step_started_s = moving_s;
        }
        // An open step ends when the runner presses lap.
        if step.step.end == StepEnd::Open && moving_s - step_started_s >= OPEN_STEP_S {
            progress.lap(t_ms, distance_m);
            recording.laps.push(Lap {
                start_ms: lap_start_ms,
                end_ms: t_ms,
                distance_m: Some(distance_m - lap_start_m),
            });
            lap_start_ms = t_ms;
            lap_start_m = distance_m;
            continue;
        }

        // The runner's intent, then how speed, heart rate and position follow it.
        let intent = intended_speed(&step.step.kind, step.step.target.as_ref(), runner);
        speed += (intent - speed) * (1.0 - (-dt / SPEED_RESPONSE_S).exp());
        let w_decay = (-dt / WOBBLE_CORRELATION_S).exp();
        wobble = wobble * w_decay + runner.speed_wobble * (1.0 - w_decay * w_decay).sqrt() * gauss(&mut rng);
        let effort_speed = (speed * (1.0 + wobble)).max(0.0);
        let true_speed = effort_speed / grade_at(&config.hills, distance_m).map_or(1.0, speed_factor);
        let steady_hrr = (HRR_AT_THRESHOLD + HRR_PER_RELATIVE_SPEED * (true_speed / threshold_speed - 1.0))
            .clamp(HRR_STANDING, 1.0);
        let steady_hr = runner.resting_hr_bpm + steady_hrr * reserve + HR_DRIFT_BPM_PER_MIN * moving_s / 60.0;
        let tau = if steady_hr > hr { HR_RISE_S } else { HR_FALL_S };
        hr += (steady_hr - hr) * (1.0 - (-dt / tau).exp());
        hr = hr.min(runner.max_hr_bpm);

        heading += gauss(&mut rng) * 0.04;
        east_m += true_speed * dt * heading.cos();
        north_m += true_speed * dt * heading.sin();
        distance_m += true_speed * dt;
        moving_s += dt;
        t_ms += dt_ms;
        progress.update(t_ms, distance_m);

        let sample = phone.observe(&mut rng, t_ms, (east_m, north_m), true_speed, hr, distance_m);
        recording.samples.push(sample);
        truth.push(TruthSample {
            t_ms,
            distance_m,
            speed_mps: true_speed,
            heart_rate_bpm: hr,
            moving: true,
            step: current_step,
        });
    }
    SimulatedRun { recording, truth }
}

/// The phone: turns where the runner truly is into what it records.
struct Phone<'a> {
    config: &'a SimConfig,
    /// The slowly wandering part of the position error (east, north), metres.
    error_m: (f64, f64),
    /// The fading offset of the fixes after a dropout (east, north), metres, and whether the
    /// last sample was in a dropout.
    jump_m: (f64, f64),
    was_in_dropout: bool,
    last_ms: u64,
    cos_lat: f64,
}

impl<'a> Phone<'a> {
    fn new(config: &'a SimConfig, rng: &mut ChaCha8Rng) -> Self {
        let sigma = config.gps.correlated_sigma_m;
        Self {
            config,
            error_m: (gauss(rng) * sigma, gauss(rng) * sigma),
            jump_m: (0.0, 0.0),
            was_in_dropout: false,
            last_ms: 0,
            cos_lat: config.start_lat_deg.to_radians().cos().max(0.01),
        }
    }

    /// What the phone records at `t_ms` with the runner at `at_m` (east, north of the start).
    fn observe(
        &mut self,
        rng: &mut ChaCha8Rng,
        t_ms: u64,
        at_m: (f64, f64),
        true_speed: f64,
        hr: f64,
        distance_m: f64,
    ) -> Sample {
        let gps = &self.config.gps;
        let dt = (t_ms - self.last_ms) as f64 / 1000.0;
        self.last_ms = t_ms;
        let decay = (-dt / gps.correlation_time_s.max(0.001)).exp();
        let kick = gps.correlated_sigma_m * (1.0 - decay * decay).sqrt();
        self.error_m =
            (self.error_m.0 * decay + kick * gauss(rng), self.error_m.1 * decay + kick * gauss(rng));
        let t_s = t_ms as f64 / 1000.0;
        let in_dropout = gps.dropouts_s.iter().any(|(start, len)| t_s >= *start && t_s < start + len);
        let fade = (-dt / REACQUIRE_JUMP_SETTLE_S).exp();
        self.jump_m = (self.jump_m.0 * fade, self.jump_m.1 * fade);
        if self.was_in_dropout && !in_dropout && gps.reacquire_jump_m > 0.0 {
            let direction = std::f64::consts::TAU * rng.random::<f64>();
            self.jump_m = (gps.reacquire_jump_m * direction.cos(), gps.reacquire_jump_m * direction.sin());
        }
        self.was_in_dropout = in_dropout;
        let sigma = (gps.correlated_sigma_m.powi(2) + gps.white_sigma_m.powi(2)).sqrt();
        let position = if in_dropout {
            None
        } else {
            let e = at_m.0 + self.error_m.0 + self.jump_m.0 + gps.white_sigma_m * gauss(rng);
            let n = at_m.1 + self.error_m.1 + self.jump_m.1 + gps.white_sigma_m * gauss(rng);
            Some(Position {
                lat_deg: self.config.start_lat_deg + (n / EARTH_RADIUS_M).to_degrees(),
                lon_deg: self.config.start_lon_deg + (e / (EARTH_RADIUS_M * self.cos_lat)).to_degrees(),
                accuracy_m: Some(((ACCURACY_PER_SIGMA * sigma) * (1.0 + 0.15 * gauss(rng))).max(2.0).round()),
            })
        };
        let speed_mps = if gps.doppler && !in_dropout {
            Some(((true_speed + gps.doppler_sigma_mps * gauss(rng)).max(0.0) * 100.0).round() / 100.0)
        } else {
            None
        };
        let cadence = if true_speed < 2.0 { 110.0 } else { 150.0 + 8.0 * true_speed } + 1.5 * gauss(rng);
        let altitude = match altitude_at(&self.config.hills, distance_m) {
            Some(a) => a + gps.altitude_sigma_m * gauss(rng),
            None => 35.0 + 8.0 * (distance_m / 900.0).sin() + 3.0 * (distance_m / 250.0).sin(),
        };
        Sample {
            t_ms,
            position,
            speed_mps,
            heart_rate_bpm: Some((hr + gauss(rng)).round()),
            // A phone counts no steps when the runner stands still.
            cadence_spm: (true_speed >= 0.3).then(|| cadence.round()),
            altitude_m: Some((altitude * 10.0).round() / 10.0),
            distance_m: None,
        }
    }
}

/// The grade at `distance_m` along a route of repeated (length m, grade) sections.
fn grade_at(hills: &[(f64, f64)], distance_m: f64) -> Option<f64> {
    let lap: f64 = hills.iter().map(|(len, _)| len.max(0.0)).sum();
    if lap <= 0.0 {
        return None;
    }
    let mut at = distance_m.rem_euclid(lap);
    for &(len, grade) in hills {
        if at < len {
            return Some(grade);
        }
        at -= len.max(0.0);
    }
    hills.last().map(|(_, g)| *g)
}

/// The altitude at `distance_m` along such a route (100 m at the start).
fn altitude_at(hills: &[(f64, f64)], distance_m: f64) -> Option<f64> {
    let lap: f64 = hills.iter().map(|(len, _)| len.max(0.0)).sum();
    if lap <= 0.0 {
        return None;
    }
    let rise_per_lap: f64 = hills.iter().map(|(len, g)| len.max(0.0) * g).sum();
    let (laps, mut at) = ((distance_m / lap).floor(), distance_m.rem_euclid(lap));
    let mut altitude = 100.0 + laps * rise_per_lap;
    for &(len, grade) in hills {
        let step = at.min(len.max(0.0));
        altitude += step * grade;
        at -= step;
        if at <= 0.0 {
            break;
        }
    }
    Some(altitude)
}

/// The speed a runner aims for in a step.
fn intended_speed(kind: &StepKind, target: Option<&Target>, runner: &RunnerModel) -> f64 {
    let easy = runner.easy_pace.speed_mps();
    let threshold = runner.threshold_pace.speed_mps();
    let reserve = runner.max_hr_bpm - runner.resting_hr_bpm;
    let speed_for_hr = |bpm: f64| {
        let hrr = ((bpm - runner.resting_hr_bpm) / reserve).clamp(0.0, 1.0);
        (threshold * (1.0 + (hrr - HRR_AT_THRESHOLD) / HRR_PER_RELATIVE_SPEED)).max(WALK_SPEED_MPS)
    };
    match target {
        Some(Target::Pace(range)) => range.middle().speed_mps(),
        Some(Target::HrZone(zone)) => {
            let (lo, hi) = ZONE_HRR[usize::from(zone.clamp(&1, &5) - 1)];
            speed_for_hr(runner.resting_hr_bpm + (lo + hi) / 2.0 * reserve)
        }
        Some(Target::HrRange(range)) => {
            let bpm = match (range.min_bpm, range.max_bpm) {
                (Some(lo), Some(hi)) => (f64::from(lo) + f64::from(hi)) / 2.0,
                // A cap: stay a little under it.
                (None, Some(hi)) => f64::from(hi) - 8.0,
                (Some(lo), None) => f64::from(lo) + 5.0,
                (None, None) => return easy,
            };
            speed_for_hr(bpm)
        }
        Some(Target::Effort(effort)) => {
            // RPE 3 is easy running, RPE 7 threshold; linear between, on speed.
            let share = (f64::from(effort.rpe) - 3.0) / 4.0;
            (easy + share * (threshold - easy)).max(WALK_SPEED_MPS)
        }
        None => match kind {
            StepKind::Work => threshold,
            StepKind::Recovery => easy * RECOVERY_SHARE_OF_EASY,
            StepKind::Rest => WALK_SPEED_MPS,
            StepKind::Warmup | StepKind::Cooldown | StepKind::Easy => easy,
        },
    }
}

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacenote_core::BUNDLED_PLANS;

    fn intervals() -> Plan {
        Plan::from_json(BUNDLED_PLANS[1].1.as_bytes()).expect("valid")
    }

    #[test]
    fn same_seed_same_run_other_seed_other_run() {
        let plan = intervals();
        let a = simulate_plan(&plan, &SimConfig::phone(3));
        let b = simulate_plan(&plan, &SimConfig::phone(3));
        let c = simulate_plan(&plan, &SimConfig::phone(4));
        assert_eq!(a, b);
        assert_ne!(a.recording.samples, c.recording.samples);
    }

    #[test]
    fn the_runner_follows_the_plan() {
        let plan = intervals();
        let run = simulate_plan(&plan, &SimConfig::phone(1));
        let truth = &run.truth;
        let last = truth.last().expect("samples");
        // 10 min warm-up, 5 × (1 km + 2 min), 5 min open cool-down.
        assert_eq!(last.step, 11);
        let work_speeds: Vec<f64> =
            truth.iter().filter(|t| t.step % 2 == 1 && t.step < 11).map(|t| t.speed_mps).collect();
        let mean = work_speeds.iter().sum::<f64>() / work_speeds.len() as f64;
        let pace = 1000.0 / mean;
        assert!((280.0..=300.0).contains(&pace), "work pace {pace} s/km, target 4:45–4:55");
        let max_hr = truth.iter().map(|t| t.heart_rate_bpm).fold(0.0, f64::max);
        assert!((150.0..188.0).contains(&max_hr), "max HR {max_hr}");
        assert_eq!(run.recording.laps.len(), 1, "the open cool-down ends with a lap press");
    }

    #[test]
    fn gps_error_is_phone_like_and_dropouts_remove_fixes() {
        let plan = intervals();
        let mut config = SimConfig::phone(2);
        config.gps.dropouts_s.push((900.0, 40.0));
        config.stops_s.push((300.0, 30.0));
        let run = simulate_plan(&plan, &config);
        let missing = run.recording.samples.iter().filter(|s| s.position.is_none()).count();
        assert_eq!(missing, 40);
        assert_eq!(run.recording.pauses.len(), 1);
        assert_eq!(run.recording.pauses[0].duration_ms(), 30_000);
        let summary = run.recording.summary();
        let truth = run.truth.last().map_or(0.0, |t| t.distance_m);
        let error = (summary.distance_m - truth) / truth;
        // Raw fix-to-fix distance on a phone track runs a few per cent long, never short.
        assert!((0.0..0.06).contains(&error), "measured {} vs true {truth}", summary.distance_m);
    }
}

//! A recording as the engine would have seen it live: the inputs a phone or watch would have
//! fed, in run-clock order, with a tick every second between them.
//!
//! Watches and files rarely say how accurate a fix was; those fixes get the accuracy a
//! consumer GPS watch typically has in the open. The device's speed channel is fed as the
//! fix's speed (watches smooth GPS or use a footpod), or as device speed when there is no
//! position (a treadmill). Auto-laps (every whole kilometre or mile) are not lap presses.
//! A FIT file's altitude is a watch's barometric altitude (`enhanced_altitude`; every watch
//! of the corpus has a barometer) and is fed as the barometer; GPX and TCX altitude rides on
//! the fix as GPS altitude.

use pacenote_core::cue::Utterance;
use pacenote_core::engine::{EngineConfig, Input, LogRecord, RunContext, RunSession, RunSummary};
use pacenote_core::plan::{ExpandedStep, Plan};
use pacenote_core::profile::RunnerProfile;
use pacenote_core::sensor::{
    AltitudeReading, CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix,
};

use crate::recording::{Format, Recording};

/// Accuracy given to fixes whose file does not say: consumer GPS in the open sky is good to
/// about 3–5 m (68 %).
pub const DEFAULT_FIX_ACCURACY_M: f64 = 5.0;
/// Ticks between inputs, as a host's timer would (DESIGN §2: ~1–4 Hz).
pub const TICK_MS: u64 = 1000;
/// Through a silence (no sample) ticks go on for this long (ms), then stop until the next
/// sample: a long pause in a file costs no input per second of it.
pub const TICKS_INTO_SILENCE_MS: u64 = 10 * 60 * 1000;
/// A lap whose distance is within this share of a whole kilometre or mile was set by auto-lap.
const AUTO_LAP_TOLERANCE: f64 = 0.02;
const METRES_PER_MILE: f64 = 1609.344;

/// The inputs of a whole recording, ending with `Finish` just after the last sample.
pub fn to_inputs(recording: &Recording) -> Vec<Input> {
    let mut timed: Vec<(u64, u8, Input)> = Vec::new();
    // (time, order within the same millisecond, input): pause/resume and laps after the
    // samples of their instant, ticks last.
    timed.push((0, 0, Input::Start { t_ms: 0 }));
    let barometric = recording.format == Format::Fit;
    for s in &recording.samples {
        let t = s.t_ms;
        if let Some(p) = s.position {
            timed.push((
                t,
                1,
                Input::Fix(LocationFix {
                    t_ms: t,
                    lat_deg: p.lat_deg,
                    lon_deg: p.lon_deg,
                    horizontal_accuracy_m: p.accuracy_m.unwrap_or(DEFAULT_FIX_ACCURACY_M),
                    speed_mps: s.speed_mps,
                    speed_accuracy_mps: None,
                    altitude_m: s.altitude_m.filter(|_| !barometric),
                }),
            ));
        } else if let Some(speed_mps) = s.speed_mps {
            timed.push((t, 1, Input::DeviceSpeed(DeviceSpeedReading { t_ms: t, speed_mps })));
        }
        if let Some(bpm) = s.heart_rate_bpm {
            timed.push((t, 1, Input::HeartRate(HeartRateReading { t_ms: t, bpm })));
        }
        if let Some(spm) = s.cadence_spm {
            timed.push((t, 1, Input::Cadence(CadenceReading { t_ms: t, spm })));
        }
        // After the fix of its instant: the grade is measured along the distance it brought.
        if barometric && let Some(altitude_m) = s.altitude_m {
            timed.push((t, 1, Input::Altitude(AltitudeReading { t_ms: t, altitude_m })));
        }
    }
    for pause in &recording.pauses {
        timed.push((pause.start_ms, 2, Input::Pause { t_ms: pause.start_ms }));
        timed.push((pause.end_ms, 2, Input::Resume { t_ms: pause.end_ms }));
    }
    for lap in &recording.laps {
        let auto = lap.distance_m.is_some_and(|d| {
            [1000.0, METRES_PER_MILE].iter().any(|unit| {
                let whole = (d / unit).round();
                whole >= 1.0 && (d - whole * unit).abs() <= AUTO_LAP_TOLERANCE * unit
            })
        });
        if !auto {
            timed.push((lap.end_ms, 3, Input::Lap { t_ms: lap.end_ms }));
        }
    }
    let end = recording.duration_ms();
    // Ticks every second while the recording speaks, and for a while into a silence (GPS news,
    // a time-based step ending); none through the rest of a long one, so that the inputs of a
    // recording are bounded by its samples, not by its clock.
    let mut sample_times = recording.samples.iter().map(|s| s.t_ms).peekable();
    let mut latest_sample_ms = 0;
    let mut t = TICK_MS;
    while t <= end {
        while let Some(sample_ms) = sample_times.next_if(|s| *s <= t) {
            latest_sample_ms = sample_ms;
        }
        if t - latest_sample_ms <= TICKS_INTO_SILENCE_MS {
            timed.push((t, 4, Input::Tick { t_ms: t }));
            t += TICK_MS;
        } else {
            // On to the next sample, on the ticks' grid.
            let next_ms = sample_times.peek().copied().unwrap_or(end);
            t = (t + TICK_MS).max(next_ms.div_ceil(TICK_MS) * TICK_MS);
        }
    }
    timed.push((end + 1, 5, Input::Finish { t_ms: end + 1 }));
    timed.sort_by_key(|(t, order, _)| (*t, *order));
    timed.into_iter().map(|(_, _, input)| input).collect()
}

/// Runs a recording through a fresh session as if live: the utterances, the summary and the
/// plan's expanded steps (for printing).
pub fn replay(
    plan: &Plan,
    recording: &Recording,
    profile: RunnerProfile,
    config: EngineConfig,
) -> (Vec<Utterance>, RunSummary, Vec<ExpandedStep>) {
    let r = replay_in_context(plan, recording, profile, config, RunContext::default(), None);
    (r.utterances, r.summary, r.steps)
}

/// What a replay produced.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub utterances: Vec<Utterance>,
    pub summary: RunSummary,
    pub steps: Vec<ExpandedStep>,
    pub log: Vec<LogRecord>,
}

/// A replay with what the host would know at the start (weather, the week so far), and the
/// runner's answer to the post-run check-in, given a few seconds after the finish.
pub fn replay_in_context(
    plan: &Plan,
    recording: &Recording,
    profile: RunnerProfile,
    config: EngineConfig,
    context: RunContext,
    check_in: Option<u8>,
) -> Replayed {
    let mut session = RunSession::with_context(plan, profile, config, context);
    let utterances = pacenote_core::engine::replay::run(&mut session, &to_inputs(recording));
    if let Some(effort) = check_in {
        session.handle(&Input::CheckIn { t_ms: session.now_ms() + CHECK_IN_AFTER_MS, effort });
    }
    Replayed {
        utterances,
        summary: session.summary(),
        steps: session.steps().to_vec(),
        log: session.log().to_vec(),
    }
}

/// When a replayed runner answers the check-in, after the finish.
pub const CHECK_IN_AFTER_MS: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::{Position, Sample};

    fn sample(t_ms: u64) -> Sample {
        Sample {
            t_ms,
            position: Some(Position { lat_deg: 47.0, lon_deg: 8.0 + t_ms as f64 * 1e-8, accuracy_m: None }),
            ..Sample::default()
        }
    }

    #[test]
    fn a_long_silence_costs_ticks_for_ten_minutes_not_for_every_second() {
        // Two minutes, twenty hours of nothing, two more minutes.
        let mut recording = Recording::new(Format::Gpx);
        let later_ms = 20 * 3600 * 1000;
        recording.samples = (0..=120)
            .map(|s| sample(s * 1000))
            .chain((0..=120).map(|s| sample(later_ms + s * 1000)))
            .collect();
        let inputs = to_inputs(&recording);
        let ticks: Vec<u64> =
            inputs.iter().filter(|i| matches!(i, Input::Tick { .. })).map(Input::t_ms).collect();
        let expected = 120 + TICKS_INTO_SILENCE_MS / TICK_MS + 121;
        assert_eq!(ticks.len() as u64, expected);
        // Every second while samples come; the last tick of the silence ten minutes in.
        assert!(ticks.contains(&(120_000 + TICKS_INTO_SILENCE_MS)));
        assert!(!ticks.contains(&(120_000 + TICKS_INTO_SILENCE_MS + TICK_MS)));
        assert!(ticks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(inputs.last().map(Input::t_ms), Some(later_ms + 120_001));
    }
}

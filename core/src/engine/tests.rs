//! The engine on synthetic runs with known truth: countdowns on the second, corrections that
//! wait for evidence and never flip-flop, GPS loss, auto-pause, pain, determinism, and no
//! panic or non-finite number on any input.

use proptest::prelude::*;

use super::*;
use crate::cue::CueKind;
use crate::sensor::{CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix};
use crate::signal::geo::EARTH_RADIUS_M;
use crate::weather::Conditions;

const LAT0: f64 = 48.0;
const LON0: f64 = 11.0;

/// Deterministic small noise (xorshift).
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

fn plan(json: &str) -> Plan {
    Plan::from_json(json.as_bytes()).expect("valid plan")
}

/// A fix `e` m east and `n` m north of the origin, 5 m accuracy, with a Doppler speed and its
/// σ when given.
fn fix_at(t_ms: u64, e: f64, n: f64, doppler: Option<(f64, Option<f64>)>) -> Input {
    Input::Fix(LocationFix {
        t_ms,
        lat_deg: LAT0 + (n / EARTH_RADIUS_M).to_degrees(),
        lon_deg: LON0 + (e / (EARTH_RADIUS_M * LAT0.to_radians().cos())).to_degrees(),
        horizontal_accuracy_m: 5.0,
        speed_mps: doppler.map(|(v, _)| v),
        speed_accuracy_mps: doppler.and_then(|(_, sigma)| sigma),
        altitude_m: None,
    })
}

/// A straight run east with 1 Hz fixes (Doppler included) and ticks every 250 ms. `speed(s)`
/// gives the true speed in second `s`; `None` seconds have no fix (GPS lost).
fn inputs(seconds: u64, speed: impl Fn(u64) -> Option<f64>, hr: impl Fn(u64) -> Option<f64>) -> Vec<Input> {
    let mut noise = Noise(0x1234_5678_9abc_def1);
    let mut east = 0.0;
    let mut out = vec![Input::Start { t_ms: 0 }];
    for s in 0..=seconds {
        let t = s * 1000;
        let v = speed(s);
        east += v.unwrap_or(3.0);
        if let Some(v) = v {
            let e = east + 2.0 * noise.next();
            let n = 2.0 * noise.next();
            out.push(fix_at(t, e, n, Some((v + 0.2 * noise.next(), Some(0.3)))));
        }
        if let Some(bpm) = hr(s) {
            out.push(Input::HeartRate(HeartRateReading { t_ms: t, bpm }));
        }
        for q in 0..4 {
            out.push(Input::Tick { t_ms: t + q * 250 });
        }
    }
    out.push(Input::Finish { t_ms: seconds * 1000 + 1000 });
    out
}

fn run(plan: &Plan, profile: RunnerProfile, inputs: &[Input]) -> (Vec<Utterance>, RunSummary) {
    let mut session = RunSession::new(plan, profile, EngineConfig::default());
    let mut out = Vec::new();
    for input in inputs {
        out.extend(session.handle(input));
    }
    (out, session.summary())
}

fn kinds(utterances: &[Utterance]) -> Vec<(u64, CueKind)> {
    utterances.iter().flat_map(|u| u.cues.iter().map(move |c| (u.at_ms / 1000, c.kind))).collect()
}

const TEMPO: &str = r#"{"version":1,"id":"t","name":"T","steps":[
    {"kind":"warmup","end":{"time_s":120}},
    {"kind":"work","end":{"time_s":300},"target":{"pace":{"fastest":"4:45","slowest":"4:55"}}},
    {"kind":"cooldown","end":{"time_s":120}}]}"#;

#[test]
fn countdown_is_said_on_its_second() {
    let plan = plan(TEMPO);
    let (said, summary) = run(&plan, RunnerProfile::default(), &inputs(560, |_| Some(3.45), |_| None));
    let countdowns: Vec<&Utterance> = said.iter().filter(|u| u.cues[0].kind == CueKind::Countdown).collect();
    // 10 s before the warm-up ends (120 s), the tempo ends (420 s) and the cool-down (540 s).
    let at: Vec<u64> = countdowns.iter().map(|u| u.at_ms).collect();
    assert_eq!(at, vec![110_000, 410_000, 530_000], "{:?}", kinds(&said));
    assert_eq!(summary.steps_completed, 3);
    let first: Vec<CueKind> = said[0].cues.iter().map(|c| c.kind).collect();
    assert_eq!(first, vec![CueKind::RunStart, CueKind::StepStart], "start and first step in one utterance");
}

#[test]
fn what_is_known_in_advance_is_handed_over_a_lead_in_early() {
    // A host that also ticks when the engine asks (as the apps and replays do).
    let plan = plan(TEMPO);
    let mut session = RunSession::new(&plan, RunnerProfile::default(), EngineConfig::default());
    let mut said = Vec::new();
    for input in inputs(560, |_| Some(3.45), |_| None) {
        while let Some(w) = session.next_wakeup_ms().filter(|w| *w < input.t_ms() && *w > session.now_ms()) {
            said.extend(session.handle(&Input::Tick { t_ms: w }));
        }
        said.extend(session.handle(&input));
    }
    let countdowns: Vec<(u64, u64)> = said
        .iter()
        .filter(|u| u.cues[0].kind == CueKind::Countdown)
        .map(|u| (u.at_ms, u.starts_at_ms()))
        .collect();
    let lead = crate::cue::LEAD_IN_MS;
    assert_eq!(
        countdowns,
        [110_000, 410_000, 530_000].map(|t| (t, t - lead)),
        "on the second, handed over {lead} ms before it"
    );
    // The time steps' ends are known too: the next step is announced a lead-in early, on the
    // second it starts (the first step starts with the run, on the spot).
    let step_starts: Vec<(u64, u64)> = said
        .iter()
        .filter(|u| u.cues.iter().any(|c| c.kind == CueKind::StepStart))
        .map(|u| (u.at_ms, u.starts_at_ms()))
        .collect();
    assert_eq!(step_starts, [(0, 0), (120_000, 120_000 - lead), (420_000, 420_000 - lead)]);
    // The tempo's halfway (150 s into its 300) is the session's too (270 of 540 s): one
    // utterance, on its second.
    let halfways: Vec<(u64, u64, usize)> = said
        .iter()
        .filter(|u| u.cues.iter().any(|c| c.kind == CueKind::StepHalfway))
        .map(|u| (u.at_ms, u.starts_at_ms(), u.cues.len()))
        .collect();
    assert_eq!(halfways, [(270_000, 270_000 - lead, 2)], "{:?}", kinds(&said));
    // Cues decided on the spot are not early.
    let foreseen = [CueKind::Countdown, CueKind::StepStart, CueKind::StepHalfway];
    assert!(said.iter().filter(|u| !foreseen.contains(&u.cues[0].kind)).all(|u| u.early_ms == 0));
}

#[test]
fn a_slow_tempo_gets_one_correction_then_praise_no_flip_flop() {
    let plan = plan(TEMPO);
    // 5:25/km for the first two minutes of the tempo, then on target (4:50/km).
    let speed = |s: u64| Some(if (120..240).contains(&s) { 1000.0 / 325.0 } else { 1000.0 / 290.0 });
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs(560, speed, |_| None));
    let corrections: Vec<(u64, CueKind)> = kinds(&said)
        .into_iter()
        .filter(|(_, k)| matches!(k, CueKind::SpeedUp | CueKind::SlowDown | CueKind::BackOnPace))
        .collect();
    assert_eq!(corrections.first().map(|c| c.1), Some(CueKind::SpeedUp), "{corrections:?}");
    let first_at = corrections[0].0;
    // Grace 20 s + dwell 8 s after the step start, plus the estimate's lag: under 40 s.
    assert!((148..=165).contains(&first_at), "first correction at {first_at} s");
    assert!(corrections.iter().any(|c| c.1 == CueKind::BackOnPace), "{corrections:?}");
    assert!(!corrections.iter().any(|c| c.1 == CueKind::SlowDown), "{corrections:?}");
}

#[test]
fn on_target_running_is_not_nagged() {
    let plan = plan(TEMPO);
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs(560, |_| Some(1000.0 / 290.0), |_| None));
    assert!(
        !kinds(&said).iter().any(|(_, k)| matches!(k, CueKind::SpeedUp | CueKind::SlowDown)),
        "{:?}",
        kinds(&said)
    );
}

#[test]
fn gps_loss_is_said_and_pace_is_not_judged_blind() {
    let plan = plan(TEMPO);
    // The tunnel is in the tempo; the runner is slow only inside it.
    let speed = |s: u64| if (200..260).contains(&s) { None } else { Some(1000.0 / 290.0) };
    let (said, summary) = run(&plan, RunnerProfile::default(), &inputs(560, speed, |_| None));
    let k = kinds(&said);
    // Lost after 6 s without a fix; said once it has been gone 15 s.
    assert!(k.iter().any(|(t, c)| *c == CueKind::GpsLost && (220..=223).contains(t)), "{k:?}");
    assert!(k.iter().any(|(t, c)| *c == CueKind::GpsBack && (260..=262).contains(t)), "{k:?}");
    assert!(!k.iter().any(|(_, c)| matches!(c, CueKind::SpeedUp | CueKind::SlowDown)), "{k:?}");
    assert!(!k.iter().any(|(_, c)| *c == CueKind::AutoPaused), "GPS loss never pauses: {k:?}");
    assert!((summary.distance_m - 3.448 * 561.0).abs() < 0.03 * 3.448 * 561.0, "{}", summary.distance_m);
}

#[test]
fn a_stop_pauses_the_timer_and_a_start_resumes_it() {
    let plan = plan(TEMPO);
    let speed = |s: u64| Some(if (60..90).contains(&s) { 0.0 } else { 3.0 });
    let (said, summary) = run(&plan, RunnerProfile::default(), &inputs(560, speed, |_| None));
    let k = kinds(&said);
    let paused = k.iter().find(|(_, c)| *c == CueKind::AutoPaused).map(|(t, _)| *t).expect("paused");
    let resumed = k.iter().find(|(_, c)| *c == CueKind::AutoResumed).map(|(t, _)| *t).expect("resumed");
    // Stopped at 60 s: detected after ~4 s, news once the stop has lasted ~10 s.
    assert!((67..=75).contains(&paused) && (90..=95).contains(&resumed), "{paused} {resumed}");
    assert!(summary.moving_time_s < 561.0 - 20.0, "{}", summary.moving_time_s);
}

#[test]
fn pause_news_comes_in_pairs_and_short_stops_are_not_news() {
    let plan = plan(TEMPO);
    // A 5-s stop (not news), then a 20-s stop whose "moving again" comes well within 20 s of
    // its "paused" (the old 20-s gap between pause news swallowed it), then a stop at the end.
    let stopped = |s: u64| (100..105).contains(&s) || (200..220).contains(&s) || s >= 540;
    let speed = |s: u64| Some(if stopped(s) { 0.0 } else { 3.0 });
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs(560, speed, |_| None));
    let news: Vec<(u64, CueKind)> = kinds(&said)
        .into_iter()
        .filter(|(_, c)| matches!(c, CueKind::AutoPaused | CueKind::AutoResumed))
        .collect();
    let just_kinds: Vec<CueKind> = news.iter().map(|(_, c)| *c).collect();
    assert_eq!(just_kinds, vec![CueKind::AutoPaused, CueKind::AutoResumed, CueKind::AutoPaused], "{news:?}");
    assert!((205..=215).contains(&news[0].0) && (220..=225).contains(&news[1].0), "{news:?}");
}

#[test]
fn pain_stops_the_pushing() {
    let plan = plan(TEMPO);
    let mut inputs = inputs(560, |s| Some(if s >= 120 { 1000.0 / 340.0 } else { 3.0 }), |_| None);
    let at = inputs.iter().position(|i| i.t_ms() >= 125_000).expect("index");
    inputs.insert(at, Input::Feedback { t_ms: 125_000, feedback: RunnerFeedback::Pain });
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs);
    let k = kinds(&said);
    assert!(k.iter().any(|(_, c)| *c == CueKind::PainCheck), "{k:?}");
    assert!(!k.iter().any(|(_, c)| *c == CueKind::SpeedUp), "{k:?}");
}

#[test]
fn heart_rate_zone_waits_for_the_lag() {
    let plan = plan(
        r#"{"version":1,"id":"h","name":"H","steps":[{"kind":"work","end":{"time_s":600},"target":{"hr_zone":3}}]}"#,
    );
    let profile = RunnerProfile { max_hr_bpm: Some(190.0), resting_hr_bpm: Some(50.0), lthr_bpm: None };
    // Zone 3 is 148–162 bpm; the runner sits at 172 from the start.
    let (said, _) = run(&plan, profile, &inputs(600, |_| Some(3.3), |_| Some(172.0)));
    let first = kinds(&said).into_iter().find(|(_, c)| *c == CueKind::HrAboveZone).map(|(t, _)| t);
    assert_eq!(first, Some(75), "{:?}", kinds(&said));
}

#[test]
fn same_inputs_same_cues() {
    let plan = plan(TEMPO);
    let inputs = inputs(560, |s| Some(3.0 + (s % 37) as f64 / 20.0), |s| Some(120.0 + (s % 50) as f64));
    let a = run(&plan, RunnerProfile { max_hr_bpm: Some(185.0), ..Default::default() }, &inputs);
    let b = run(&plan, RunnerProfile { max_hr_bpm: Some(185.0), ..Default::default() }, &inputs);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn utterances_never_overlap() {
    let plan = plan(TEMPO);
    let inputs = inputs(560, |s| Some(2.5 + (s % 90) as f64 / 60.0), |_| None);
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs);
    for pair in said.windows(2) {
        let words: usize = pair[0].neutral_text().split_whitespace().count();
        let ends = pair[0].at_ms + (words as f64 / 2.5 * 1000.0) as u64;
        assert!(pair[1].at_ms >= ends || pair[1].interrupts == Some(pair[0].id), "{pair:?}");
    }
}

proptest! {
    #[test]
    fn any_input_stream_is_safe(
        stream in proptest::collection::vec(
            (0u8..9, 0u64..4000, any::<bool>(),
             prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -1e6f64..1e6, 0.0f64..300.0]),
            0..300)
    ) {
        let plan = plan(TEMPO);
        let mut session = RunSession::new(&plan, RunnerProfile { max_hr_bpm: Some(190.0), resting_hr_bpm: Some(50.0), lthr_bpm: None }, EngineConfig::default());
        let mut t = 0u64;
        for (kind, dt, back, x) in stream {
            t = if back { t.saturating_sub(dt) } else { t + dt };
            let input = match kind {
                0 => Input::Fix(LocationFix { t_ms: t, lat_deg: LAT0 + x * 1e-5, lon_deg: LON0 + x.sin() * 1e-4, horizontal_accuracy_m: x.abs() % 50.0, speed_mps: Some(x), speed_accuracy_mps: None, altitude_m: None }),
                1 => Input::HeartRate(HeartRateReading { t_ms: t, bpm: x }),
                2 => Input::Cadence(CadenceReading { t_ms: t, spm: x }),
                3 => Input::DeviceSpeed(DeviceSpeedReading { t_ms: t, speed_mps: x }),
                4 => Input::Lap { t_ms: t },
                5 => Input::Pause { t_ms: t },
                6 => Input::Resume { t_ms: t },
                7 => Input::SkipStep { t_ms: t },
                _ => Input::Tick { t_ms: t },
            };
            for u in session.handle(&input) {
                for cue in &u.cues {
                    prop_assert!(cue.slots.numbers().iter().all(|n| n.is_finite()), "{:?}", cue);
                }
            }
        }
    }
}

#[test]
fn with_an_audio_layer_the_next_cue_waits_for_the_voice() {
    let plan = plan(TEMPO);
    let config = EngineConfig { audio_reports_finish: true, ..EngineConfig::default() };
    let mut session = RunSession::new(&plan, RunnerProfile::default(), config);
    let inputs = inputs(
        560,
        |s| Some(if (120..240).contains(&s) { 1000.0 / 325.0 } else { 1000.0 / 290.0 }),
        |_| None,
    );
    // A slow voice: every utterance takes 7 s, far longer than its words suggest.
    let said = replay::run_with_audio(&mut session, &inputs, |_| Some(7_000));
    assert!(said.len() > 5);
    for pair in said.windows(2) {
        assert!(
            pair[1].at_ms >= pair[0].at_ms + 7_000 || pair[1].interrupts == Some(pair[0].id),
            "{} at {} overlaps {} at {}",
            pair[1].id,
            pair[1].at_ms,
            pair[0].id,
            pair[0].at_ms
        );
    }
}

/// Runs `inputs` with a context; returns the session too (log, summary).
fn run_with(
    plan: &Plan,
    profile: RunnerProfile,
    context: RunContext,
    inputs: &[Input],
) -> (Vec<Utterance>, RunSession) {
    let mut session = RunSession::with_context(plan, profile, EngineConfig::default(), context);
    let mut out = Vec::new();
    for input in inputs {
        out.extend(session.handle(input));
    }
    (out, session)
}

#[test]
fn just_ten_minutes_frees_the_runner_at_ten_and_both_choices_count() {
    let plan = Plan::from_json(crate::BUNDLED_PLANS[3].1.as_bytes()).expect("bundled");
    // Stopping at 9 minutes: not yet a completed session (and nothing said about it).
    let (said, summary) = run(&plan, RunnerProfile::default(), &inputs(540, |_| Some(2.6), |_| None));
    assert!(!kinds(&said).iter().any(|(_, k)| *k == CueKind::FreeToStop));
    assert!(!summary.counts_as_completed);
    // Stopping right after ten minutes, and going on to twenty: both count.
    for seconds in [605, 1200] {
        let (said, session) = run_with(
            &plan,
            RunnerProfile::default(),
            RunContext::default(),
            &inputs(seconds, |_| Some(2.6), |_| None),
        );
        let free: Vec<u64> =
            kinds(&said).iter().filter(|(_, k)| *k == CueKind::FreeToStop).map(|(t, _)| *t).collect();
        assert_eq!(free, vec![600], "{:?}", kinds(&said));
        assert!(session.summary().counts_as_completed);
        assert!(session.log().iter().any(|r| matches!(r, LogRecord::FreeToStop { t_ms: 600_000 })));
    }
}

const EASY_CAP: &str = r#"{"version":1,"id":"e","name":"E","steps":[
    {"kind":"easy","end":{"time_s":900},"target":{"hr_range":{"max_bpm":140}}}]}"#;

#[test]
fn easy_day_guard_says_conversational_pace_never_praises_speed() {
    let plan = plan(EASY_CAP);
    // Heart rate creeps over the 140 cap after five minutes and stays there.
    let hr = |s: u64| Some(if s < 300 { 132.0 } else { 150.0 });
    let (said, _) = run(&plan, RunnerProfile::default(), &inputs(900, |_| Some(2.8), hr));
    let k = kinds(&said);
    assert!(k.iter().any(|(t, kind)| *kind == CueKind::EasyEaseOff && *t > 300), "{k:?}");
    assert!(!k.iter().any(|(_, kind)| *kind == CueKind::HrAboveZone), "{k:?}");
    // Encouragement on an easy day never carries the pace.
    let chatty = EngineConfig { chattiness: Chattiness::Chatty, ..EngineConfig::default() };
    let mut session = RunSession::new(&plan, RunnerProfile::default(), chatty);
    let said: Vec<Utterance> =
        inputs(900, |_| Some(2.8), |_| Some(130.0)).iter().flat_map(|i| session.handle(i)).collect();
    let praise: Vec<&Cue> =
        said.iter().flat_map(|u| &u.cues).filter(|c| c.kind == CueKind::Encouragement).collect();
    assert!(!praise.is_empty());
    assert!(praise.iter().all(|c| c.slots.pace.is_none()));
}

#[test]
fn pain_stops_target_coaching_at_once_and_is_logged() {
    let plan = plan(TEMPO);
    // Far too fast through the whole tempo; pain reported at 150 s, before any correction.
    let mut all = inputs(560, |_| Some(1000.0 / 250.0), |_| None);
    let at = all.iter().position(|i| i.t_ms() >= 150_000).expect("inputs to 150 s");
    all.insert(at, Input::Feedback { t_ms: 150_000, feedback: RunnerFeedback::Pain });
    let (said, session) = run_with(&plan, RunnerProfile::default(), RunContext::default(), &all);
    let k = kinds(&said);
    assert!(k.iter().any(|(t, kind)| *kind == CueKind::PainCheck && *t == 150), "{k:?}");
    let after: Vec<&(u64, CueKind)> = k.iter().filter(|(t, _)| *t >= 150).collect();
    assert!(
        !after
            .iter()
            .any(|(_, kind)| matches!(kind, CueKind::SpeedUp | CueKind::SlowDown | CueKind::BackOnPace)),
        "{k:?}"
    );
    assert!(session.log().contains(&LogRecord::TargetsStopped { t_ms: 150_000 }));
    assert!(session.log().contains(&LogRecord::Feedback { t_ms: 150_000, feedback: RunnerFeedback::Pain }));
}

#[test]
fn heat_eases_the_targets_and_says_so_at_the_start() {
    let plan = plan(TEMPO);
    let hot = Conditions::new(35.0, 25.0).expect("weather");
    let context = RunContext { conditions: Some(hot), ..RunContext::default() };
    // 5:20/km: too slow for 4:45–4:55 on a cool day; within the band eased by ~8.4 %
    // (35 °C, dew point 25 °C: 172 °F).
    let speed = |_| Some(1000.0 / 320.0);
    let (said, session) = run_with(&plan, RunnerProfile::default(), context, &inputs(560, speed, |_| None));
    let k = kinds(&said);
    assert!(k.iter().any(|(t, kind)| *kind == CueKind::HeatAdjusted && *t == 0), "{k:?}");
    assert!(!k.iter().any(|(_, kind)| *kind == CueKind::SpeedUp), "{k:?}");
    assert!(matches!(session.log()[0], LogRecord::HeatAdjusted { pct } if pct > 8.0));
    let (cool, _) = run(&plan, RunnerProfile::default(), &inputs(560, speed, |_| None));
    assert!(
        kinds(&cool).iter().any(|(_, kind)| *kind == CueKind::SpeedUp),
        "cool day: corrected {:?}",
        kinds(&cool)
    );
    // Mild weather changes nothing and says nothing.
    let mild = RunContext {
        conditions: Some(Conditions::new(12.0, 5.0).expect("weather")),
        ..RunContext::default()
    };
    let (said, session) = run_with(&plan, RunnerProfile::default(), mild, &inputs(60, speed, |_| None));
    assert!(!kinds(&said).iter().any(|(_, kind)| *kind == CueKind::HeatAdjusted));
    assert!(session.log().is_empty());
}

#[test]
fn the_check_in_is_asked_at_the_finish_and_its_answer_kept() {
    let plan = plan(TEMPO);
    let mut all = inputs(200, |_| Some(3.4), |_| None);
    all.push(Input::CheckIn { t_ms: 215_000, effort: 11 });
    all.push(Input::CheckIn { t_ms: 220_000, effort: 6 });
    let (said, session) = run_with(&plan, RunnerProfile::default(), RunContext::default(), &all);
    let last: Vec<CueKind> = said.last().expect("finish").cues.iter().map(|c| c.kind).collect();
    assert_eq!(last, vec![CueKind::RunFinish, CueKind::CheckIn]);
    assert_eq!(session.summary().effort, Some(6));
    assert!(session.log().contains(&LogRecord::CheckInRejected { t_ms: 215_000, effort: 11 }));
    assert!(session.log().contains(&LogRecord::CheckIn { t_ms: 220_000, effort: 6 }));
}

#[test]
fn process_goals_are_celebrated_at_the_finish() {
    use crate::coaching::goals::{ProcessStatus, WeekTally};
    let plan = plan(TEMPO);
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).expect("date");
    let process = ProcessStatus {
        this_week: WeekTally { week_start: monday, planned: 4, done: 3 },
        streak_weeks: 5,
        week_complete: false,
    };
    let context = RunContext { process: Some(process), ..RunContext::default() };
    let (said, _) = run_with(&plan, RunnerProfile::default(), context, &inputs(700, |_| Some(3.4), |_| None));
    let cue =
        said.iter().flat_map(|u| &u.cues).find(|c| c.kind == CueKind::StreakCelebration).expect("celebrated");
    assert_eq!(
        (cue.slots.runs_done, cue.slots.runs_planned, cue.slots.streak_weeks),
        (Some(4), Some(4), Some(5))
    );
    assert!(crate::cue::neutral_text(cue).contains("four of four"));
}

/// A run along a line in segments of (seconds, speed m/s), 1 Hz fixes with position noise of
/// `noise_m` and Doppler when `doppler`, ticks every second.
fn segmented_run(segments: &[(u64, f64)], noise_m: f64, doppler: bool, seed: u64) -> Vec<Input> {
    let mut noise = Noise(seed | 1);
    let (mut east, mut t) = (0.0, 0u64);
    let mut out = vec![Input::Start { t_ms: 0 }];
    for &(seconds, speed) in segments {
        for _ in 0..seconds {
            t += 1000;
            east += speed;
            let (e, n) = (east + noise_m * noise.next(), noise_m * noise.next());
            out.push(fix_at(t, e, n, doppler.then(|| ((speed + 0.3 * noise.next()).max(0.0), None))));
            out.push(Input::Tick { t_ms: t });
        }
    }
    out.push(Input::Finish { t_ms: t + 1000 });
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Honest words: whatever the runner does and however noisy the GPS, a correction's
    /// spoken pace (to the second) lies beyond the band plus tolerance on the side its words say.
    #[test]
    fn corrections_never_contradict_their_number(
        segments in proptest::collection::vec((20u64..240, 1.5f64..6.0), 1..8),
        centre_s_per_km in 200.0f64..480.0,
        half_width_s in 3.0f64..25.0,
        noise_m in 0.0f64..12.0,
        doppler in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (fast, slow) = (centre_s_per_km - half_width_s, centre_s_per_km + half_width_s);
        let plan = plan(&format!(
            r#"{{"version":1,"id":"p","name":"p","steps":[{{"kind":"work","end":{{"time_s":3000}},"target":{{"pace":{{"fastest":{fast:.0},"slowest":{slow:.0}}}}}}}]}}"#
        ));
        let (said, _) = run(&plan, RunnerProfile::default(), &segmented_run(&segments, noise_m, doppler, seed));
        for cue in said.iter().flat_map(|u| &u.cues) {
            let (Some(pace), Some((f, s))) = (cue.slots.pace, cue.slots.target_pace) else { continue };
            let heard = pace.0.round();
            match cue.kind {
                CueKind::SpeedUp => prop_assert!(heard > s.0 + targets::PACE_TOLERANCE_S_PER_KM, "{cue:?}"),
                CueKind::SlowDown => prop_assert!(heard < f.0 - targets::PACE_TOLERANCE_S_PER_KM, "{cue:?}"),
                _ => {}
            }
        }
    }
}

#[test]
fn a_jump_on_reacquisition_is_not_speed() {
    // On target at 5:00/km (band 4:55–5:05), positions only; a 40-s dropout, then the phone's
    // first fixes come back 60 m short of the truth and converge over 8 s — the jump reads as
    // a burst of speed. No correction, and GPS is back only once fixes come steadily.
    let plan = plan(
        r#"{"version":1,"id":"p","name":"p","steps":[{"kind":"work","end":{"time_s":900},"target":{"pace":{"fastest":"4:55","slowest":"5:05"}}}]}"#,
    );
    let speed = 1000.0 / 300.0;
    let mut noise = Noise(0x5eed_1234_abcd_ef01);
    let mut out = vec![Input::Start { t_ms: 0 }];
    for s in 0..=600u64 {
        let t = s * 1000;
        if !(300..340).contains(&s) {
            let lag = if (340..365).contains(&s) { 80.0 * (365 - s) as f64 / 25.0 } else { 0.0 };
            let (e, n) = (speed * s as f64 - lag + 1.5 * noise.next(), 1.5 * noise.next());
            out.push(fix_at(t, e, n, None));
        }
        out.push(Input::Tick { t_ms: t });
    }
    out.push(Input::Finish { t_ms: 601_000 });
    let (said, _) = run(&plan, RunnerProfile::default(), &out);
    let k = kinds(&said);
    assert!(!k.iter().any(|(_, c)| matches!(c, CueKind::SpeedUp | CueKind::SlowDown)), "{k:?}");
    let back = k.iter().find(|(_, c)| *c == CueKind::GpsBack).map(|(t, _)| *t);
    assert!(back.is_some_and(|t| t >= 342), "{k:?}");
}

/// A run east at constant effort over a hill: flat, a 6 % climb, flat again; the runner's raw
/// speed on the climb is the flat speed over Strava's factor for 6 %; barometer at 1 Hz.
fn hill_run(plan: &Plan) -> Vec<(u64, CueKind)> {
    let flat = 1000.0 / 330.0;
    let mut noise = Noise(0x0b1d_2e3f_4a5b_6c7d);
    let (mut east, mut altitude) = (0.0, 100.0);
    let mut out = vec![Input::Start { t_ms: 0 }];
    for s in 0..=900u64 {
        let t = s * 1000;
        let climbing = (300..540).contains(&s);
        let v = if climbing { flat / crate::signal::grade::speed_factor(0.06) } else { flat };
        east += v;
        if climbing {
            altitude += 0.06 * v;
        }
        let (e, n) = (east + noise.next(), noise.next());
        out.push(fix_at(t, e, n, Some((v + 0.15 * noise.next(), Some(0.15)))));
        out.push(Input::Altitude(crate::sensor::AltitudeReading {
            t_ms: t,
            altitude_m: altitude + 0.2 * noise.next(),
        }));
        out.push(Input::Tick { t_ms: t });
    }
    out.push(Input::Finish { t_ms: 901_000 });
    kinds(&run(plan, RunnerProfile::default(), &out).0)
}

#[test]
fn a_climb_at_steady_effort_is_on_target_and_the_coach_speaks_effort() {
    let band = r#""target":{"pace":{"fastest":"5:20","slowest":"5:40"}}"#;
    let gap = plan(&format!(
        r#"{{"version":1,"id":"h","name":"h","steps":[{{"kind":"work","end":{{"time_s":1200}},{band}}}]}}"#
    ));
    let k = hill_run(&gap);
    assert!(!k.iter().any(|(_, c)| matches!(c, CueKind::SpeedUp | CueKind::SlowDown)), "{k:?}");
    let hill: Vec<u64> = k.iter().filter(|(_, c)| *c == CueKind::HillEffort).map(|(t, _)| *t).collect();
    assert_eq!(hill.len(), 1, "{k:?}");
    assert!((300..540).contains(&hill[0]), "{k:?}");
    // A flat-course rehearsal judges the pace as run: the climb is too slow.
    let raw = plan(&format!(
        r#"{{"version":1,"id":"h","name":"h","hills":"raw","steps":[{{"kind":"work","end":{{"time_s":1200}},{band}}}]}}"#
    ));
    let k = hill_run(&raw);
    assert!(k.iter().any(|(t, c)| *c == CueKind::SpeedUp && (300..560).contains(t)), "{k:?}");
    assert!(!k.iter().any(|(_, c)| *c == CueKind::HillEffort), "{k:?}");
}

/// Up a 6 % climb and down as steep at constant effort, with GPS altitude only (σ 4 m) and
/// Doppler: nothing is adjusted for grade, so just off each hill (the windows and readings still
/// hold its raw pace) the coach does not correct: no "pick it up" after the climb, no "ease off"
/// on the descent. (At the foot of a 4 % climb a correction still comes ~33 s in, before a 150-m
/// GPS baseline shows the climb: waiting 45 s instead of 30 s delays real corrections on the
/// flat by as much — corpus D6 — and was not taken.)
#[test]
fn with_gps_altitude_the_coach_does_not_correct_a_hills_raw_pace() {
    let plan = plan(
        r#"{"version":1,"id":"h","name":"h","steps":[{"kind":"work","end":{"time_s":1500},"target":{"pace":{"fastest":"5:20","slowest":"5:40"}}}]}"#,
    );
    let flat = 1000.0 / 330.0;
    for hill in [0.06] {
        let mut noise = Noise(0x51de_2e3f_4a5b_6c7e);
        let (mut east, mut altitude) = (0.0, 100.0);
        let mut out = vec![Input::Start { t_ms: 0 }];
        for s in 0..=1200u64 {
            let t = s * 1000;
            let grade = match s {
                300..540 => hill,
                540..700 => -hill,
                _ => 0.0,
            };
            let v = flat / crate::signal::grade::speed_factor(grade);
            east += v;
            altitude += grade * v;
            let doppler = Some((v + 0.15 * noise.next(), Some(0.15)));
            let Input::Fix(mut fix) = fix_at(t, east + noise.next(), noise.next(), doppler) else {
                unreachable!("a fix")
            };
            fix.altitude_m = Some(altitude + 4.0 * noise.next());
            out.push(Input::Fix(fix));
            out.push(Input::Tick { t_ms: t });
        }
        out.push(Input::Finish { t_ms: 1_201_000 });
        let k = kinds(&run(&plan, RunnerProfile::default(), &out).0);
        assert!(!k.iter().any(|(_, c)| matches!(c, CueKind::SpeedUp | CueKind::SlowDown)), "{hill}: {k:?}");
    }
}

#[test]
fn the_run_screen_reads_what_the_coach_knows() {
    use super::state::RunPhase;
    use crate::signal::pace::GpsStatus;
    let plan = plan(TEMPO);
    let profile = RunnerProfile { max_hr_bpm: Some(190.0), resting_hr_bpm: Some(50.0), lthr_bpm: None };
    let mut session = RunSession::new(&plan, profile, EngineConfig::default());
    assert_eq!(session.state().phase, RunPhase::NotStarted);
    // On target (4:50/km) with a steady heart rate; looked at 3 minutes in: 2 minutes of the
    // 5-minute tempo are behind.
    let all = inputs(560, |_| Some(1000.0 / 290.0), |_| Some(160.0));
    let mut states = Vec::new();
    for input in &all {
        session.handle(input);
        if matches!(input, Input::Tick { t_ms: 300_000 }) {
            states.push(session.state());
        }
    }
    let at_3_min = &states[0];
    assert_eq!(at_3_min.phase, RunPhase::Running);
    let step = at_3_min.step.as_ref().expect("in a step");
    assert_eq!((step.index, step.steps), (1, 3));
    assert!(step.description.starts_with("work"), "{step:?}");
    assert_eq!(step.pace_band.map(|(f, s)| (f.0, s.0)), Some((285.0, 295.0)));
    assert!((step.time_left_s.expect("a timed step") - 120.0).abs() < 2.0, "{step:?}");
    assert_eq!(step.distance_left_m, None);
    let pace = at_3_min.pace.expect("a pace").0;
    assert!((pace - 290.0).abs() < 10.0, "{pace}");
    assert_eq!(at_3_min.heart_rate_bpm.map(f64::round), Some(160.0));
    // 160 bpm of a 50–190 reserve is 79 %: zone 3 (70–80 %).
    assert_eq!(at_3_min.heart_rate_zone, Some(3));
    assert_eq!(at_3_min.gps, GpsStatus::Good);
    assert!((at_3_min.distance_m - 300.0 * 1000.0 / 290.0).abs() < 30.0, "{}", at_3_min.distance_m);
    assert!((at_3_min.moving_time_s - 300.0).abs() < 2.0);
    // The finish: no step any more.
    let done = session.state();
    assert!(matches!(done.phase, RunPhase::Finished | RunPhase::Finishing), "{:?}", done.phase);
    assert!(done.phase != RunPhase::Finished || done.step.is_none());
    // A pause shows as paused.
    let mut paused = RunSession::new(&plan, RunnerProfile::default(), EngineConfig::default());
    paused.handle(&Input::Start { t_ms: 0 });
    paused.handle(&Input::Pause { t_ms: 5_000 });
    assert_eq!(paused.state().phase, RunPhase::Paused);
    paused.handle(&Input::Resume { t_ms: 9_000 });
    assert_eq!(paused.state().phase, RunPhase::Running);
}

//! Real recordings through the engine as if live: the cue timeline of four corpus runs against
//! plans that match them (insta snapshots), and the promises every corpus run must keep against
//! every plan, its fitted plan included — no flip-flopping corrections, no correction whose
//! words contradict its number, no "paused" without "moving again", at most one cue per 30 s on average, countdowns on the second,
//! the same output every time.

use std::path::PathBuf;

use pacenote_core::cue::{Cue, CueKind, Utterance};
use pacenote_core::engine::replay::timeline;
use pacenote_core::engine::{EngineConfig, RunSummary};
use pacenote_core::plan::{ExpandedStep, Plan};
use pacenote_core::profile::RunnerProfile;
use pacenote_track::fitted::fit_plan;
use pacenote_track::judge::{contradicts, unpaired_pauses};
use pacenote_track::replay::replay;

fn corpus(file: &str) -> PathBuf {
    std::env::var_os("PACENOTE_CORPUS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"), PathBuf::from)
        .join(file)
}

fn test_plan(name: &str) -> Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plans").join(name);
    Plan::from_json(&std::fs::read(&path).expect("test plan")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The profile of the corpus runners (their max HR is not known; this is a plausible one).
fn profile() -> RunnerProfile {
    RunnerProfile { max_hr_bpm: Some(185.0), resting_hr_bpm: Some(48.0), lthr_bpm: None }
}

fn run(plan: &Plan, file: &str) -> (Vec<Utterance>, RunSummary, Vec<ExpandedStep>) {
    let bytes = std::fs::read(corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let recording = pacenote_track::import(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    replay(plan, &recording, profile(), EngineConfig::default())
}

/// (plan, recording) pairs that match: the plan is what the runner was doing.
const MATCHED: [(&str, &str); 4] = [
    ("D1-progression.json", "D1_fenix2_tempo_9k.fit"),
    ("D2-structured.json", "D2_fr955_stryd_structured_10k.fit"),
    ("D3-long-easy.json", "D3_fr955_long_easy_19k.fit"),
    ("D6-easy-12k.json", "D6_tcx_pauses_dropouts_12k.tcx"),
];

fn snapshot_text(utterances: &[Utterance], summary: &RunSummary, steps: &[ExpandedStep]) -> String {
    let mut text = timeline(utterances, steps).join("\n");
    text.push_str(&format!(
        "\n\n{:.0} m, {:.0} s moving, {}/{} steps, {} cues spoken, {} dropped\n",
        summary.distance_m,
        summary.moving_time_s,
        summary.steps_completed,
        steps.len(),
        summary.cues_spoken,
        summary.cues_dropped
    ));
    text
}

#[test]
fn cue_timelines_of_matched_corpus_runs() {
    for (plan_file, recording) in MATCHED {
        let plan = test_plan(plan_file);
        let (utterances, summary, steps) = run(&plan, recording);
        let name = plan_file.trim_end_matches(".json");
        insta::assert_snapshot!(name, snapshot_text(&utterances, &summary, &steps));
    }
}

/// The corpus' recordings, by name.
fn corpus_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(corpus(""))
        .expect("corpus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "MANIFEST.md")
        .collect();
    files.sort();
    files
}

/// Every corpus recording against every bundled plan and its matched plan.
fn every_run() -> Vec<(String, Vec<Utterance>, RunSummary, Vec<ExpandedStep>)> {
    let mut plans: Vec<(String, Plan)> = pacenote_core::BUNDLED_PLANS
        .iter()
        .map(|(name, json)| ((*name).to_owned(), Plan::from_json(json.as_bytes()).expect("bundled plan")))
        .collect();
    plans.extend(MATCHED.iter().map(|(p, _)| ((*p).to_owned(), test_plan(p))));
    let files = corpus_files();
    let mut out = Vec::new();
    for file in &files {
        for (name, plan) in &plans {
            let (u, s, steps) = run(plan, file);
            out.push((format!("{file} × {name}"), u, s, steps));
        }
        // And the plan fitted to what the runner did (the laps that made it are not pressed).
        let bytes = std::fs::read(corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut recording = pacenote_track::import(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let plan = fit_plan(&recording, "fitted").unwrap_or_else(|e| panic!("{file}: fitted plan: {e}"));
        recording.laps.clear();
        let (u, s, steps) = replay(&plan, &recording, profile(), EngineConfig::default());
        out.push((format!("{file} × fitted"), u, s, steps));
    }
    out
}

#[test]
fn corpus_runs_keep_the_coaching_promises() {
    for (name, utterances, summary, _) in every_run() {
        let cues: Vec<(u64, CueKind)> =
            utterances.iter().flat_map(|u| u.cues.iter().map(move |c| (u.at_ms, c.kind))).collect();
        // Never "speed up" then "slow down" (or the reverse) within 30 s.
        let corrections: Vec<&(u64, CueKind)> =
            cues.iter().filter(|(_, k)| matches!(k, CueKind::SpeedUp | CueKind::SlowDown)).collect();
        for pair in corrections.windows(2) {
            let ((t1, k1), (t2, k2)) = (pair[0], pair[1]);
            assert!(k1 == k2 || t2 - t1 >= 30_000, "{name}: {k1:?} at {t1} then {k2:?} at {t2}");
        }
        // At most one utterance per 30 s on average under normal chattiness.
        let minutes = summary.moving_time_s.max(60.0) / 60.0;
        let per_30_s = utterances.len() as f64 / (minutes * 2.0);
        assert!(per_30_s <= 1.0, "{name}: {} utterances in {minutes:.0} min", utterances.len());
        // Utterances never overlap (the scheduler's own estimate of their length), except an
        // interruption.
        for pair in utterances.windows(2) {
            assert!(pair[1].at_ms >= pair[0].at_ms, "{name}: out of order");
        }
        // Honest words: no correction's spoken pace contradicts it.
        let contradictions: Vec<&Cue> =
            utterances.iter().flat_map(|u| &u.cues).filter(|c| contradicts(c)).collect();
        assert!(contradictions.is_empty(), "{name}: {contradictions:?}");
        // Every "paused" is followed by "moving again" (or the run's end).
        let heard: Vec<(u64, &Cue)> =
            utterances.iter().flat_map(|u| u.cues.iter().map(move |c| (u.at_ms, c))).collect();
        assert_eq!(unpaired_pauses(&heard), 0, "{name}: a \"paused\" without its \"moving again\"");
        // Every number in every cue is finite.
        for u in &utterances {
            for c in &u.cues {
                assert!(c.slots.numbers().iter().all(|n| n.is_finite()), "{name}: {c:?}");
            }
        }
    }
}

#[test]
fn countdowns_fire_on_their_second() {
    // D2's plan is all time steps: each countdown is due exactly 10 s of moving time before the
    // step ends, and D2 has no pauses, so on the run clock too.
    let plan = test_plan("D2-structured.json");
    let (utterances, _, steps) = run(&plan, "D2_fr955_stryd_structured_10k.fit");
    let mut step_end_s = 0.0;
    let mut expected = Vec::new();
    for step in &steps {
        if let pacenote_core::plan::StepEnd::Time(s) = step.step.end {
            step_end_s += s;
            if s >= 45.0 {
                expected.push(((step_end_s - 10.0) * 1000.0) as u64);
            }
        }
    }
    let countdowns: Vec<u64> = utterances
        .iter()
        .filter(|u| u.cues.iter().any(|c| c.kind == CueKind::Countdown))
        .map(|u| u.at_ms)
        .collect();
    assert_eq!(countdowns, expected);
}

#[test]
fn the_same_run_gives_the_same_cues() {
    let plan = test_plan("D1-progression.json");
    let a = run(&plan, "D1_fenix2_tempo_9k.fit");
    let b = run(&plan, "D1_fenix2_tempo_9k.fit");
    assert_eq!(format!("{:?}", a.0), format!("{:?}", b.0));
}

/// A host ticks whenever the engine asks (`due_tick_ms`) before each input; after the finish a
/// recording may still hold inputs (D4 ends on a pause whose resume comes after the last
/// sample). A wake-up the engine asks for and then ignores kept `pacenote record` ticking at the
/// same instant for ever (2.4 GB in 4 s on D4): every tick asked for must move the clock, and a
/// finished run asks for none.
#[test]
fn every_tick_the_engine_asks_for_moves_its_clock_and_a_finished_run_asks_for_none() {
    use pacenote_core::engine::RunSession;
    use pacenote_core::engine::replay::due_tick_ms;
    let plan = Plan::from_json(pacenote_core::BUNDLED_PLANS[0].1.as_bytes()).expect("bundled plan");
    let files = corpus_files();
    for file in &files {
        let bytes = std::fs::read(corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let recording = pacenote_track::import(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let inputs = pacenote_track::replay::to_inputs(&recording);
        let mut session = RunSession::new(&plan, profile(), EngineConfig::default());
        for input in &inputs {
            while let Some(t_ms) = due_tick_ms(&session, input.t_ms()) {
                let before = session.now_ms();
                session.handle(&pacenote_core::engine::Input::Tick { t_ms });
                assert!(session.now_ms() > before, "{file}: a tick at {t_ms} asked for and ignored");
            }
            session.handle(input);
        }
        assert!(session.is_finished(), "{file}");
        assert_eq!(session.next_wakeup_ms(), None, "{file}: a finished run asks for a tick");
    }
}

//! `pacenote demo`: the main job of the README. Simulates the bundled run (a runner doing the
//! bundled 5 × 1 km session with a phone: a traffic-light stop, a GPS dropout in a tunnel),
//! writes it as TCX, reads that file back like any recording and replays it through the
//! coaching engine as if live, printing the cue timeline. The coach's voice and a plot join
//! with the voice issue.

use std::path::PathBuf;

use clap::Args;
use pacenote_core::BUNDLED_PLANS;
use pacenote_core::engine::EngineConfig;
use pacenote_core::engine::replay::timeline_with;
use pacenote_core::persona::Persona;
use pacenote_core::plan::Plan;
use pacenote_core::profile::RunnerProfile;
use pacenote_core::units::{format_clock_s, format_distance_m};
use pacenote_track::simulate::{SimConfig, simulate_plan};
use pacenote_track::tcx;

use crate::{CliError, write_file};

/// The bundled session: 5 × 1 km with jog recoveries.
const DEMO_PLAN: &str = "intervals-5x1k.json";
/// Seed of the bundled run; any seed gives a realistic run, this one is the documented one.
const DEMO_SEED: u64 = 7;
/// A traffic light in the warm-up: stopped at 6:00 of moving time for 35 s.
const DEMO_STOP_S: (f64, f64) = (360.0, 35.0);
/// A tunnel during the second rep: 30 s with no GPS, starting 21:40 into the run.
const DEMO_DROPOUT_S: (f64, f64) = (1300.0, 30.0);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The coach: stone, jakes or jenna.
    #[arg(long, default_value = "stone")]
    persona: String,
    /// The coach's language: en, de, es or fr.
    #[arg(long, default_value = "en")]
    lang: String,
    /// Folder for what the demo writes: the run (TCX), the coach track (WAV), the cues (JSON).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// The persona's voice pack (default: the committed one in audio/packs/LANG/).
    #[arg(long)]
    pack: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let (_, plan_json) = BUNDLED_PLANS
        .iter()
        .find(|(name, _)| *name == DEMO_PLAN)
        .ok_or_else(|| CliError::Usage(format!("bundled plan {DEMO_PLAN} is missing from this build")))?;
    let mut plan = Plan::from_json(plan_json.as_bytes())
        .map_err(|e| CliError::Usage(format!("bundled plan {DEMO_PLAN} is invalid: {e}")))?;
    let lang = crate::pack_cmd::parse_language(&args.lang)?;
    let persona = Persona::bundled_in(&args.persona, lang).map_err(|e| CliError::Usage(e.to_string()))?;
    crate::replay_cmd::keep_notes_for(&mut plan, lang);
    let mut config = SimConfig::phone(DEMO_SEED);
    config.stops_s.push(DEMO_STOP_S);
    config.gps.dropouts_s.push(DEMO_DROPOUT_S);
    // The phone keeps recording at the light; the engine's auto-pause stops the timer.
    config.record_through_stops = true;
    let simulated = simulate_plan(&plan, &config);

    // Write the run and read it back: the demo replays a file, as a user would. TCX, not
    // GPX: it keeps the samples of the GPS dropout and the lap press.
    let run_path = args.out.join("demo-run.tcx");
    write_file(&run_path, tcx::write(&simulated.recording).as_bytes())?;
    let bytes = crate::read_file(&run_path)?;
    let recording = pacenote_track::import(&bytes).map_err(|e| CliError::file(&run_path, e))?;

    println!(
        "Pacenote demo: \"{}\" ({}), {}, coached by {}",
        plan.name,
        plan.id,
        plan.totals(),
        persona.name
    );
    println!(
        "A simulated phone run (seed {DEMO_SEED}), written to {} and replayed as if live\n",
        run_path.display()
    );
    let profile = RunnerProfile {
        max_hr_bpm: Some(config.runner.max_hr_bpm),
        resting_hr_bpm: Some(config.runner.resting_hr_bpm),
        lthr_bpm: None,
    };
    let voiced = crate::coach_audio::replay_voiced(
        &plan,
        &recording,
        profile,
        EngineConfig::default(),
        &persona,
        args.pack.as_deref(),
        crate::coach_audio::RunExtras::default(),
    )?;
    let mut texts = voiced.texts.iter();
    for line in
        timeline_with(&voiced.utterances, &voiced.steps, |_| texts.next().cloned().unwrap_or_default())
    {
        println!("{line}");
    }
    // The coach track, the cues and the picture, beside the run.
    let wav_path = args.out.join("run.wav");
    let report = crate::coach_audio::write_track(&voiced, recording.duration_ms() + 10_000, &wav_path)?;
    let json = crate::replay_cmd::to_json_with_texts(
        &voiced.utterances,
        voiced.summary,
        &persona.id,
        &voiced.cue_texts,
    );
    let json_text = serde_json::to_string_pretty(&json).map_err(|e| CliError::Usage(e.to_string()))?;
    write_file(&args.out.join("run.json"), json_text.as_bytes())?;
    let title = format!("{} — coached by {}", plan.name, persona.name);
    let svg = crate::plot::svg(&recording, &voiced.steps, &voiced.utterances, &title, &voiced.texts);
    write_file(&args.out.join("run.svg"), svg.as_bytes())?;
    let (summary, steps) = (voiced.summary, &voiced.steps);
    let true_m = simulated.truth.last().map_or(0.0, |t| t.distance_m);
    println!(
        "\n{} of {} steps done · {} moving · {} measured ({} true) · {} cues spoken, {} dropped",
        summary.steps_completed,
        steps.len(),
        format_clock_s(summary.moving_time_s),
        format_distance_m(summary.distance_m),
        format_distance_m(true_m),
        summary.cues_spoken,
        summary.cues_dropped,
    );
    println!("{}", report.describe(&wav_path, &persona));
    println!("wrote {} and {}", args.out.join("run.json").display(), args.out.join("run.svg").display());
    if let Some((text, why)) = report.unvoiced.first() {
        eprintln!(
            "warning: {} texts with no clip were not voiced ({why}), e.g. {text:?}",
            report.unvoiced.len()
        );
    }
    Ok(())
}

//! `pacenote demo`: the main job of the README. Simulates the bundled run (a runner doing the
//! bundled 5 × 1 km session on a phone, with a traffic-light stop and a GPS dropout), writes it
//! as TCX, reads that file back like any recording, and replays it against the plan, printing
//! the step timeline: steps, kilometre splits, pauses. Cues and coach audio join as the engine
//! and voice land.

use std::path::PathBuf;

use clap::Args;
use pacenote_core::BUNDLED_PLANS;
use pacenote_core::plan::Plan;
use pacenote_core::progress::{PlanProgress, ProgressEvent};
use pacenote_core::units::{SecondsPerKm, format_clock_s, format_distance_m};
use pacenote_track::simulate::{SimConfig, simulate_plan};
use pacenote_track::{Recording, tcx};

use crate::{CliError, write_file};

/// The bundled session: 5 × 1 km with jog recoveries.
const DEMO_PLAN: &str = "intervals-5x1k.json";
/// Seed of the bundled run; any seed gives a realistic run, this one is the documented one.
const DEMO_SEED: u64 = 7;
/// A traffic light in the warm-up: stopped at 6:00 of moving time for 35 s.
const DEMO_STOP_S: (f64, f64) = (360.0, 35.0);
/// A tunnel during the third rep: 30 s with no GPS, starting 21:40 into the run.
const DEMO_DROPOUT_S: (f64, f64) = (1300.0, 30.0);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for what the demo writes (the run as TCX).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
}

pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let (_, plan_json) = BUNDLED_PLANS
        .iter()
        .find(|(name, _)| *name == DEMO_PLAN)
        .ok_or_else(|| CliError::Usage(format!("bundled plan {DEMO_PLAN} is missing from this build")))?;
    let plan = Plan::from_json(plan_json.as_bytes())
        .map_err(|e| CliError::Usage(format!("bundled plan {DEMO_PLAN} is invalid: {e}")))?;
    let mut config = SimConfig::phone(DEMO_SEED);
    config.stops_s.push(DEMO_STOP_S);
    config.gps.dropouts_s.push(DEMO_DROPOUT_S);
    let simulated = simulate_plan(&plan, &config);

    // Write the run and read it back: the demo replays a file, as a user would.
    // TCX, not GPX: it keeps the samples of the GPS dropout and the lap press.
    let run_path = args.out.join("demo-run.tcx");
    write_file(&run_path, tcx::write(&simulated.recording).as_bytes())?;
    let bytes = crate::read_file(&run_path)?;
    let recording = pacenote_track::import(&bytes).map_err(|e| CliError::file(&run_path, e))?;

    println!("Pacenote demo: \"{}\" ({}), {}", plan.name, plan.id, plan.totals());
    println!("Simulated phone run (seed {DEMO_SEED}), written to {}\n", run_path.display());
    let replay = replay(&plan, &recording);
    for line in &replay.lines {
        println!("{line}");
    }
    let true_m = simulated.truth.last().map_or(0.0, |t| t.distance_m);
    let summary = recording.summary();
    println!(
        "\n{} of {} steps done · {} moving · {} measured ({} true) · {} paused",
        replay.steps_done,
        replay.steps_total,
        format_clock_s(summary.moving_time_s),
        format_distance_m(summary.distance_m),
        format_distance_m(true_m),
        format_clock_s(summary.paused_s),
    );
    Ok(())
}

/// The step timeline of a recording replayed against a plan.
#[derive(Debug)]
pub struct Replay {
    pub lines: Vec<String>,
    pub steps_done: usize,
    pub steps_total: usize,
}

/// Feeds a recording through plan progress as if live: samples in run-clock order, pauses at
/// their edges, the recording's lap presses as laps.
pub fn replay(plan: &Plan, recording: &Recording) -> Replay {
    let (distances, _) = recording.cumulative_distance_m();
    let mut progress = PlanProgress::new(plan);
    let steps = progress.steps().to_vec();
    let mut lines = Vec::new();
    let mut laps = recording.laps.iter().map(|l| l.end_ms).peekable();
    let mut pauses = recording.pauses.iter().peekable();
    let mut events = progress.start(0);
    let mut last_m = 0.0;
    for (sample, &distance_m) in recording.samples.iter().zip(&distances) {
        while let Some(pause) = pauses.next_if(|p| p.start_ms <= sample.t_ms) {
            events.extend(progress.pause(pause.start_ms, last_m));
            events.extend(progress.resume(pause.end_ms, last_m));
        }
        events.extend(progress.update(sample.t_ms, distance_m));
        while let Some(at_ms) = laps.next_if(|t| *t <= sample.t_ms) {
            events.extend(progress.lap(at_ms, distance_m));
        }
        last_m = distance_m;
        lines.extend(events.drain(..).map(|e| describe(&e, &steps)));
    }
    let steps_done =
        if progress.is_complete() { steps.len() } else { progress.current_step().map_or(0, |s| s.index) };
    Replay { lines, steps_done, steps_total: steps.len() }
}

fn describe(event: &ProgressEvent, steps: &[pacenote_core::plan::ExpandedStep]) -> String {
    let clock = |ms: u64| format_clock_s(ms as f64 / 1000.0);
    match *event {
        ProgressEvent::StepStarted { index, at_ms, distance_m, .. } => {
            let step = &steps[index];
            let note = step.step.note.as_deref().map(|n| format!("  \"{n}\"")).unwrap_or_default();
            format!(
                "{:>7}  {:>8}  step {}/{} {}{note}",
                clock(at_ms),
                format_distance_m(distance_m),
                index + 1,
                steps.len(),
                step.describe()
            )
        }
        ProgressEvent::Split { km, at_ms, split_ms } => format!(
            "{:>7}  {:>8}  split km {km}: {}/km",
            clock(at_ms),
            format_distance_m(f64::from(km) * 1000.0),
            SecondsPerKm(split_ms as f64 / 1000.0)
        ),
        ProgressEvent::Paused { at_ms } => format!("{:>7}  {:>8}  paused", clock(at_ms), ""),
        ProgressEvent::Resumed { at_ms } => format!("{:>7}  {:>8}  resumed", clock(at_ms), ""),
        ProgressEvent::PlanComplete { at_ms, distance_m, moving_ms } => format!(
            "{:>7}  {:>8}  session complete after {} moving",
            clock(at_ms),
            format_distance_m(distance_m),
            clock(moving_ms)
        ),
    }
}

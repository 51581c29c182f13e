//! `pacenote record` and `pacenote resume`: a recording driven through the engine as a live run
//! (real sleeps, at N× speed), everything written to the device store as it happens, so that a
//! kill at any moment loses at most the last second and `resume` carries on at the right step.
//!
//! The sensor data comes from a file here; on a phone it comes from the host. Must not: write
//! outside the store's transactions, or print anything a test reads before it was stored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use pacenote_core::engine::replay::due_tick_ms;
use pacenote_core::engine::{EngineConfig, Input, RunSummary};
use pacenote_core::persona::{NEUTRAL_PERSONA, Wording};
use pacenote_core::profile::RunnerProfile;
use pacenote_core::speech::Language;
use pacenote_core::units::{format_clock_s, format_distance_m};
use pacenote_sync::Store;
use pacenote_sync::recorder::{Recorder, SessionSetup};
use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::plan_cmd::load_plan;
use crate::replay_cmd::ChattinessArg;
use crate::track_cmd::load_recording;

/// Faster than this the run is fed as fast as the machine goes (no sleeps at all).
const NO_SLEEP_SPEED: f64 = 1e6;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The device store (SQLite), created if missing.
    #[arg(long)]
    db: PathBuf,
    #[arg(long)]
    plan: PathBuf,
    /// A GPX, TCX or FIT recording: the run's sensor data, fed as it happened.
    #[arg(long)]
    track: PathBuf,
    /// Run time passes this many times faster than the wall clock.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// The coach: stone, jakes or jenna (plain wording when not given).
    #[arg(long)]
    persona: Option<String>,
    /// The coach's language: en, de, es or fr (a resumed run goes on in it).
    #[arg(long, default_value = "en")]
    lang: String,
    /// The runner's profile (JSON: max_hr_bpm, resting_hr_bpm, lthr_bpm).
    #[arg(long)]
    profile: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ChattinessArg::Normal)]
    chattiness: ChattinessArg,
    /// The post-run check-in answer (how it felt, 1–10), stored with the run.
    #[arg(long)]
    effort: Option<u8>,
    /// Print `fed T_MS` after every input the engine took (what the crash tests compare with
    /// the store).
    #[arg(long)]
    trace: bool,
    /// Date the run by the recording's own start, as importing a run recorded elsewhere would
    /// (default: now): the history's days, weeks and trends follow the recording's dates.
    #[arg(long)]
    dated_by_track: bool,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The device store holding the interrupted run.
    #[arg(long)]
    db: PathBuf,
    /// Run time speed from here on (default: the speed the run was recorded at).
    #[arg(long)]
    speed: Option<f64>,
    /// Print `fed T_MS` after every input the engine took.
    #[arg(long)]
    trace: bool,
}

/// Where the CLI's sensor data came from, stored with the run for `resume`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Source {
    track: PathBuf,
    speed: f64,
    effort: Option<u8>,
}

fn store_error(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn check_speed(speed: f64) -> Result<f64, CliError> {
    if speed.is_finite() && speed > 0.0 {
        Ok(speed)
    } else {
        Err(CliError::Usage(format!("--speed {speed}: give how many times faster than real time, above 0")))
    }
}

/// A unique run id: start time and process id.
fn new_run_id(started_at_unix_ms: u64) -> String {
    format!("run-{started_at_unix_ms}-{}", std::process::id())
}

fn now_unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

pub fn record(args: &RecordArgs) -> Result<(), CliError> {
    let speed = check_speed(args.speed)?;
    if args.effort.is_some_and(|e| !(1..=10).contains(&e)) {
        return Err(CliError::Usage(
            "--effort is how the run felt, from 1 (very easy) to 10 (maximal)".into(),
        ));
    }
    let mut plan = load_plan(&args.plan)?;
    let recording = load_recording(&args.track)?;
    let profile = match &args.profile {
        Some(path) => crate::replay_cmd::load_profile(path)?,
        None => RunnerProfile::default(),
    };
    let persona_name = args.persona.clone().unwrap_or_else(|| NEUTRAL_PERSONA.to_owned());
    let lang = crate::pack_cmd::parse_language(&args.lang)?;
    crate::replay_cmd::keep_notes_for(&mut plan, lang);
    let voice = wording(&persona_name, lang)?;
    let track = std::path::absolute(&args.track).map_err(|e| CliError::file(&args.track, e))?;
    let source = Source { track, speed, effort: args.effort };
    let setup = SessionSetup {
        profile,
        config: EngineConfig { chattiness: args.chattiness.into(), ..EngineConfig::default() },
        context: Default::default(),
        lang,
        source: Some(serde_json::to_value(&source).map_err(store_error)?),
    };
    let mut store = Store::open(&args.db).map_err(store_error)?;
    let started = match recording.start_time {
        Some(t) if args.dated_by_track => u64::try_from(t.timestamp_millis()).map_err(|_| {
            CliError::Usage(format!("{}: the recording starts before 1970", args.track.display()))
        })?,
        None if args.dated_by_track => {
            return Err(CliError::Usage(format!(
                "{}: --dated-by-track, but the recording has no start time",
                args.track.display()
            )));
        }
        _ => now_unix_ms(),
    };
    let run_id = new_run_id(started);
    let recorder =
        Recorder::start(&mut store, &run_id, &plan, &persona_name, &setup, started).map_err(store_error)?;
    println!(
        "recording {run_id} into {} at {speed}× ({} against \"{}\")",
        args.db.display(),
        args.track.display(),
        plan.name
    );
    let inputs = pacenote_track::replay::to_inputs(&recording);
    Live { store, recorder, voice, speed, trace: args.trace, clock: None }.run(&inputs, args.effort)
}

pub fn resume(args: &ResumeArgs) -> Result<(), CliError> {
    let store = Store::open(&args.db).map_err(store_error)?;
    let Some(run_id) = store.unfinished_run().map_err(store_error)? else {
        return Err(CliError::file(&args.db, "has no unfinished run: there is nothing to resume"));
    };
    let setup = store.setup(&run_id).map_err(store_error)?.ok_or_else(|| store_error("the run vanished"))?;
    let session_setup: SessionSetup = serde_json::from_str(&setup.session_json)
        .map_err(|e| CliError::file(&args.db, format!("run {run_id}: its set-up does not load: {e}")))?;
    let source: Source =
        session_setup.source.and_then(|v| serde_json::from_value(v).ok()).ok_or_else(|| {
            CliError::file(&args.db, format!("run {run_id} was not recorded from a file: the app resumes it"))
        })?;
    let speed = check_speed(args.speed.unwrap_or(source.speed))?;
    let recording = load_recording(&source.track)?;
    // As the recorder stored them: at their sensors' resolution.
    let inputs: Vec<_> = pacenote_track::replay::to_inputs(&recording)
        .into_iter()
        .map(pacenote_core::engine::Input::at_sensor_resolution)
        .collect();
    let (recorder, resumed) = Recorder::resume(&store, &run_id).map_err(store_error)?;
    // The stored inputs are the file's inputs with the engine's own ticks between them: the
    // run goes on at the first file input not stored.
    let stored = store.inputs(&run_id).map_err(store_error)?;
    let next = continue_at(&stored, &inputs).map_err(|at| {
        CliError::file(
            &source.track,
            format!("does not match stored input {at} of run {run_id}: was the file changed?"),
        )
    })?;
    let steps = recorder.session().steps();
    let step = match resumed.step_index {
        Some(i) => format!("step {}/{} ({})", i + 1, steps.len(), steps[i].step.kind.as_str()),
        None if recorder.session().is_finished() => "after the finish".to_owned(),
        None => "before the start".to_owned(),
    };
    println!(
        "resumed {run_id} at {step}, {}, {} elapsed ({} moving), {} inputs replayed",
        format_distance_m(resumed.distance_m),
        format_clock_s(resumed.t_ms as f64 / 1000.0),
        format_clock_s(resumed.moving_ms as f64 / 1000.0),
        resumed.samples
    );
    let voice = wording(&setup.persona, resumed.lang)?;
    // Killed after the check-in was stored but before the run was marked finished: it is not
    // answered twice.
    let answered = stored.iter().any(|(_, json)| {
        serde_json::from_str::<Input>(json).is_ok_and(|i| matches!(i, Input::CheckIn { .. }))
    });
    let effort = source.effort.filter(|_| !answered);
    Live { store, recorder, voice, speed, trace: args.trace, clock: None }.run(&inputs[next..], effort)
}

/// The index of the first file input not among the stored ones, or the stored index where
/// they disagree.
fn continue_at(stored: &[(u64, String)], inputs: &[Input]) -> Result<usize, usize> {
    let mut next = 0;
    for (at, (_, json)) in stored.iter().enumerate() {
        let input: Input = serde_json::from_str(json).map_err(|_| at)?;
        if inputs.get(next) == Some(&input) {
            next += 1;
        } else if !matches!(input, Input::Tick { .. } | Input::CueFinished { .. } | Input::CheckIn { .. }) {
            // Ticks the engine asked for sit between file inputs; anything else must match.
            return Err(at);
        }
    }
    Ok(next)
}

/// The words of a persona by name in a language (or the plain wording).
fn wording(name: &str, lang: Language) -> Result<Wording, CliError> {
    Wording::named_in(name, lang).map_err(|e| CliError::Usage(e.to_string()))
}

/// The run as it happens: sleeps until each input is due on the run clock.
struct Live {
    store: Store,
    recorder: Recorder,
    voice: Wording,
    speed: f64,
    trace: bool,
    /// (wall time, run time) the clock started at.
    clock: Option<(Instant, u64)>,
}

impl Live {
    fn run(mut self, inputs: &[Input], effort: Option<u8>) -> Result<(), CliError> {
        for input in inputs {
            while let Some(t_ms) = due_tick_ms(self.recorder.session(), input.t_ms()) {
                self.feed(&Input::Tick { t_ms })?;
            }
            self.feed(input)?;
        }
        if let Some(effort) = effort {
            let t_ms = self.recorder.session().now_ms() + pacenote_track::replay::CHECK_IN_AFTER_MS;
            self.feed(&Input::CheckIn { t_ms, effort })?;
        }
        let run_id = self.recorder.run_id().to_owned();
        let summary = self.recorder.finish(&mut self.store).map_err(store_error)?;
        print_summary(&run_id, &summary, self.store.path());
        Ok(())
    }

    fn feed(&mut self, input: &Input) -> Result<(), CliError> {
        let t_ms = input.t_ms();
        let (wall, run) = *self.clock.get_or_insert((Instant::now(), t_ms));
        if self.speed < NO_SLEEP_SPEED {
            let due = wall + Duration::from_secs_f64(t_ms.saturating_sub(run) as f64 / 1000.0 / self.speed);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let said = self.recorder.feed(&mut self.store, input).map_err(|e| {
            CliError::Usage(format!(
                "{e}\nthe run is stored up to {}; `pacenote resume --db {}` carries on once this is fixed",
                format_clock_s(self.recorder.session().now_ms() as f64 / 1000.0 - 1.0),
                self.store.path().display()
            ))
        })?;
        for utterance in said {
            let text = self.voice.say(&utterance);
            println!("{}  {text}", format_clock_s(utterance.at_ms as f64 / 1000.0));
            self.recorder.spoken(&utterance, text);
        }
        if self.trace {
            println!("fed {t_ms}");
        }
        Ok(())
    }
}

fn print_summary(run_id: &str, summary: &RunSummary, db: &Path) {
    println!(
        "finished {run_id}: {} · {} moving · {} steps · {} cues spoken · stored in {}",
        format_distance_m(summary.distance_m),
        format_clock_s(summary.moving_time_s),
        summary.steps_completed,
        summary.cues_spoken,
        db.display()
    );
    let _ = std::io::stdout().flush();
}

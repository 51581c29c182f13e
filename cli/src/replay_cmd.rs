//! `pacenote replay`: any recording through the engine as if live, at full speed, printing the
//! cue timeline (or the JSON object of DESIGN §10).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use pacenote_core::coaching::goals::{WeeklyPlan, process_status};
use pacenote_core::coaching::heat::Conditions;
use pacenote_core::cue::Utterance;
use pacenote_core::engine::replay::timeline_with;
use pacenote_core::engine::{Chattiness, EngineConfig, LogRecord, RunContext, RunSummary};
use pacenote_core::persona::Persona;
use pacenote_core::plan::Plan;
use pacenote_core::profile::RunnerProfile;
use pacenote_core::speech::Language;
use pacenote_core::units::format_clock_s;
use serde::Serialize;

use crate::plan_cmd::load_plan;
use crate::track_cmd::load_recording;
use crate::{CliError, read_file};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[arg(long)]
    plan: PathBuf,
    /// A GPX, TCX or FIT recording.
    #[arg(long)]
    track: PathBuf,
    /// The runner's profile (JSON: max_hr_bpm, resting_hr_bpm, lthr_bpm).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// How much the coach talks.
    #[arg(long, value_enum, default_value_t = ChattinessArg::Normal)]
    chattiness: ChattinessArg,
    /// The coach: stone, jakes or jenna (plain wording when not given).
    #[arg(long)]
    persona: Option<String>,
    /// The coach's language: en, de, es or fr.
    #[arg(long, default_value = "en")]
    lang: String,
    /// Print one JSON object instead of the timeline.
    #[arg(long)]
    json: bool,
    /// Render the coach track (needs --persona) to this WAV file.
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Draw pace, heart rate, targets, steps and cues to this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// The persona's voice pack (default: the committed one).
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Air temperature at the start, °C (with --dew-point-c): pace targets are eased for heat.
    #[arg(long, requires = "dew_point_c", allow_hyphen_values = true)]
    temp_c: Option<f64>,
    /// Dew point at the start, °C (with --temp-c).
    #[arg(long, requires = "temp_c", allow_hyphen_values = true)]
    dew_point_c: Option<f64>,
    /// The runner's answer to the post-run check-in (how it felt, 1–10).
    #[arg(long)]
    effort: Option<u8>,
    /// The runner chose to go easy today: the plan is swapped for one easy step.
    #[arg(long)]
    go_easy: bool,
    /// Earlier runs (a folder of GPX/TCX/FIT) for this week's tally and the streak, celebrated
    /// at the finish; with --runs-per-week.
    #[arg(long)]
    history: Option<PathBuf>,
    /// Runs planned per week (process goal).
    #[arg(long, default_value_t = 0)]
    runs_per_week: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChattinessArg {
    Quiet,
    Normal,
    Chatty,
}

impl From<ChattinessArg> for Chattiness {
    fn from(arg: ChattinessArg) -> Self {
        match arg {
            ChattinessArg::Quiet => Chattiness::Quiet,
            ChattinessArg::Normal => Chattiness::Normal,
            ChattinessArg::Chatty => Chattiness::Chatty,
        }
    }
}

/// One cue of the JSON output.
#[derive(Debug, Serialize)]
pub struct JsonCue {
    pub t_s: f64,
    pub kind: &'static str,
    pub priority: pacenote_core::cue::Priority,
    pub persona: String,
    pub text: String,
    pub step: Option<usize>,
    pub utterance: u64,
}

/// The JSON object of DESIGN §10 (and the engine's run log).
#[derive(Debug, Serialize)]
pub struct JsonReplay {
    pub cues: Vec<JsonCue>,
    pub summary: RunSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogRecord>,
}

pub fn run(args: &ReplayArgs) -> Result<(), CliError> {
    let mut plan = load_plan(&args.plan)?;
    let recording = load_recording(&args.track)?;
    let profile = match &args.profile {
        Some(path) => load_profile(path)?,
        None => RunnerProfile::default(),
    };
    if args.effort.is_some_and(|e| !(1..=10).contains(&e)) {
        return Err(CliError::Usage(
            "--effort is how the run felt, from 1 (very easy) to 10 (maximal)".into(),
        ));
    }
    if args.go_easy {
        use pacenote_core::coaching::readiness::easy_instead;
        plan = easy_instead(&plan, profile.max_hr_bpm);
    }
    let mut context = RunContext::default();
    if let (Some(t), Some(d)) = (args.temp_c, args.dew_point_c) {
        context.conditions = Some(Conditions::new(t, d).map_err(|e| CliError::Usage(e.to_string()))?);
    }
    if let Some(dir) = &args.history {
        let today = recording.start_time.map(|t| t.date_naive());
        let Some(today) = today else {
            return Err(CliError::file(&args.track, "has no start date: the week's tally needs one"));
        };
        let runs = crate::coach_cmd::history_runs(dir)?;
        let weekly = (args.runs_per_week > 0).then_some(WeeklyPlan { runs_per_week: args.runs_per_week });
        // Runs of the same day and later are not history.
        let before: Vec<_> = runs.into_iter().filter(|r| r.date < today).collect();
        context.process = Some(process_status(&before, weekly, today));
    }
    let config = EngineConfig { chattiness: args.chattiness.into(), ..EngineConfig::default() };
    let lang = crate::pack_cmd::parse_language(&args.lang)?;
    keep_notes_for(&mut plan, lang);
    let persona = args
        .persona
        .as_deref()
        .map(|id| Persona::bundled_in(id, lang))
        .transpose()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.wav.is_some() && persona.is_none() {
        return Err(CliError::Usage("--wav needs --persona: whose voice should speak?".into()));
    }
    // With a persona, the run is voiced from its pack as it goes (the engine hears when each
    // utterance really ends); without one, the plain wording.
    let (utterances, summary, steps, texts, cue_texts, log) = match &persona {
        Some(p) => {
            let v = crate::coach_audio::replay_voiced(
                &plan,
                &recording,
                profile,
                config,
                p,
                args.pack.as_deref(),
                crate::coach_audio::RunExtras { context, check_in: args.effort },
            )?;
            if let Some(wav) = &args.wav {
                let report = crate::coach_audio::write_track(&v, recording.duration_ms() + 10_000, wav)?;
                eprintln!("{}", report.describe(wav, p));
            }
            (v.utterances, v.summary, v.steps, v.texts, v.cue_texts, v.log)
        }
        None => {
            let r = pacenote_track::replay::replay_in_context(
                &plan,
                &recording,
                profile,
                config,
                context,
                args.effort,
            );
            let texts = r.utterances.iter().map(Utterance::neutral_text).collect();
            let cue_texts = r
                .utterances
                .iter()
                .map(|u| u.cues.iter().map(pacenote_core::cue::neutral_text).collect())
                .collect();
            (r.utterances, r.summary, r.steps, texts, cue_texts, r.log)
        }
    };
    if let Some(svg) = &args.svg {
        let title = format!("{} — {}", plan.name, args.track.display());
        crate::write_file(svg, crate::plot::svg(&recording, &steps, &utterances, &title, &texts).as_bytes())?;
        eprintln!("wrote {}", svg.display());
    }
    if args.json {
        let name = persona.as_ref().map_or(pacenote_core::persona::NEUTRAL_PERSONA, |p| p.id.as_str());
        let mut json = to_json_with_texts(&utterances, summary, name, &cue_texts);
        json.log = log;
        let text = serde_json::to_string_pretty(&json).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!("{} against \"{}\" ({} steps)\n", args.track.display(), plan.name, steps.len());
    let mut text_iter = texts.iter();
    for line in timeline_with(&utterances, &steps, |_| text_iter.next().cloned().unwrap_or_default()) {
        println!("{line}");
    }
    println!(
        "\n{} · {} moving · {} of {} steps · {} cues spoken, {} dropped",
        pacenote_core::units::format_distance_m(summary.distance_m),
        format_clock_s(summary.moving_time_s),
        summary.steps_completed,
        steps.len(),
        summary.cues_spoken,
        summary.cues_dropped
    );
    Ok(())
}

/// The DESIGN §10 JSON, with each cue's words as spoken.
pub fn to_json_with_texts(
    utterances: &[Utterance],
    summary: RunSummary,
    persona: &str,
    cue_texts: &[Vec<String>],
) -> JsonReplay {
    let mut cues = Vec::new();
    for (u, texts) in utterances.iter().zip(cue_texts) {
        for (c, text) in u.cues.iter().zip(texts) {
            cues.push(JsonCue {
                t_s: u.at_ms as f64 / 1000.0,
                kind: c.kind.as_str(),
                priority: c.priority,
                persona: persona.to_owned(),
                text: text.clone(),
                step: c.step,
                utterance: u.id,
            });
        }
    }
    JsonReplay { cues, summary, log: Vec::new() }
}

/// Leaves out a plan's step notes written in another language than the coach's, and says so
/// (on stderr: `replay --json` keeps stdout for its JSON).
pub fn keep_notes_for(plan: &mut Plan, lang: Language) {
    let written = plan.language;
    let left_out = plan.keep_notes_for(lang);
    if let Some(written) = written.filter(|_| left_out > 0) {
        eprintln!(
            "(the plan's {left_out} step notes are written in {}: left out of this {} run)",
            written.code(),
            lang.code()
        );
    }
}

pub fn load_profile(path: &Path) -> Result<RunnerProfile, CliError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::file(
            path,
            format!("{e}; a profile is JSON like {{\"max_hr_bpm\": 188, \"resting_hr_bpm\": 52}}"),
        )
    })
}

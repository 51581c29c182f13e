//! `pacenote replay`: any recording through the engine as if live, at full speed, printing the
//! cue timeline (or the JSON object of DESIGN §10).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use pacenote_core::cue::Utterance;
use pacenote_core::engine::replay::timeline_with;
use pacenote_core::engine::{Chattiness, EngineConfig, RunSummary};
use pacenote_core::persona::Persona;
use pacenote_core::profile::RunnerProfile;
use pacenote_core::units::format_clock_s;
use serde::Serialize;

use crate::plan_cmd::load_plan;
use crate::track_cmd::load_recording;
use crate::{CliError, read_file};

/// The plain, factual wording used when no persona is chosen.
pub const NEUTRAL_PERSONA: &str = "neutral";

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

/// The JSON object of DESIGN §10.
#[derive(Debug, Serialize)]
pub struct JsonReplay {
    pub cues: Vec<JsonCue>,
    pub summary: RunSummary,
}

pub fn run(args: &ReplayArgs) -> Result<(), CliError> {
    let plan = load_plan(&args.plan)?;
    let recording = load_recording(&args.track)?;
    let profile = match &args.profile {
        Some(path) => load_profile(path)?,
        None => RunnerProfile::default(),
    };
    let config = EngineConfig { chattiness: args.chattiness.into(), ..EngineConfig::default() };
    let persona = args
        .persona
        .as_deref()
        .map(Persona::bundled)
        .transpose()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.wav.is_some() && persona.is_none() {
        return Err(CliError::Usage("--wav needs --persona: whose voice should speak?".into()));
    }
    // With a persona, the run is voiced from its pack as it goes (the engine hears when each
    // utterance really ends); without one, the plain wording.
    let (utterances, summary, steps, texts, cue_texts) = match &persona {
        Some(p) => {
            let v = crate::coach_audio::replay_voiced(
                &plan,
                &recording,
                profile,
                config,
                p,
                args.pack.as_deref(),
            )?;
            if let Some(wav) = &args.wav {
                let report = crate::coach_audio::write_track(&v, recording.duration_ms() + 10_000, wav)?;
                eprintln!("{}", report.describe(wav, p));
            }
            (v.utterances, v.summary, v.steps, v.texts, v.cue_texts)
        }
        None => {
            let (u, s, steps) = pacenote_track::replay::replay(&plan, &recording, profile, config);
            let texts = u.iter().map(Utterance::neutral_text).collect();
            let cue_texts =
                u.iter().map(|u| u.cues.iter().map(pacenote_core::cue::neutral_text).collect()).collect();
            (u, s, steps, texts, cue_texts)
        }
    };
    if let Some(svg) = &args.svg {
        let title = format!("{} — {}", plan.name, args.track.display());
        crate::write_file(svg, crate::plot::svg(&recording, &steps, &utterances, &title, &texts).as_bytes())?;
        eprintln!("wrote {}", svg.display());
    }
    if args.json {
        let name = persona.as_ref().map_or(NEUTRAL_PERSONA, |p| p.id.as_str());
        let json = to_json_with_texts(&utterances, summary, name, &cue_texts);
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
    JsonReplay { cues, summary }
}

fn load_profile(path: &Path) -> Result<RunnerProfile, CliError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::file(
            path,
            format!("{e}; a profile is JSON like {{\"max_hr_bpm\": 188, \"resting_hr_bpm\": 52}}"),
        )
    })
}

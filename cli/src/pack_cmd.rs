//! `pacenote pack build`, `pacenote pack notes` and `pacenote pack verify`.

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use pacenote_audio::{notes, pack};
use pacenote_core::BUNDLED_PLANS;
use pacenote_core::persona::Persona;
use pacenote_core::plan::Plan;
use pacenote_core::speech::Language;

use crate::CliError;

use pacenote_audio::tts::Tts;

/// The committed pack of a persona in a language, in this source tree.
pub fn committed_pack(persona: &str, lang: Language) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../audio/packs").join(lang.code()).join(persona)
}

/// A `--lang` argument.
pub fn parse_language(code: &str) -> Result<Language, CliError> {
    Language::from_code(code).ok_or_else(|| {
        let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
        CliError::Usage(format!("--lang {code:?}: the personas speak {}", known.join(", ")))
    })
}

#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Render a persona's phrases and number vocabulary into a voice pack, with the notes of
    /// the bundled plans (the pack's `notes/`).
    Build {
        #[arg(long)]
        persona: String,
        #[arg(long, default_value = "en")]
        lang: String,
        /// Synthesiser: `piper` (the persona's neural voice; models from
        /// PACENOTE_PIPER_MODELS), `espeak`, `auto` (Piper when its models are set, else
        /// espeak-ng), or a command with {text}, {out} (a WAV path), {voice}, {pitch}, {rate}.
        #[arg(long, default_value = "auto")]
        tts: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Render a plan's step notes in a persona's voice into its pack (`PACK/notes/<plan id>.json`
    /// and clips), so the coach reads them in that voice rather than the phone's.
    Notes {
        /// The plan (JSON, ZWO or intervals.icu text).
        plan: PathBuf,
        #[arg(long)]
        persona: String,
        /// The persona's pack folder.
        #[arg(long)]
        pack: PathBuf,
        /// Synthesiser: `piper` (the persona's neural voice; models from
        /// PACENOTE_PIPER_MODELS), `espeak`, `auto` (Piper when its models are set, else
        /// espeak-ng), or a command with {text}, {out} (a WAV path), {voice}, {pitch}, {rate}.
        #[arg(long, default_value = "auto")]
        tts: String,
    },
    /// Check a pack: every phrase present, every hash right, every clip decodable; and the note
    /// sets of the bundled plans, and of any other plan the pack holds notes for.
    Verify { dir: PathBuf },
}

/// A plan's notes rendered by another engine than the pack's phrases would switch voices
/// mid-run: say so (the notes are still built; a user may want that).
fn warn_if_another_voice(pack_dir: &std::path::Path, manifest: Option<&pack::Manifest>, tts: &Tts) {
    let Some(manifest) = manifest else { return };
    let pack_is_piper = manifest.synthesis.as_deref().is_some_and(|s| s.starts_with("Piper"));
    if pack_is_piper != tts.is_piper() {
        eprintln!(
            "warning: {} is voiced by {}; these notes are rendered by another synthesiser and will \
             sound like another voice (pass --tts piper with {} set, or --tts espeak)",
            pack_dir.display(),
            manifest.synthesis.as_deref().unwrap_or("espeak-ng"),
            pacenote_audio::tts::PIPER_MODELS_ENV
        );
    }
}

pub fn run(command: PackCommand) -> Result<(), CliError> {
    match command {
        PackCommand::Build { persona, lang, tts, out } => {
            let tts = Tts::from_arg(&tts).map_err(|e| CliError::Usage(e.to_string()))?;
            let lang = parse_language(&lang)?;
            let persona = Persona::bundled_in(&persona, lang).map_err(|e| CliError::Usage(e.to_string()))?;
            let bar = ProgressBar::new(persona.fragments().len() as u64);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} clips, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("building {}", persona.name));
            let manifest = pack::build(&persona, &tts, &out, |done, _| bar.set_position(done as u64))
                .map_err(|e| CliError::Usage(e.to_string()))?;
            bar.finish_and_clear();
            let mut notes = 0;
            // A plan's notes are voiced by a coach of their own language.
            for plan in bundled_plans()?.iter().filter(|p| p.notes_are_in(lang)) {
                notes += notes::build_notes(&persona, plan, &tts, &out)
                    .map_err(|e| CliError::Usage(e.to_string()))?
                    .clips
                    .len();
            }
            let bytes: u64 = manifest
                .clips
                .iter()
                .filter_map(|c| std::fs::metadata(out.join(&c.file)).ok())
                .map(|m| m.len())
                .sum();
            println!(
                "wrote {}: {} clips, {:.0} KB, version {}; {notes} note clips of the bundled plans\n  voiced by {}",
                out.display(),
                manifest.clips.len(),
                bytes as f64 / 1024.0,
                manifest.version,
                manifest.synthesis.as_deref().unwrap_or("?")
            );
            Ok(())
        }
        PackCommand::Notes { plan, persona, pack, tts } => {
            let tts = Tts::from_arg(&tts).map_err(|e| CliError::Usage(e.to_string()))?;
            // The pack's own language, so the notes are checked and voiced by its script.
            let manifest = pack::read_manifest(&pack).ok();
            let lang =
                manifest.as_ref().and_then(|m| Language::from_code(&m.language)).unwrap_or(Language::En);
            let persona = Persona::bundled_in(&persona, lang).map_err(|e| CliError::Usage(e.to_string()))?;
            warn_if_another_voice(&pack, manifest.as_ref(), &tts);
            let plan = crate::plan_cmd::load_plan(&plan)?;
            let set = notes::build_notes(&persona, &plan, &tts, &pack)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!(
                "wrote {}: {} note clips of plan {} in {}'s voice, version {}",
                notes::note_set_path(&pack, &plan.id).map_err(|e| CliError::Usage(e.to_string()))?.display(),
                set.clips.len(),
                plan.id,
                persona.name,
                set.version
            );
            Ok(())
        }
        PackCommand::Verify { dir } => {
            let (manifest, mut problems) = match pack::verify(&dir) {
                Ok(manifest) => (Some(manifest), Vec::new()),
                Err(problems) => (None, problems.into_iter().map(|p| p.to_string()).collect()),
            };
            let note_sets = verify_note_sets(&dir, manifest.as_ref())?;
            problems.extend(note_sets.problems);
            match manifest {
                Some(manifest) if problems.is_empty() => {
                    println!(
                        "ok: {}: {} pack, {} clips, version {}; {} note sets, {} note clips",
                        dir.display(),
                        manifest.persona,
                        manifest.clips.len(),
                        manifest.version,
                        note_sets.sets,
                        note_sets.clips
                    );
                    Ok(())
                }
                _ => Err(CliError::Problems { path: dir, problems }),
            }
        }
    }
}

/// The bundled plans, read.
fn bundled_plans() -> Result<Vec<Plan>, CliError> {
    BUNDLED_PLANS
        .iter()
        .map(|(file, json)| {
            Plan::from_json(json.as_bytes()).map_err(|e| CliError::Usage(format!("bundled plan {file}: {e}")))
        })
        .collect()
}

/// What checking a pack's note sets found.
struct NoteSetsChecked {
    sets: usize,
    clips: usize,
    problems: Vec<String>,
}

/// Checks the note sets of the pack in `dir` (of its manifest's persona and language, when it has one): every
/// bundled plan's against the plan, and every other set's clips by hash and decoding.
fn verify_note_sets(
    dir: &std::path::Path,
    manifest: Option<&pack::Manifest>,
) -> Result<NoteSetsChecked, CliError> {
    let mut checked = NoteSetsChecked { sets: 0, clips: 0, problems: Vec::new() };
    let Some((persona, lang)) = manifest.and_then(|m| {
        let lang = Language::from_code(&m.language)?;
        Some((Persona::bundled_in(&m.persona, lang).ok()?, lang))
    }) else {
        return Ok(checked);
    };
    let bundled = bundled_plans()?;
    // A pack holds the note sets of the bundled plans written in its language.
    for plan in bundled.iter().filter(|p| p.notes_are_in(lang)) {
        match notes::verify_notes(dir, plan, &persona) {
            Ok(set) => {
                checked.sets += 1;
                checked.clips += set.clips.len();
            }
            Err(problems) => checked.problems.extend(problems.iter().map(ToString::to_string)),
        }
    }
    let sets = notes::read_note_sets(dir).map_err(|e| CliError::Usage(e.to_string()))?;
    for set in sets.iter().filter(|s| !bundled.iter().any(|p| p.id == s.plan)) {
        let notes_dir = dir.join(notes::NOTES_DIR);
        let before = checked.problems.len();
        checked.problems.extend(
            set.clips
                .iter()
                .filter_map(|clip| pack::check_clip(&notes_dir, clip))
                .map(|p| format!("notes/{p}")),
        );
        if checked.problems.len() == before {
            checked.sets += 1;
            checked.clips += set.clips.len();
        }
    }
    Ok(checked)
}

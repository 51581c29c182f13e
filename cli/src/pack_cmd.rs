//! `pacenote pack build` and `pacenote pack verify`.

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use pacenote_audio::pack;
use pacenote_core::persona::Persona;

use crate::CliError;

/// The TTS command the README documents: espeak-ng with the persona's voice, pitch and rate.
pub const ESPEAK_TEMPLATE: &str = "espeak-ng -v {voice} -p {pitch} -s {rate} -w {out} {text}";

/// The committed pack of a persona, in this source tree.
pub fn committed_pack(persona: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../audio/packs/en").join(persona)
}

#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Render a persona's phrases and number vocabulary into a voice pack.
    Build {
        #[arg(long)]
        persona: String,
        #[arg(long, default_value = "en")]
        lang: String,
        /// TTS command; {text}, {out} (a WAV path), {voice}, {pitch} and {rate} are filled in.
        #[arg(long, default_value = ESPEAK_TEMPLATE)]
        tts: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a pack: every phrase present, every hash right, every clip decodable.
    Verify { dir: PathBuf },
}

pub fn run(command: PackCommand) -> Result<(), CliError> {
    match command {
        PackCommand::Build { persona, lang, tts, out } => {
            let persona = Persona::bundled(&persona).map_err(|e| CliError::Usage(e.to_string()))?;
            if persona.language != lang {
                return Err(CliError::Usage(format!(
                    "persona {} speaks {:?}; there is no {lang:?} script yet",
                    persona.id, persona.language
                )));
            }
            let bar = ProgressBar::new(persona.fragments().len() as u64);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} clips, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("building {}", persona.name));
            let manifest = pack::build(&persona, &tts, &out, |done, _| bar.set_position(done as u64))
                .map_err(|e| CliError::Usage(e.to_string()))?;
            bar.finish_and_clear();
            let bytes: u64 = manifest
                .clips
                .iter()
                .filter_map(|c| std::fs::metadata(out.join(&c.file)).ok())
                .map(|m| m.len())
                .sum();
            println!(
                "wrote {}: {} clips, {:.0} KB, version {}",
                out.display(),
                manifest.clips.len(),
                bytes as f64 / 1024.0,
                manifest.version
            );
            Ok(())
        }
        PackCommand::Verify { dir } => match pack::verify(&dir) {
            Ok(manifest) => {
                println!(
                    "ok: {}: {} pack, {} clips, version {}",
                    dir.display(),
                    manifest.persona,
                    manifest.clips.len(),
                    manifest.version
                );
                Ok(())
            }
            Err(problems) => Err(CliError::Problems {
                path: dir,
                problems: problems.into_iter().map(|p| p.to_string()).collect(),
            }),
        },
    }
}

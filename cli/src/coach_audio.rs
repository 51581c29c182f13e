//! The coach's words and voice for a replayed run: the persona's lines for every utterance,
//! the coach track rendered from the persona's pack, and the plot — shared by `demo` and
//! `replay --wav/--svg`.

use std::path::{Path, PathBuf};

use pacenote_audio::render::{Fate, render, write_wav};
use pacenote_audio::voice::{SAMPLE_RATE_HZ, Stitched, TtsCommandFallback, Voice};
use pacenote_core::cue::{Utterance, join_sentences};
use pacenote_core::persona::{Persona, Spoken};
use pacenote_core::units::format_clock_s;

use crate::CliError;

/// What rendering the coach track did.
#[derive(Debug)]
pub struct TrackReport {
    pub duration_s: f64,
    pub played: usize,
    pub dropped: usize,
    pub fallbacks: usize,
    pub unvoiced: Vec<(String, String)>,
}

impl TrackReport {
    pub fn describe(&self, wav: &Path, persona: &Persona) -> String {
        format!(
            "wrote {} ({} of coach track in {}'s voice: {} utterances played, {} dropped by the player, {} texts by speech fallback)",
            wav.display(),
            format_clock_s(self.duration_s),
            persona.name,
            self.played,
            self.dropped,
            self.fallbacks
        )
    }
}

/// The persona's words for each utterance (one string per utterance).
pub fn words(utterances: &[Utterance], persona: &Persona) -> (Vec<String>, Vec<Vec<Spoken>>) {
    let lines = crate::replay_cmd::persona_lines(utterances, persona);
    let texts = lines.iter().map(|l| join_sentences(l.iter().map(|line| line.text.clone()))).collect();
    let parts = lines.iter().map(|l| l.iter().flat_map(|line| line.parts.clone()).collect()).collect();
    (texts, parts)
}

/// Renders the coach track to `wav` from the persona's pack (`pack`, or the committed one).
pub fn write_track(
    utterances: &[Utterance],
    parts: &[Vec<Spoken>],
    persona: &Persona,
    pack: Option<&Path>,
    total_ms: u64,
    wav: &Path,
) -> Result<TrackReport, CliError> {
    let pack_dir: PathBuf =
        pack.map_or_else(|| crate::pack_cmd::committed_pack(&persona.id), Path::to_path_buf);
    let mut voice = Voice::open(&pack_dir).map_err(|e| CliError::Usage(format!("{e} (pass --pack DIR)")))?;
    if voice.manifest().persona != persona.id {
        return Err(CliError::file(
            &pack_dir,
            format!("is {}'s pack, not {}'s", voice.manifest().persona, persona.id),
        ));
    }
    let scratch = std::env::temp_dir().join(format!("pacenote-tts-{}", std::process::id()));
    let mut fallback =
        TtsCommandFallback::new(crate::pack_cmd::ESPEAK_TEMPLATE, persona.voice.clone(), &scratch);
    let mut stitched = Vec::with_capacity(utterances.len());
    for spoken in parts {
        stitched.push(voice.stitch(spoken, &mut fallback).map_err(|e| CliError::Usage(e.to_string()))?);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let items: Vec<(&Utterance, &Stitched)> = utterances.iter().zip(&stitched).collect();
    let track = render(&items, total_ms);
    if let Some(dir) = wav.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::file(dir, e))?;
    }
    write_wav(wav, &track.samples).map_err(CliError::Usage)?;
    let dropped = track.fates.iter().filter(|(_, f)| *f == Fate::Dropped).count();
    Ok(TrackReport {
        duration_s: track.samples.len() as f64 / f64::from(SAMPLE_RATE_HZ),
        played: utterances.len() - dropped,
        dropped,
        fallbacks: stitched.iter().map(|s| s.fallbacks).sum(),
        unvoiced: stitched.into_iter().flat_map(|s| s.unvoiced).collect(),
    })
}

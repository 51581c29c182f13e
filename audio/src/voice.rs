//! Stitching utterances from a pack (DESIGN §6): each clip decoded once, trimmed of its
//! silence, brought to one loudness and faded at both ends so joins do not click; words of a
//! number closer together than phrases; a short lead-in so Bluetooth headsets wake before the
//! first syllable. A step note comes from the plan's note clips in the pack (see
//! [`crate::notes`]); text neither holds goes to the platform's speech fallback (a trait).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pacenote_core::persona::Spoken;
use sha2::{Digest, Sha256};

use crate::notes::{NOTES_DIR, note_set_paths, read_note_set};
use crate::pack::{Manifest, PackError, decode, hex, read_manifest};
use crate::tts::{TARGET_SPEECH_RMS, Tts, audible_span, normalise_speech};

/// Sample rate of stitched speech and rendered tracks (the packs' own rate).
pub const SAMPLE_RATE_HZ: u32 = 16_000;
pub use pacenote_core::cue::LEAD_IN_MS;
/// Gap between the words of one number or unit ("four" "fifty"), and between phrases.
pub const WORD_GAP_MS: u64 = 40;
pub const PHRASE_GAP_MS: u64 = 140;
/// Fade at both ends of every clip: 5 ms removes the click of a cut waveform.
const FADE_MS: u64 = 5;

/// Speech for text no clip holds: AVSpeechSynthesizer / TextToSpeech in the apps.
pub trait SpeechFallback {
    /// Mono samples at [`SAMPLE_RATE_HZ`], −1..1.
    fn speak(&mut self, text: &str) -> Result<Vec<f32>, String>;
}

/// An opened pack with its decoded clips cached.
#[derive(Debug)]
pub struct Voice {
    dir: PathBuf,
    manifest: Manifest,
    by_text: HashMap<String, String>,
    /// Note clips of the pack's note sets: text → (file under `notes/`, its sha256).
    notes: HashMap<String, (String, String)>,
    cache: HashMap<String, Vec<f32>>,
}

/// A stitched utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Stitched {
    pub samples: Vec<f32>,
    /// How many parts came from the speech fallback rather than the pack.
    pub fallbacks: usize,
    /// Texts neither the pack nor the fallback could voice (no synthesiser on this machine),
    /// with why; the rest of the utterance is still spoken.
    pub unvoiced: Vec<(String, String)>,
}

impl Stitched {
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE_HZ)
    }
}

pub(crate) fn ms_to_samples(ms: u64) -> usize {
    (ms * u64::from(SAMPLE_RATE_HZ) / 1000) as usize
}

impl Voice {
    pub fn open(dir: &Path) -> Result<Voice, PackError> {
        let manifest = read_manifest(dir)?;
        let by_text = manifest.clips.iter().map(|c| (c.text.clone(), c.file.clone())).collect();
        // A note set that cannot be read is left out (its notes go to the speech fallback;
        // `pack verify` names it): the pack's own clips still speak.
        let notes = note_set_paths(dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|path| read_note_set(path).ok())
            .filter(|set| set.persona == manifest.persona)
            .flat_map(|set| set.clips)
            .map(|c| (c.text, (format!("{NOTES_DIR}/{}", c.file), c.sha256)))
            .collect();
        Ok(Voice { dir: dir.to_owned(), manifest, by_text, notes, cache: HashMap::new() })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The prepared samples of the clip for `text`, if the pack has one.
    pub fn clip(&mut self, text: &str) -> Result<Option<&[f32]>, PackError> {
        let Some(file) = self.by_text.get(text).cloned() else { return Ok(None) };
        self.load(file, None).map(Some)
    }

    /// The prepared samples of the note clip for `text`, if a note set of the pack has one
    /// whose bytes hash to its record (a damaged note clip is left to the speech fallback,
    /// as an unknown note is).
    pub fn note_clip(&mut self, text: &str) -> Result<Option<&[f32]>, PackError> {
        let Some((file, sha256)) = self.notes.get(text).cloned() else { return Ok(None) };
        match self.load(file, Some(&sha256)) {
            Ok(samples) => Ok(Some(samples)),
            Err(PackError::Io { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Decodes, prepares and caches the clip in `file` (relative to the pack), checking its
    /// hash first when one is given.
    fn load(&mut self, file: String, sha256: Option<&str>) -> Result<&[f32], PackError> {
        if !self.cache.contains_key(&file) {
            let path = self.dir.join(&file);
            let bytes = std::fs::read(&path)
                .map_err(|e| PackError::Io { path: path.clone(), message: e.to_string() })?;
            if let Some(expected) = sha256
                && hex(&Sha256::digest(&bytes)) != expected
            {
                return Err(PackError::Io { path, message: "its bytes do not hash to its record".into() });
            }
            let decoded = decode(&bytes).map_err(|message| PackError::Io { path, message })?;
            let mono: Vec<f32> = decoded
                .samples
                .chunks(usize::from(decoded.channels.max(1)))
                .map(|frame| frame.iter().map(|s| f32::from(*s) / 32768.0).sum::<f32>() / frame.len() as f32)
                .collect();
            let mono = resample(&mono, decoded.sample_rate, SAMPLE_RATE_HZ);
            self.cache.insert(file.clone(), prepare(mono));
        }
        Ok(self.cache.get(&file).map(Vec::as_slice).unwrap_or_default())
    }

    /// Stitches the parts of an utterance, lead-in first.
    pub fn stitch(
        &mut self,
        parts: &[Spoken],
        fallback: &mut dyn SpeechFallback,
    ) -> Result<Stitched, PackError> {
        let mut samples = vec![0.0; ms_to_samples(LEAD_IN_MS)];
        let mut fallbacks = 0;
        let mut unvoiced = Vec::new();
        let mut previous_was_word = false;
        for (i, part) in parts.iter().enumerate() {
            let (text, is_word) = match part {
                Spoken::Fragment(t) => (t.as_str(), false),
                Spoken::Word(w) => (w.as_str(), true),
                Spoken::Free(t) => (t.as_str(), false),
            };
            if i > 0 {
                let gap = if is_word && previous_was_word { WORD_GAP_MS } else { PHRASE_GAP_MS };
                samples.extend(std::iter::repeat_n(0.0, ms_to_samples(gap)));
            }
            previous_was_word = is_word;
            let from_pack = match part {
                Spoken::Free(_) => self.note_clip(text)?.map(<[f32]>::to_vec),
                _ => self.clip(text)?.map(<[f32]>::to_vec),
            };
            match from_pack {
                Some(clip) => samples.extend(clip),
                None => match fallback.speak(text) {
                    Ok(spoken) => {
                        samples.extend(prepare(spoken));
                        fallbacks += 1;
                    }
                    Err(why) => unvoiced.push((text.to_owned(), why)),
                },
            }
        }
        Ok(Stitched { samples, fallbacks, unvoiced })
    }
}

/// Trims silence, brings the speech to the packs' level, fades the ends (a clip built by
/// this crate is trimmed and levelled already; a fallback's speech or an older pack's is not).
fn prepare(samples: Vec<f32>) -> Vec<f32> {
    let mut samples = audible_span(&samples, 0).map_or_else(Vec::new, |span| samples[span].to_vec());
    normalise_speech(&mut samples, TARGET_SPEECH_RMS);
    let fade = ms_to_samples(FADE_MS).min(samples.len() / 2);
    let n = samples.len();
    for i in 0..fade {
        let k = i as f32 / fade as f32;
        samples[i] *= k;
        samples[n - 1 - i] *= k;
    }
    samples
}

/// Linear resampling; speech does not need better for coaching cues.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || samples.is_empty() || from_hz == 0 {
        return samples.to_vec();
    }
    let ratio = f64::from(from_hz) / f64::from(to_hz);
    let n = (samples.len() as f64 / ratio).floor() as usize;
    (0..n)
        .map(|i| {
            let x = i as f64 * ratio;
            let j = x.floor() as usize;
            let frac = (x - j as f64) as f32;
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

/// The speech fallback of the CLI and tests: a synthesiser packs are built with.
#[derive(Debug)]
pub struct TtsCommandFallback {
    tts: Tts,
    voice: pacenote_core::persona::Voice,
    scratch: PathBuf,
}

impl TtsCommandFallback {
    pub fn new(tts: Tts, voice: pacenote_core::persona::Voice, scratch: &Path) -> Self {
        Self { tts, voice, scratch: scratch.to_owned() }
    }
}

impl SpeechFallback for TtsCommandFallback {
    fn speak(&mut self, text: &str) -> Result<Vec<f32>, String> {
        std::fs::create_dir_all(&self.scratch).map_err(|e| format!("{}: {e}", self.scratch.display()))?;
        let wav = self.scratch.join("fallback.wav");
        self.tts.render(text, &self.voice, &wav).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Fate, render};
    use pacenote_core::cue::{Cue, CueKind, CueSlots, Priority, Utterance};
    use pacenote_core::persona::{LineChooser, Persona};
    use pacenote_core::plan::StepKind;
    use pacenote_core::units::SecondsPerKm;

    /// A platform with no synthesiser: every fallback request is refused (and shows up as
    /// unvoiced), so these tests prove the packs alone carry every line.
    struct NoSynthesiser;
    impl SpeechFallback for NoSynthesiser {
        fn speak(&mut self, _: &str) -> Result<Vec<f32>, String> {
            Err("no synthesiser".into())
        }
    }

    fn pack(persona: &str) -> Voice {
        Voice::open(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packs/en").join(persona)).expect("pack")
    }

    fn cue(kind: CueKind) -> Cue {
        let slots = CueSlots {
            pace: Some(SecondsPerKm(298.0)),
            target_pace: Some((SecondsPerKm(285.0), SecondsPerKm(295.0))),
            distance_m: Some(1000.0),
            duration_s: Some(10.0),
            bpm: Some(172.0),
            zone: Some(3),
            rep: Some(2),
            reps: Some(5),
            step_kind: Some(StepKind::Work),
            split_km: Some(3),
            ..CueSlots::default()
        };
        Cue { id: 1, kind, priority: kind.priority(), slots, step: None, at_ms: 0, expires_at_ms: u64::MAX }
    }

    fn utterance(id: u64, at_ms: u64, kind: CueKind) -> Utterance {
        let c = Cue::new(id, kind, cue(kind).slots, None, at_ms);
        Utterance { id, at_ms, early_ms: 0, priority: kind.priority(), cues: vec![c], interrupts: None }
    }

    /// Each utterance voiced by the persona from its pack alone.
    fn stitch_all(persona: &Persona, voice: &mut Voice, utterances: &[Utterance]) -> Vec<Stitched> {
        let mut chooser = LineChooser::new(1);
        utterances
            .iter()
            .map(|u| {
                let parts: Vec<Spoken> =
                    u.cues.iter().flat_map(|c| persona.line(c, &mut chooser).parts).collect();
                voice.stitch(&parts, &mut NoSynthesiser).expect("stitches")
            })
            .collect()
    }

    #[test]
    fn every_persona_says_every_kind_from_its_pack_alone() {
        for persona_id in ["stone", "jakes", "jenna"] {
            let persona = Persona::bundled(persona_id).expect("persona");
            let mut voice = pack(persona_id);
            let mut chooser = LineChooser::new(5);
            for kind in CueKind::ALL {
                for _ in 0..persona.variants(kind).len() {
                    let line = persona.line(&cue(kind), &mut chooser);
                    let stitched = voice.stitch(&line.parts, &mut NoSynthesiser).expect("stitches");
                    assert!(
                        stitched.unvoiced.is_empty(),
                        "{persona_id} {kind:?} {:?}: {:?}",
                        line.text,
                        stitched.unvoiced
                    );
                    assert!(
                        stitched.duration_ms() > LEAD_IN_MS + 200,
                        "{persona_id} {kind:?}: {:?}",
                        line.text
                    );
                }
            }
        }
    }

    #[test]
    fn every_bundled_plans_note_is_said_in_the_personas_voice_and_a_damaged_one_falls_back() {
        for persona_id in ["stone", "jakes", "jenna"] {
            let mut voice = pack(persona_id);
            for (file, json) in pacenote_core::BUNDLED_PLANS {
                let plan = pacenote_core::plan::Plan::from_json(json.as_bytes()).expect("plan");
                for note in plan.notes() {
                    let stitched =
                        voice.stitch(&[Spoken::Free(note.clone())], &mut NoSynthesiser).expect("stitches");
                    assert!(stitched.unvoiced.is_empty(), "{persona_id}, {file}: {note:?} not voiced");
                    assert_eq!(stitched.fallbacks, 0);
                }
            }
        }
        // A copy of Stone's pack whose note clip for one note is damaged: that note goes to
        // the speech fallback (here: none, so it is reported unvoiced), never a wrong clip.
        let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packs/en/stone");
        let dir = std::env::temp_dir().join(format!("pacenote-voice-notes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(NOTES_DIR)).expect("scratch");
        for sub in ["", NOTES_DIR] {
            for entry in std::fs::read_dir(from.join(sub)).expect("pack").flatten() {
                if entry.path().is_file() {
                    std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).expect("copy");
                }
            }
        }
        let note = "Jog it out.";
        let file = dir.join(NOTES_DIR).join(format!("{}.ogg", crate::notes::note_id(note)));
        let mut bytes = std::fs::read(&file).expect("note clip");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).expect("write");
        // And a note set that is not JSON at all: left out, the rest of the pack still speaks.
        std::fs::write(dir.join(NOTES_DIR).join("broken.json"), b"{").expect("write");
        let mut voice = Voice::open(&dir).expect("pack");
        let intact = voice
            .stitch(&[Spoken::Free("Ten minutes easy to get warm.".into())], &mut NoSynthesiser)
            .expect("stitches");
        assert!(intact.unvoiced.is_empty(), "{intact:?}");
        let damaged = voice.stitch(&[Spoken::Free(note.into())], &mut NoSynthesiser).expect("stitches");
        assert_eq!(damaged.unvoiced.len(), 1, "{damaged:?}");
        let unknown =
            voice.stitch(&[Spoken::Free("Jog it out gently.".into())], &mut NoSynthesiser).expect("ok");
        assert_eq!(unknown.unvoiced.len(), 1, "a note no plan has is not in the pack");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stitched_utterance_lasts_its_clips_plus_gaps() {
        let mut voice = pack("stone");
        let parts = vec![
            Spoken::Fragment("Kilometre".into()),
            Spoken::Word("four".into()),
            Spoken::Word("fifty".into()),
            Spoken::Fragment("Split".into()),
        ];
        let clips: usize = ["Kilometre", "four", "fifty", "Split"]
            .iter()
            .map(|t| voice.clip(t).expect("reads").map_or_else(|| panic!("no clip {t}"), <[f32]>::len))
            .sum();
        let stitched = voice.stitch(&parts, &mut NoSynthesiser).expect("stitches");
        let gaps = ms_to_samples(PHRASE_GAP_MS) * 2 + ms_to_samples(WORD_GAP_MS);
        assert_eq!(stitched.samples.len(), ms_to_samples(LEAD_IN_MS) + clips + gaps);
        // No clicks: every clip starts and ends at silence after its fade.
        assert!(stitched.samples.windows(2).all(|w| (w[1] - w[0]).abs() < 0.9));
    }

    #[test]
    fn every_cue_starts_speaking_within_50_ms_of_its_time() {
        let persona = Persona::bundled("jenna").expect("persona");
        let mut voice = pack("jenna");
        let utterances = [
            utterance(1, 1_000, CueKind::Countdown),
            utterance(2, 6_000, CueKind::Split),
            utterance(3, 12_000, CueKind::BackOnPace),
        ];
        let stitched = stitch_all(&persona, &mut voice, &utterances);
        let items: Vec<(&Utterance, &Stitched)> = utterances.iter().zip(&stitched).collect();
        let track = render(&items, 20_000);
        for u in &utterances {
            let from = ms_to_samples(u.at_ms);
            let onset = track.samples[from..].iter().position(|s| s.abs() > 0.02).expect("audible");
            let onset_ms = onset as u64 * 1000 / u64::from(SAMPLE_RATE_HZ);
            assert!(
                (LEAD_IN_MS..=LEAD_IN_MS + 50).contains(&onset_ms),
                "utterance {} speaks {onset_ms} ms after its time (lead-in {LEAD_IN_MS} ms)",
                u.id
            );
        }
    }

    #[test]
    fn a_countdown_handed_over_a_lead_in_early_speaks_on_its_time() {
        let persona = Persona::bundled("stone").expect("persona");
        let mut voice = pack("stone");
        let countdown = Utterance { early_ms: LEAD_IN_MS, ..utterance(1, 5_000, CueKind::Countdown) };
        let stitched = stitch_all(&persona, &mut voice, std::slice::from_ref(&countdown));
        let track = render(&[(&countdown, &stitched[0])], 10_000);
        let from = ms_to_samples(countdown.at_ms - LEAD_IN_MS);
        let onset = track.samples[from..].iter().position(|s| s.abs() > 0.02).expect("audible");
        let onset_ms =
            (countdown.at_ms - LEAD_IN_MS + onset as u64 * 1000 / u64::from(SAMPLE_RATE_HZ)) as i64;
        assert!((onset_ms - countdown.at_ms as i64).abs() <= 20, "first word at {onset_ms} ms, due 5000");
    }

    #[test]
    fn the_player_interrupts_for_urgent_cues_and_drops_stale_ones() {
        let persona = Persona::bundled("stone").expect("persona");
        let mut voice = pack("stone");
        let utterances = [
            utterance(1, 0, CueKind::Split),
            // Safety cuts the split short.
            utterance(2, 300, CueKind::HrVeryHigh),
            // A countdown (1.5 s lifetime) while the safety cue plays: stale by the time it ends.
            utterance(3, 400, CueKind::Countdown),
        ];
        let stitched = stitch_all(&persona, &mut voice, &utterances);
        let items: Vec<(&Utterance, &Stitched)> = utterances.iter().zip(&stitched).collect();
        let track = render(&items, 10_000);
        assert_eq!(track.fates[0], (1, Fate::Played { start_ms: 0, end_ms: 300 }));
        assert!(matches!(track.fates[1], (2, Fate::Played { start_ms: 300, .. })));
        assert_eq!(track.fates[2], (3, Fate::Dropped));
        assert_eq!(utterances[2].priority, Priority::StepChange);
    }
}

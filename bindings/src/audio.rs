//! The coach's voice inside the library (DESIGN §6): a run session with audio attached stitches
//! each utterance from the persona's pack, plays it through the host's [`AudioOutput`] with the
//! host's [`AudioFocus`] ducking other audio while the coach speaks (and giving it back when
//! quiet), says text no clip holds through the host's [`SpeechFallback`], and tells the engine
//! itself when each utterance ended — the host only feeds sensors and ticks.
//!
//! All clips are decoded and the plan's step notes synthesised when audio is attached, so a
//! feed call never reads a file or waits for a synthesiser. Must not: play over the music
//! without asking for focus first; stall the coach when the output fails (a failed utterance
//! counts as ended).

use std::collections::HashMap;
use std::sync::Arc;

use pacenote_audio::live::{self, LivePlayer, PlayerEvent};
use pacenote_audio::voice::{self, SAMPLE_RATE_HZ, Voice};
use pacenote_core::engine::Input;

/// The host's audio failed.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum AudioFailure {
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AudioFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: format!("the host threw: {}", e.reason) }
    }
}

/// Mono 16-bit PCM, little-endian bytes (a `ByteArray` / `Data` on the other side, no boxing).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Pcm {
    pub samples_le: Vec<u8>,
    pub sample_rate_hz: u32,
}

impl Pcm {
    fn from_f32(samples: &[f32], sample_rate_hz: u32) -> Self {
        let samples_le = samples
            .iter()
            .flat_map(|s| ((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16).to_le_bytes())
            .collect();
        Self { samples_le, sample_rate_hz }
    }

    fn to_f32(&self) -> Vec<f32> {
        self.samples_le
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect()
    }
}

/// Where the coach's voice goes (AVAudioPlayerNode, AudioTrack). Both calls return at once.
#[uniffi::export(with_foreign)]
pub trait AudioOutput: Send + Sync {
    /// Starts playing `pcm` now, replacing anything playing.
    fn play(&self, pcm: Pcm) -> Result<(), AudioFailure>;
    /// Stops at once (a more urgent utterance cuts in).
    fn stop(&self);
}

/// The platform's audio focus: AVAudioSession `.duckOthers`, Android
/// `AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK`.
#[uniffi::export(with_foreign)]
pub trait AudioFocus: Send + Sync {
    /// Ducks other audio before the coach speaks. An error (a phone call holds the audio) lets
    /// the coach speak anyway, without ducking.
    fn duck(&self) -> Result<(), AudioFailure>;
    /// Gives the audio back when the coach is quiet.
    fn release(&self);
}

/// The platform's speech synthesiser for text no clip holds (a plan's step notes), in the
/// persona's voice as far as the platform allows. May take a while: it is called when audio is
/// attached, and during a run only for text nobody could foresee.
#[uniffi::export(with_foreign)]
pub trait SpeechFallback: Send + Sync {
    fn synthesize(&self, text: String) -> Result<Pcm, AudioFailure>;
}

struct HostOutput(Arc<dyn AudioOutput>);

impl live::AudioOutput for HostOutput {
    fn play(&mut self, samples: &[f32]) -> Result<(), String> {
        self.0.play(Pcm::from_f32(samples, SAMPLE_RATE_HZ)).map_err(|e| e.to_string())
    }

    fn stop(&mut self) {
        self.0.stop();
    }
}

struct HostFocus(Arc<dyn AudioFocus>);

impl live::AudioFocus for HostFocus {
    fn duck(&mut self) -> Result<(), String> {
        self.0.duck().map_err(|e| e.to_string())
    }

    fn release(&mut self) {
        self.0.release();
    }
}

/// The host's synthesiser with what it already said kept.
struct HostSpeech {
    host: Arc<dyn SpeechFallback>,
    said: HashMap<String, Vec<f32>>,
}

impl voice::SpeechFallback for HostSpeech {
    fn speak(&mut self, text: &str) -> Result<Vec<f32>, String> {
        if let Some(samples) = self.said.get(text) {
            return Ok(samples.clone());
        }
        let pcm = self.host.synthesize(text.to_owned()).map_err(|e| e.to_string())?;
        let samples = voice::resample(&pcm.to_f32(), pcm.sample_rate_hz, SAMPLE_RATE_HZ);
        self.said.insert(text.to_owned(), samples.clone());
        Ok(samples)
    }
}

/// A session's voice: the pack, the player and the synthesiser.
pub(crate) struct Audio {
    voice: Voice,
    player: LivePlayer<HostOutput, HostFocus>,
    speech: HostSpeech,
}

impl Audio {
    /// Opens `pack_dir` for `persona`, decodes every clip, and readies `notes`: from the plan's
    /// note clips in the pack where it has them, else by the host's synthesiser.
    pub fn attach(
        pack_dir: &str,
        persona: &str,
        lang: pacenote_core::speech::Language,
        notes: &[String],
        output: Arc<dyn AudioOutput>,
        focus: Arc<dyn AudioFocus>,
        speech: Arc<dyn SpeechFallback>,
    ) -> Result<Self, String> {
        let mut voice = Voice::open(std::path::Path::new(pack_dir)).map_err(|e| e.to_string())?;
        if voice.manifest().persona != persona {
            return Err(format!("{pack_dir} is {}'s pack, not {persona}'s", voice.manifest().persona));
        }
        if voice.manifest().language != lang.code() {
            // Every line would miss its clip and go to the platform's voice.
            return Err(format!(
                "{pack_dir} is {persona}'s {} pack, and this run speaks {}: attach packDir({persona}, {})",
                voice.manifest().language,
                lang.code(),
                lang.code()
            ));
        }
        let texts: Vec<String> = voice.manifest().clips.iter().map(|c| c.text.clone()).collect();
        for text in &texts {
            voice.clip(text).map_err(|e| e.to_string())?;
        }
        let mut speech = HostSpeech { host: speech, said: HashMap::new() };
        for note in notes {
            if voice.note_clip(note).map_err(|e| e.to_string())?.is_some() {
                continue;
            }
            // A note the platform cannot say is skipped now and tried again when it is due.
            if let Err(e) = voice::SpeechFallback::speak(&mut speech, note) {
                tracing::warn!(error = %e, "the speech fallback could not say a step note");
            }
        }
        Ok(Self { voice, player: LivePlayer::new(HostOutput(output), HostFocus(focus)), speech })
    }

    /// The inputs that tell the engine what finished by `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Input> {
        finished(self.player.tick(now_ms))
    }

    /// Voices an utterance; returns the inputs for what ended at once (a failed output, a
    /// dropped utterance).
    pub fn offer(
        &mut self,
        utterance: &pacenote_core::cue::Utterance,
        parts: &[pacenote_core::persona::Spoken],
    ) -> Vec<Input> {
        let stitched = match self.voice.stitch(parts, &mut self.speech) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "an utterance could not be stitched");
                return vec![Input::CueFinished { utterance_id: utterance.id, at_ms: utterance.at_ms }];
            }
        };
        for (text, why) in &stitched.unvoiced {
            tracing::warn!(text = %text, why = %why, "said nothing for text no clip or synthesiser could voice");
        }
        finished(self.player.offer(utterance.at_ms, utterance.clone(), stitched))
    }

    pub fn busy_until_ms(&self) -> Option<u64> {
        self.player.busy_until_ms()
    }
}

/// The player's endings as the engine's `cue_finished` inputs.
fn finished(events: Vec<PlayerEvent>) -> Vec<Input> {
    events
        .into_iter()
        .filter_map(|e| match e {
            PlayerEvent::Finished { id, at_ms } | PlayerEvent::Failed { id, at_ms } => {
                Some(Input::CueFinished { utterance_id: id, at_ms })
            }
            PlayerEvent::Dropped { id } => Some(Input::CueFinished { utterance_id: id, at_ms: 0 }),
            PlayerEvent::Started { .. } | PlayerEvent::Interrupted { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{CueListener, LocationFix, RunOptions, RunSession, Utterance};

    #[derive(Default)]
    struct Host {
        /// What the host saw, in order: "duck", "release", "play <ms>", "stop", "say <text>".
        log: Mutex<Vec<String>>,
        heard: Mutex<Vec<Utterance>>,
    }
    impl Host {
        fn push(&self, line: String) {
            self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
        }
        fn log(&self) -> Vec<String> {
            self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        }
    }
    impl AudioOutput for Host {
        fn play(&self, pcm: Pcm) -> Result<(), AudioFailure> {
            assert_eq!(pcm.sample_rate_hz, SAMPLE_RATE_HZ);
            self.push(format!(
                "play {}",
                pcm.samples_le.len() as u64 / 2 * 1000 / u64::from(pcm.sample_rate_hz)
            ));
            Ok(())
        }
        fn stop(&self) {
            self.push("stop".into());
        }
    }
    impl AudioFocus for Host {
        fn duck(&self) -> Result<(), AudioFailure> {
            self.push("duck".into());
            Ok(())
        }
        fn release(&self) {
            self.push("release".into());
        }
    }
    impl SpeechFallback for Host {
        fn synthesize(&self, text: String) -> Result<Pcm, AudioFailure> {
            self.push(format!("say {text}"));
            // Half a second of a quiet tone at 22.05 kHz, as a platform synthesiser might give.
            let tone: Vec<f32> = (0..11_025).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
            Ok(Pcm::from_f32(&tone, 22_050))
        }
    }
    impl CueListener for Host {
        fn on_utterance(&self, utterance: Utterance) {
            self.heard.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(utterance);
        }
    }

    /// `plan` coached by `persona`, the host reporting when each utterance ends.
    fn voiced(plan: &str, persona: &str) -> RunOptions {
        RunOptions { persona: persona.into(), audio_reports_finish: true, ..RunOptions::plan(plan) }
    }

    fn pack(persona: &str) -> String {
        format!("{}/../audio/packs/en/{persona}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn the_library_voices_a_run_from_the_pack_with_focus_around_each_burst() {
        // The bundled plan with one note of the runner's own: the bundled notes have note clips
        // in Jenna's pack, the new one is synthesised up front by the host.
        let plan = include_str!("../../core/plans/intervals-5x1k.json")
            .replace("\"Jog it out.\"", "\"Jog it out, shake the legs loose.\"");
        let host = Arc::new(Host::default());
        let s = RunSession::new(voiced(&plan, "jenna"), host.clone()).expect("session");
        s.attach_audio(pack("jenna"), host.clone(), host.clone(), host.clone()).expect("attach");
        let said: Vec<String> = host.log().into_iter().filter(|l| l.starts_with("say ")).collect();
        assert_eq!(said, ["say Jog it out, shake the legs loose."]);
        let synthesised = host.log().len();
        s.start(0).expect("start");
        let mut t = 0;
        for second in 1..=2400u64 {
            // The host ticks every second and when the library asks.
            while let Some(w) = s.next_wakeup_ms().filter(|w| *w < second * 1000 && *w > t) {
                s.tick(w).expect("tick");
                t = w;
            }
            t = second * 1000;
            s.location(LocationFix {
                t_ms: t,
                lat_deg: 0.0,
                lon_deg: second as f64 * 3.4 / 111_320.0,
                horizontal_accuracy_m: 5.0,
                speed_mps: Some(3.4),
                speed_accuracy_mps: None,
                altitude_m: None,
            })
            .expect("fix");
            s.tick(t).expect("tick");
        }
        let log = host.log()[synthesised..].to_vec();
        let heard = host.heard.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
        let plays = log.iter().filter(|l| l.starts_with("play")).count();
        assert!(heard > 5 && plays == heard, "{heard} utterances, {plays} played: {log:?}");
        assert!(log.iter().filter(|l| l.starts_with("play")).all(|l| l != "play 0"));
        // Focus: ducked before the first word of a burst, given back after the last; never
        // ducked twice without giving it back.
        assert_eq!(log.first().map(String::as_str), Some("duck"));
        let mut ducked = false;
        for line in &log {
            match line.as_str() {
                "duck" => {
                    assert!(!ducked, "ducked twice: {log:?}");
                    ducked = true;
                }
                "release" => {
                    assert!(ducked);
                    ducked = false;
                }
                l if l.starts_with("play") => assert!(ducked, "played without focus: {log:?}"),
                _ => {}
            }
        }
        assert!(!ducked, "the music is given back at the end");
        assert!(log.iter().filter(|l| *l == "release").count() > 1, "released between bursts");
        assert_eq!(s.summary().cues_dropped, 0);
    }

    #[test]
    fn attaching_audio_refuses_what_cannot_work() {
        let plan = include_str!("../../core/plans/tempo-20.json").to_owned();
        let host = Arc::new(Host::default());
        let neutral = RunSession::new(voiced(&plan, "neutral"), host.clone()).expect("session");
        let e = neutral
            .attach_audio(pack("jenna"), host.clone(), host.clone(), host.clone())
            .expect_err("neutral");
        assert!(e.to_string().contains("neutral"), "{e}");
        let s = RunSession::new(
            RunOptions { audio_reports_finish: false, ..voiced(&plan, "stone") },
            host.clone(),
        )
        .expect("session");
        let e =
            s.attach_audio(pack("stone"), host.clone(), host.clone(), host.clone()).expect_err("settings");
        assert!(e.to_string().contains("audio_reports_finish"), "{e}");
        let s = RunSession::new(voiced(&plan, "stone"), host.clone()).expect("session");
        let e =
            s.attach_audio(pack("jenna"), host.clone(), host.clone(), host.clone()).expect_err("wrong pack");
        assert!(e.to_string().contains("not stone's"), "{e}");
        // A French run with Stone's English pack: every line would go to the platform's voice.
        let french =
            RunSession::new(RunOptions { lang: "fr".into(), ..voiced(&plan, "stone") }, host.clone())
                .expect("session");
        let e = french
            .attach_audio(pack("stone"), host.clone(), host.clone(), host.clone())
            .expect_err("wrong language");
        assert!(e.to_string().contains("this run speaks fr"), "{e}");
        let fr_pack = format!("{}/../audio/packs/fr/stone", env!("CARGO_MANIFEST_DIR"));
        french.attach_audio(fr_pack, host.clone(), host.clone(), host.clone()).expect("the French pack");
        let e = s.attach_audio("/nowhere".into(), host.clone(), host.clone(), host).expect_err("no pack");
        assert!(e.to_string().contains("/nowhere"), "{e}");
    }
}

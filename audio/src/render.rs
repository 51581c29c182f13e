//! Offline render: a whole run's coach track as the phone would play it, with no audio device.
//! The player's rules hold here too: one utterance at a time; a more urgent one cuts off a less
//! urgent one; otherwise it waits for the current one to end — unless by then it has expired,
//! in which case it is dropped, never spoken late.

use pacenote_core::cue::{Priority, Utterance};

use crate::live::{cuts_in, expires_at_ms};
use crate::voice::{SAMPLE_RATE_HZ, Stitched};

/// What happened to each utterance in the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Played from `start_ms` to `end_ms` (cut short when a more urgent one interrupted).
    Played { start_ms: u64, end_ms: u64 },
    /// Stale before it could be played.
    Dropped,
}

/// The rendered track.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub samples: Vec<f32>,
    /// Per utterance, in the order given.
    pub fates: Vec<(u64, Fate)>,
}

fn sample_at(ms: u64) -> usize {
    (ms * u64::from(SAMPLE_RATE_HZ) / 1000) as usize
}

/// Renders utterances (in time order) with their stitched audio into one track.
pub fn render(items: &[(&Utterance, &Stitched)], total_ms: u64) -> Track {
    let mut samples = vec![0.0f32; sample_at(total_ms)];
    let mut fates: Vec<(u64, Fate)> = Vec::with_capacity(items.len());
    // The utterance playing: (index into fates, start, end, priority).
    let mut playing: Option<(usize, u64, u64, Priority)> = None;
    for (utterance, audio) in items {
        let expires = expires_at_ms(utterance);
        let mut start = utterance.at_ms;
        if let Some((index, p_start, p_end, p_priority)) = playing
            && start < p_end
        {
            if cuts_in(utterance.priority, p_priority) {
                // Cut the current one off here.
                let (from, to) = (sample_at(start).min(samples.len()), sample_at(p_end).min(samples.len()));
                samples[from..to].iter_mut().for_each(|s| *s = 0.0);
                fates[index] = (fates[index].0, Fate::Played { start_ms: p_start, end_ms: start });
            } else {
                start = p_end;
            }
        }
        if start > expires {
            fates.push((utterance.id, Fate::Dropped));
            continue;
        }
        let from = sample_at(start);
        if samples.len() < from + audio.samples.len() {
            samples.resize(from + audio.samples.len(), 0.0);
        }
        for (dst, src) in samples[from..].iter_mut().zip(&audio.samples) {
            *dst = src.clamp(-1.0, 1.0);
        }
        let end = start + audio.duration_ms();
        fates.push((utterance.id, Fate::Played { start_ms: start, end_ms: end }));
        playing = Some((fates.len() - 1, start, end, utterance.priority));
    }
    Track { samples, fates }
}

/// Writes a track as 16-bit mono WAV.
pub fn write_wav(path: &std::path::Path, samples: &[f32]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    for s in samples {
        writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).map_err(|e| e.to_string())?;
    }
    writer.finalize().map_err(|e| e.to_string())
}

/// Reads a mono 16-bit WAV into −1..1 samples (for the speech fallback's output and tests).
pub fn read_wav(path: &std::path::Path) -> Result<(u32, Vec<f32>), String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i32> = reader.samples::<i32>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let scale = f32::from(1u16 << (spec.bits_per_sample.clamp(8, 16) - 1));
    let mono = raw
        .chunks(channels)
        .map(|f| f.iter().map(|s| *s as f32 / scale).sum::<f32>() / f.len() as f32)
        .collect();
    Ok((spec.sample_rate, mono))
}

//! Offline render: a whole run's coach track as the phone would play it, with no audio device.
//! The player's rules hold here too: one utterance at a time; a more urgent one cuts off a less
//! urgent one; otherwise it waits for the current one to end — unless by then it has expired,
//! in which case it is dropped, never spoken late (the rules are `pacenote_core::cue`'s:
//! [`Priority::cuts_in`], [`Utterance::expires_at_ms`]).
//!
//! Must not: play or write anything ([`crate::wav`] writes the track).

use pacenote_core::cue::{Priority, Utterance};

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
        let expires = utterance.expires_at_ms();
        // Its audio starts when it was handed over: lead-in first, first word on its time.
        let mut start = utterance.starts_at_ms();
        if let Some((index, p_start, p_end, p_priority)) = playing
            && start < p_end
        {
            if utterance.priority.cuts_in(p_priority) {
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

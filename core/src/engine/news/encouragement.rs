//! Encouragement: only after a long silence, only as often as the runner's chattiness allows,
//! only when it is true (on target), and never praise for speed on an easy day.
//!
//! Must not: crowd out information, or praise a runner who needs correcting.

use super::News;
use crate::cue::{CueKind, CueSlots};
use crate::units::SecondsPerKm;

/// Encouragement only after this much silence: it never crowds out information.
const ENCOURAGE_AFTER_SILENCE_MS: u64 = 120_000;
/// Within this much of the band counts as on target for praise.
const ON_TARGET_MARGIN_S_PER_KM: f64 = 5.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encouragement {
    last_utterance_ms: u64,
    last_encouragement_ms: u64,
}

/// What encouragement needs to know at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub now_ms: u64,
    /// From the chattiness setting; `None`: never.
    pub every_ms: Option<u64>,
    /// Something is being said or waits to be.
    pub busy: bool,
    /// The step's pace band (fastest, slowest), if it has one.
    pub band: Option<(SecondsPerKm, SecondsPerKm)>,
    pub pace: Option<SecondsPerKm>,
    /// An easy or recovery step.
    pub easy: bool,
}

impl Encouragement {
    /// At the start of the run: silence is counted from here.
    pub fn start(&mut self, t_ms: u64) {
        self.last_utterance_ms = t_ms;
        self.last_encouragement_ms = t_ms;
    }

    /// Something was said at `t_ms`.
    pub fn heard(&mut self, t_ms: u64) {
        self.last_utterance_ms = t_ms;
    }

    pub fn update(&mut self, m: Moment) -> Option<News> {
        let every = m.every_ms?;
        if m.now_ms.saturating_sub(self.last_utterance_ms) < ENCOURAGE_AFTER_SILENCE_MS
            || m.now_ms.saturating_sub(self.last_encouragement_ms) < every
            || m.busy
        {
            return None;
        }
        // Only when nothing needs correcting: praise must be true.
        let on_target = match m.band {
            Some((fast, slow)) => m.pace.is_some_and(|p| {
                p.0 >= fast.0 - ON_TARGET_MARGIN_S_PER_KM && p.0 <= slow.0 + ON_TARGET_MARGIN_S_PER_KM
            }),
            None => true,
        };
        if !on_target {
            return None;
        }
        self.last_encouragement_ms = m.now_ms;
        // No praise for speed on easy days: encouragement there never mentions pace.
        let slots = CueSlots { pace: m.pace.filter(|_| !m.easy), ..CueSlots::default() };
        Some(News { kind: CueKind::Encouragement, slots, at_ms: m.now_ms })
    }
}

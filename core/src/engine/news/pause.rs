//! "Paused" and "resumed" when the timer stops and starts by itself (auto-pause).
//!
//! Must not: give a running commentary of a runner dithering at a crossing.

use super::News;
use crate::cue::CueKind;

/// Auto-pause and resume are announced at most this often; the timer still follows the
/// runner in between (a runner dithering at a crossing does not need a running commentary).
const PAUSE_ANNOUNCE_GAP_MS: u64 = 20_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PauseNews {
    last_news_ms: Option<u64>,
}

impl PauseNews {
    /// `kind` is [`CueKind::AutoPaused`] or [`CueKind::AutoResumed`].
    pub fn update(&mut self, kind: CueKind, t_ms: u64) -> Option<News> {
        if self.last_news_ms.is_some_and(|last| t_ms.saturating_sub(last) < PAUSE_ANNOUNCE_GAP_MS) {
            return None;
        }
        self.last_news_ms = Some(t_ms);
        Some(News::new(kind, t_ms))
    }
}

//! "Paused" and "moving again" when the timer stops and starts by itself (auto-pause), in
//! pairs: every "paused" the runner heard is followed by "moving again" when the timer runs
//! again — whoever starts it (the runner moving, the app's own resume) — or by the run's end.
//!
//! Must not: give a running commentary of a runner dithering at a crossing, or leave a
//! "paused" hanging.

use super::News;
use crate::cue::CueKind;

/// A new "paused" is said at most this long after the last pause news; the timer still
/// follows the runner in between (a runner dithering at a crossing does not need a running
/// commentary). The "moving again" of a "paused" that was said is never held back.
const PAUSE_ANNOUNCE_GAP_MS: u64 = 20_000;

/// "Paused" is due this long after the timer stopped, and dropped unsaid if the runner is off
/// again before then: a stop is news once it has lasted ~10 s (4 s to detect it, then this),
/// and "paused, resumed" two seconds apart is noise.
pub const PAUSE_NEWS_AFTER_MS: u64 = 5_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PauseNews {
    last_news_ms: Option<u64>,
    /// A "paused" has been said (or is waiting to be) and its "moving again" has not.
    pause_said: bool,
}

impl PauseNews {
    /// The timer stopped by itself.
    pub fn paused(&mut self, t_ms: u64) -> Option<News> {
        if self.pause_said
            || self.last_news_ms.is_some_and(|last| t_ms.saturating_sub(last) < PAUSE_ANNOUNCE_GAP_MS)
        {
            return None;
        }
        self.last_news_ms = Some(t_ms);
        self.pause_said = true;
        Some(News::new(CueKind::AutoPaused, t_ms + PAUSE_NEWS_AFTER_MS))
    }

    /// The timer runs again, by whatever cause: "moving again" when its "paused" was said.
    pub fn resumed(&mut self, t_ms: u64) -> Option<News> {
        if !self.pause_said {
            return None;
        }
        self.last_news_ms = Some(t_ms);
        self.pause_said = false;
        Some(News::new(CueKind::AutoResumed, t_ms))
    }

    /// A "paused" waiting to be said was dropped (the runner moved on before it was spoken):
    /// there is no pair to finish.
    pub fn pause_unsaid(&mut self) {
        self.pause_said = false;
    }

    /// A "moving again" waiting to be said was dropped (the timer stopped again before it was
    /// spoken): the earlier "paused" still stands and still needs its pair.
    pub fn resume_unsaid(&mut self) {
        self.pause_said = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_said_pause_always_gets_its_resume_however_soon() {
        let mut news = PauseNews::default();
        assert!(news.paused(0).is_some());
        assert_eq!(news.resumed(3_000).map(|n| n.kind), Some(CueKind::AutoResumed));
        // Dithering: the next stop within the gap is not said, nor its start.
        assert!(news.paused(8_000).is_none());
        assert!(news.resumed(12_000).is_none());
        assert!(news.paused(40_000).is_some());
    }

    #[test]
    fn no_resume_without_a_said_pause() {
        let mut news = PauseNews::default();
        assert!(news.resumed(1_000).is_none());
        assert!(news.paused(2_000).is_some());
        news.pause_unsaid();
        assert!(news.resumed(3_000).is_none());
    }
}

//! "GPS signal lost" and "GPS is back": said only for losses long enough to matter, the loss
//! at most once in ten minutes, the return only after a loss that was said.
//!
//! Must not: announce a loss while the run is paused, or a return nobody heard the loss of.

use super::News;
use crate::cue::CueKind;
use crate::signal::pace::GpsStatus;

/// GPS lost is said only once it has been gone this long (shorter losses only make the pace
/// unknown for a moment), and not again within [`GPS_LOST_REPEAT_MS`].
const GPS_LOST_ANNOUNCE_AFTER_MS: u64 = 15_000;
const GPS_LOST_REPEAT_MS: u64 = 600_000;
/// "GPS is back" only after a loss at least this long (short losses are not news).
const GPS_BACK_AFTER_LOSS_MS: u64 = 15_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpsNews {
    lost_said_ms: Option<u64>,
    lost_since: Option<u64>,
}

impl GpsNews {
    pub fn update(&mut self, now_ms: u64, gps: GpsStatus, paused: bool) -> Option<News> {
        match gps {
            GpsStatus::Lost { since_ms } => {
                let since = *self.lost_since.get_or_insert(since_ms);
                let announced = self.lost_said_ms.is_some_and(|t| t >= since);
                let repeat_ok =
                    self.lost_said_ms.is_none_or(|t| now_ms.saturating_sub(t) >= GPS_LOST_REPEAT_MS);
                if !announced
                    && repeat_ok
                    && now_ms.saturating_sub(since) >= GPS_LOST_ANNOUNCE_AFTER_MS
                    && !paused
                {
                    self.lost_said_ms = Some(now_ms);
                    return Some(News::new(CueKind::GpsLost, now_ms));
                }
                None
            }
            GpsStatus::Good => {
                let since = self.lost_since.take()?;
                (now_ms.saturating_sub(since) >= GPS_BACK_AFTER_LOSS_MS
                    && self.lost_said_ms.is_some_and(|t| t >= since))
                .then(|| News::new(CueKind::GpsBack, now_ms))
            }
            // Fixes are coming back but have not settled: neither a new loss nor back yet.
            GpsStatus::Returning { .. } | GpsStatus::Waiting => None,
        }
    }
}

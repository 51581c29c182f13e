//! Target coaching within a step: when to tell the runner to speed up, ease off, or that they
//! are back on target — for pace bands and heart-rate zones.
//!
//! The rules are the ones that keep good coaches quiet and right:
//! - a correction only when the runner is *surely* outside the band *plus a tolerance*: by a
//!   sequential test on each raw speed reading (Doppler, treadmill), by a test on windows of
//!   raw readings from 6 s to 2 min ([`crate::signal::recent`]), or — with nothing raw — by
//!   evidence from the smoothed estimate; the smoothed estimate must agree in every case.
//!   Noisy GPS cannot flip-flop it, and a clear change is caught in seconds;
//! - then a cooldown that grows with each repeat (escalation), and silence after three: they
//!   heard it;
//! - never the opposite correction soon after one ("speed up" then "slow down");
//! - praise once when back on target;
//! - a grace period at a step start (runners take seconds to settle; heart rate lags 45–60 s),
//!   during which an HR rep is judged by pace against the runner's own earlier reps.
//!
//! Pure decisions; the scheduler decides when they are spoken.

use std::collections::VecDeque;

use crate::cue::CueKind;
use crate::signal::display::DISPLAY_WINDOW_MS;
use crate::signal::grade::{Adjustment, AltitudeSource, GradeEstimator};
use crate::signal::pace::PaceEstimate;
use crate::signal::recent::{DOPPLER_INDEPENDENT_EVERY_S, WINDOWS_S, WindowSpeed};
use crate::units::SecondsPerKm;

/// Beyond the band by this much before a pace correction: ±5 s/km is within what a runner can
/// feel, and well outside what a good estimate wobbles.
pub const PACE_TOLERANCE_S_PER_KM: f64 = 5.0;
/// Evidence needed before a pace correction, in σ·seconds: a CUSUM of how far the estimate is
/// beyond the band plus tolerance, in units of its own standard deviation, less an allowance.
/// A clear 10 % change gets there in a few seconds; noise around the band edge does not
/// (tuned with `pacenote bench pace` for under 0.5 false cues an hour).
pub const PACE_EVIDENCE_SIGMA_S: f64 = 8.0;
/// Per second, readings less than this many σ beyond the edge add nothing.
pub const PACE_EVIDENCE_ALLOWANCE_SIGMA: f64 = 1.0;
/// The estimate's σ is floored here: a filter sure to the cm/s would make any bias look like
/// evidence.
const PACE_SIGMA_FLOOR_MPS: f64 = 0.05;
/// Evidence counts at most this long per update (a gap in updates is not evidence).
const PACE_EVIDENCE_MAX_STEP_S: f64 = 2.0;
/// The same kind of evidence taken from each raw speed reading (Doppler, treadmill) as it
/// comes, which is far quicker than the filter's smoothed speed: σ beyond band + tolerance,
/// less an allowance, summed until this threshold. For a runner on target the sum drifts
/// down by at least the tolerance each reading, so noise reaches 4.5 σ about once in several
/// hours (Siegmund's approximation; `pacenote bench pace`), while a 10 % change with phone
/// Doppler (σ 0.15 m/s) gets there in about five readings.
pub const READING_EVIDENCE_SIGMA: f64 = 4.5;
pub const READING_EVIDENCE_ALLOWANCE_SIGMA: f64 = 0.5;
/// A correction says its figure only when the figure's σ is at most this (s/km), so that
/// nine in ten figures said are within 10 s/km of the truth (1.645 σ); otherwise its words go
/// without a number ("Pick it up. Target five thirty."): a figure further off than that would
/// be worse than none. This holds for a figure from speed readings too (their mean since the
/// evidence began, σ/√n): a correction comes a few readings after a change, and at 6:30/km
/// eight readings of phone Doppler (σ 0.15 m/s) leave ±8 s/km. On `pacenote bench pace`
/// (every run its own draw) 92 % of the figures said are within 10 s/km and 61 % of
/// corrections carry one; with readings' figures always said, 87 % and 83 %. (Waiting up
/// to 5 s for a figure known well enough instead took detection with Doppler from 14.8 to
/// 16.8 s, past its 15-s goal.)
pub const SPOKEN_PACE_MAX_SIGMA_S_PER_KM: f64 = 6.0;
/// A stretch's readings say how much they scatter from this many on.
const SCATTER_MIN_READINGS: usize = 5;
/// Reported speed accuracies are floored here: phones can claim centimetres per second.
const READING_SIGMA_FLOOR_MPS: f64 = 0.1;
/// Outside (band + tolerance) this long before a pace correction when judged by dwell (the
/// early part of an HR rep).
pub const PACE_DWELL_MS: u64 = 8_000;
/// No pace corrections in a step's first seconds: the runner is still changing speed.
pub const PACE_STEP_GRACE_MS: u64 = 20_000;
/// From positions alone the filter's speed corrects only when a window of positions at least
/// this long (s), all of it from after the runner settled into the step, agrees: a 24-s window
/// through 8 m of white noise is ±0.2 m/s, as likely as not beyond the band with the filter,
/// and a window reaching back into the start holds the filter's first, noisiest speeds
/// (`pacenote bench pace`: 5 of 14 false corrections in 8 h of steady runs with σ 8 m white
/// GPS came 32–42 s after the start). Until one is full — about 56 s into a step, or after a
/// restart — the windows' own tests speak for positions.
const SMOOTHED_GATE_MIN_WINDOW_S: f64 = 48.0;
/// ... and agrees by this many of its own σ beyond the band: wandering error moves the filter
/// and the window together, and a window just past the edge is no second opinion (8 m of
/// wander: 1.50 false corrections an hour on `bench pace` with the window's bare speed, 0.13
/// with 1.5 σ, 0 with 2 σ; a 10 % change is then corrected in 135 s instead of 111 — and in
/// 161 s with 2 σ; the position-error groups, whose windows are sharp, do not move).
const SMOOTHED_GATE_SIGMAS: f64 = 1.5;
/// After a GPS loss, with positions alone (no Doppler, device speed or cadence to bridge with),
/// no pace correction until the track has been back [`REACQUIRE_SETTLE_MS`]: a phone's first
/// fixes after a gap converge over several seconds, and that convergence reads as speed
/// (OpenTracks #1519, #1905). The filter starts again then, and the windows fill only with
/// fixes from after it.
pub use crate::signal::pace::REACQUIRE_SETTLE_MS;
/// On grades this steep (up or down) the coach speaks effort, not pace: no pace corrections
/// there, even grade-adjusted (a runner labouring up a 6 % climb at the right effort is on
/// target whatever the watch says; GAP's own error over a short climb is a few per cent).
pub const HILL_GRADE: f64 = 0.03;
/// Slower than this share of the band's slow end, the runner has stopped or is walking on
/// purpose (a crossing, a hill, a drink): a coach does not shout "pick it up" at them.
pub const SPEED_UP_MIN_SHARE_OF_BAND: f64 = 0.7;
/// Back inside the band this long before "right on target".
pub const BACK_ON_TARGET_DWELL_MS: u64 = 5_000;
/// Cooldown after the 1st, 2nd and 3rd correction in the same direction; no 4th.
pub const CORRECTION_COOLDOWN_MS: [u64; 3] = [45_000, 60_000, 90_000];
/// Never the opposite correction within this long of one: the classic flip-flop.
pub const OPPOSITE_CORRECTION_GAP_MS: u64 = 45_000;
/// Heart rate lags effort: 45–60 s to settle at a step start (phase-II HR kinetics, τ ≈ 20–40 s;
/// DESIGN §3). No HR corrections before this.
pub const HR_LAG_GRACE_MS: u64 = 60_000;
/// Beyond the zone by this many bpm before an HR correction (strap and zone-edge noise).
pub const HR_TOLERANCE_BPM: f64 = 3.0;
/// Outside (zone + tolerance) this long before an HR correction.
pub const HR_DWELL_MS: u64 = 15_000;
/// In the HR grace period, a rep run this much faster than the runner's earlier reps of the
/// same step (which reached the zone) is going out too hard.
pub const EARLY_REP_TOO_FAST_SHARE: f64 = 0.08;
/// Heart rate above this share of max for [`HR_VERY_HIGH_DWELL_MS`] is a safety cue.
pub const HR_VERY_HIGH_SHARE_OF_MAX: f64 = 0.97;
pub const HR_VERY_HIGH_DWELL_MS: u64 = 10_000;
pub const HR_VERY_HIGH_COOLDOWN_MS: u64 = 120_000;

/// Which way the runner is off target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Off {
    /// Too fast / heart rate too high.
    High,
    /// Too slow / heart rate too low.
    Low,
}

/// A correction or praise the monitor wants said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub kind: CueKind,
    /// 1 for the first correction in a direction, then 2, 3; 0 for praise.
    pub escalation: u8,
    /// The pace a pace correction is about, to be spoken as it is: it lies beyond the band
    /// plus tolerance on the side the words say (see [`PaceMonitor::update`]); `None` when it
    /// is not known well enough to say ([`SPOKEN_PACE_MAX_SIGMA_S_PER_KM`]).
    pub pace: Option<SecondsPerKm>,
}

/// The dwell / cooldown / escalation machine shared by pace and HR targets.
#[derive(Debug, Clone, Default, PartialEq)]
struct Corrections {
    outside_since: Option<(Off, u64)>,
    inside_since: Option<u64>,
    last_correction: Option<(Off, u64)>,
    in_a_row: u8,
    awaiting_back: bool,
}

impl Corrections {
    /// `off`: where the reading is (None: within band + tolerance); `inside`: within the band
    /// proper. Returns what to say, if anything.
    fn judge(
        &mut self,
        t_ms: u64,
        off: Option<Off>,
        inside: bool,
        dwell_ms: u64,
        kinds: (CueKind, CueKind, CueKind),
    ) -> Option<Decision> {
        let (too_high, too_low, back) = kinds;
        match off {
            Some(direction) => {
                self.inside_since = None;
                let since = match self.outside_since {
                    Some((d, since)) if d == direction => since,
                    _ => {
                        self.outside_since = Some((direction, t_ms));
                        t_ms
                    }
                };
                if t_ms - since < dwell_ms {
                    return None;
                }
                let (repeats, flip) = match self.last_correction {
                    Some((d, _)) if d == direction => (self.in_a_row, false),
                    Some((_, at)) => (0, t_ms.saturating_sub(at) < OPPOSITE_CORRECTION_GAP_MS),
                    None => (0, false),
                };
                if flip || usize::from(repeats) >= CORRECTION_COOLDOWN_MS.len() {
                    return None;
                }
                if let Some((d, at)) = self.last_correction
                    && d == direction
                    && repeats > 0
                    && t_ms.saturating_sub(at) < CORRECTION_COOLDOWN_MS[usize::from(repeats) - 1]
                {
                    return None;
                }
                self.in_a_row = repeats + 1;
                self.last_correction = Some((direction, t_ms));
                self.outside_since = None;
                self.awaiting_back = true;
                Some(Decision {
                    kind: if direction == Off::High { too_high } else { too_low },
                    escalation: self.in_a_row,
                    pace: None,
                })
            }
            None => {
                self.outside_since = None;
                if !inside {
                    self.inside_since = None;
                    return None;
                }
                let since = *self.inside_since.get_or_insert(t_ms);
                if self.awaiting_back && t_ms - since >= BACK_ON_TARGET_DWELL_MS {
                    self.awaiting_back = false;
                    self.in_a_row = 0;
                    return Some(Decision { kind: back, escalation: 0, pace: None });
                }
                None
            }
        }
    }

    /// Forgets a half-counted dwell (the signal became unknown).
    fn pause_evidence(&mut self) {
        self.outside_since = None;
        self.inside_since = None;
    }
}

/// A speed and its σ, m/s.
type SpeedAndSigma = (f64, f64);

/// A CUSUM over raw speed readings on one side of the band, and the readings of its own stretch
/// (since it last stood at zero) within the display window.
#[derive(Debug, Clone, Default, PartialEq)]
struct ReadingEvidence {
    /// In σ, capped at [`READING_EVIDENCE_SIGMA`]: more would only delay noticing the runner
    /// is back.
    sigma: f64,
    /// (t_ms, speed) of the stretch's readings of the last [`DISPLAY_WINDOW_MS`].
    readings: VecDeque<(u64, f64)>,
    /// The σ of the newest reading (floored), m/s.
    sigma_mps: f64,
}

impl ReadingEvidence {
    fn add(&mut self, t_ms: u64, beyond_sigma: f64, speed_mps: f64, sigma_mps: f64) {
        self.sigma_mps = sigma_mps;
        self.sigma = (self.sigma + beyond_sigma).clamp(0.0, READING_EVIDENCE_SIGMA);
        if self.sigma > 0.0 {
            self.readings.push_back((t_ms, speed_mps));
            while self.readings.front().is_some_and(|(t, _)| t_ms.saturating_sub(*t) > DISPLAY_WINDOW_MS) {
                self.readings.pop_front();
            }
        } else {
            self.readings.clear();
        }
    }

    /// The mean speed of the stretch's latest readings, once the evidence is sure: what
    /// convinced it, and no older than a display's window (the evidence may have stood sure
    /// through a cooldown for minutes).
    /// With the σ of that mean: the readings' reported (or default) σ over √n, or — where the
    /// readings scatter less than that says (a watch's smoothed speed, a phone that reports no
    /// accuracy) — their own scatter, taken as independent only every
    /// [`DOPPLER_INDEPENDENT_EVERY_S`].
    fn sure_speed(&self) -> Option<SpeedAndSigma> {
        let n = self.readings.len() as f64;
        if self.sigma < READING_EVIDENCE_SIGMA || n == 0.0 {
            return None;
        }
        let mean = self.readings.iter().map(|(_, v)| v).sum::<f64>() / n;
        let sigma_mps = if self.readings.len() >= SCATTER_MIN_READINGS {
            let scatter = self.readings.iter().map(|(_, v)| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
            self.sigma_mps.min(scatter.sqrt() * DOPPLER_INDEPENDENT_EVERY_S.sqrt())
        } else {
            self.sigma_mps
        };
        Some((mean, sigma_mps / n.sqrt()))
    }

    fn forget(&mut self) {
        self.sigma = 0.0;
        self.readings.clear();
    }
}

/// Coaching towards a pace band.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceMonitor {
    /// Band as paces, s/km: (fastest, slowest), and the tolerance beyond it.
    band_s_per_km: (f64, f64),
    tolerance_s_per_km: f64,
    /// Band as speeds in m/s: (slowest allowed, fastest allowed).
    band_mps: (f64, f64),
    /// Band widened by the tolerance.
    outer_mps: (f64, f64),
    /// CUSUM evidence of running too fast and too slow (σ·s), and when it was last updated.
    evidence_fast: f64,
    evidence_slow: f64,
    last_update_ms: Option<u64>,
    /// The same from raw speed readings (σ), and the time of the last reading taken.
    reading_fast: ReadingEvidence,
    reading_slow: ReadingEvidence,
    last_reading_ms: Option<u64>,
    /// No corrections before this (the runner is getting going again after a stop).
    quiet_until_ms: u64,
    corrections: Corrections,
    hill: HillNews,
    /// Since when the tests have said the same thing, and when they last said it (for the
    /// terrain check).
    verdict_since: Option<(Off, u64, u64)>,
    /// When the runner was last on a hill ([`HILL_GRADE`]).
    last_hill_ms: Option<u64>,
}

/// A verdict that lapses for no longer than this and comes back is the same verdict.
const VERDICT_FLICKER_MS: u64 = 3_000;
/// The grade the speed now is adjusted by is the barometer's over this last stretch.
const SHORT_GRADE_WINDOW_MS: u64 = 10_000;
/// Where altitude is known, a verdict must have held this long, so that the grade over the
/// stretch it is about is measured (a barometer needs ~8 s to tell a 6 % climb from the flat).
pub const TERRAIN_CONFIRM_MS: u64 = 8_000;
/// With GPS altitude alone the grade is a 60-s slope that lags a change of grade by ~30 s: a
/// verdict waits that long (`pacenote bench pace`, hilly GPS-altitude runs: 29 false
/// corrections an hour with Doppler at the barometer's 8 s).
pub const GPS_TERRAIN_CONFIRM_MS: u64 = 30_000;
/// With GPS altitude alone, no correction this long after the runner was last on a hill: the
/// evidence (up to a 2-min window, a minute of readings) still holds the hill's pace, raw.
const GPS_HILL_MEMORY_MS: u64 = 60_000;

/// A climb worth a word is at least this steep (corrections are already withheld from
/// [`HILL_GRADE`]; a 3 % rise on a long easy run is not news).
pub const HILL_NEWS_GRADE: f64 = 0.04;
/// "Hold the effort" is said once per climb, and not more often than this on rolling hills.
pub const HILL_NEWS_GAP_MS: u64 = 180_000;
/// The watch's pace has been behind the band this long on the climb before the coach says so.
const HILL_NEWS_DWELL_MS: u64 = 5_000;

/// "Hill: hold the effort, the pace will come back" — said once per climb, when the runner's
/// raw pace has fallen behind the band (what their watch shows) on a climb, where the
/// grade-adjusted judgement is quiet.
#[derive(Debug, Clone, Default, PartialEq)]
struct HillNews {
    behind_since_ms: Option<u64>,
    said_this_climb: bool,
    last_said_ms: Option<u64>,
}

impl HillNews {
    fn update(
        &mut self,
        t_ms: u64,
        grade: Option<f64>,
        raw_speed: Option<f64>,
        slowest_mps: f64,
    ) -> Option<Decision> {
        let climbing = grade.is_some_and(|g| g >= HILL_NEWS_GRADE);
        if grade.is_none_or(|g| g < HILL_GRADE / 2.0) {
            // Off the climb: the next one is news again.
            self.said_this_climb = false;
        }
        let behind = raw_speed.is_some_and(|v| v < slowest_mps);
        if !(climbing && behind) || self.said_this_climb {
            self.behind_since_ms = None;
            return None;
        }
        let since = *self.behind_since_ms.get_or_insert(t_ms);
        let rested = self.last_said_ms.is_none_or(|at| t_ms.saturating_sub(at) >= HILL_NEWS_GAP_MS);
        if t_ms - since < HILL_NEWS_DWELL_MS || !rested {
            return None;
        }
        self.said_this_climb = true;
        self.last_said_ms = Some(t_ms);
        self.behind_since_ms = None;
        Some(Decision { kind: CueKind::HillEffort, escalation: 0, pace: None })
    }
}

impl PaceMonitor {
    /// `fastest_s_per_km` < `slowest_s_per_km`; `extra_tolerance_s` widens the band (the runner
    /// said it feels hard).
    pub fn new(fastest_s_per_km: f64, slowest_s_per_km: f64, extra_tolerance_s: f64) -> Self {
        let tolerance = PACE_TOLERANCE_S_PER_KM + extra_tolerance_s;
        let speed = |s_per_km: f64| 1000.0 / s_per_km.max(1.0);
        Self {
            band_s_per_km: (fastest_s_per_km, slowest_s_per_km),
            tolerance_s_per_km: tolerance,
            band_mps: (speed(slowest_s_per_km), speed(fastest_s_per_km)),
            outer_mps: (speed(slowest_s_per_km + tolerance), speed((fastest_s_per_km - tolerance).max(60.0))),
            evidence_fast: 0.0,
            evidence_slow: 0.0,
            last_update_ms: None,
            reading_fast: ReadingEvidence::default(),
            reading_slow: ReadingEvidence::default(),
            last_reading_ms: None,
            quiet_until_ms: 0,
            last_hill_ms: None,
            corrections: Corrections::default(),
            hill: HillNews::default(),
            verdict_since: None,
        }
    }

    /// `spoken` is the pace the runner would hear now (the display estimate): a correction is
    /// made only when it, as spoken (to the second), lies beyond the band plus tolerance on
    /// the side the words say — otherwise the correction waits — and it is the pace the
    /// decision carries. The words never contradict their number.
    pub fn update(
        &mut self,
        t_ms: u64,
        step_moving_ms: u64,
        estimate: &PaceEstimate,
        spoken: impl FnOnce() -> Option<SecondsPerKm>,
        terrain: Option<&GradeEstimator>,
    ) -> Option<Decision> {
        // Judged grade-adjusted when altitude is known (the caller passes no terrain for a plan
        // whose hills are raw): each speed as its flat equivalent over the stretch it was
        // measured on — the speed now by the grade of the last seconds, each window by its own
        // — and the pace that would be spoken likewise.
        let long_grade = terrain.and_then(GradeEstimator::grade);
        let long = long_grade.map(|g| g.grade);
        let short_grade = terrain.and_then(|g| g.grade_since(t_ms.saturating_sub(SHORT_GRADE_WINDOW_MS)));
        // GPS altitude tells a climb from the flat, but not 1 % from 2 % (σ ≈ 1 % of grade over
        // 150 m even when its error is white, and it is not): it withholds corrections on a
        // hill, and leaves the pace raw elsewhere — adjusting by it only adds its noise.
        let adjustment = short_grade
            .or(long_grade)
            .filter(|g| g.source == AltitudeSource::Barometer)
            .map_or(Adjustment::NONE, |g| g.adjustment());
        let factor = adjustment.factor;
        let raw_speed = estimate.speed_mps;
        let mut adjusted = estimate.grade_adjusted(adjustment);
        if let (Some(terrain), Some(recent), Some(raw)) = (terrain, adjusted.recent.as_mut(), estimate.recent)
        {
            for (w, raw) in recent.windows.iter_mut().zip(raw.windows) {
                if let (Some(w), Some(raw)) = (w.as_mut(), raw)
                    && let Some(g) = terrain.grade_since(raw.from_ms)
                {
                    *w = raw.adjusted(g.adjustment());
                }
            }
        }
        let estimate = &adjusted;
        // GPS altitude's grade lags a climb by its 150-m baseline, and speed readings (Doppler,
        // a foot pod) show the slowing at its foot within seconds: with readings, one σ of the
        // grade's doubt counts as hill. (Positions alone need windows of 24 s and more, by
        // which time the grade has caught up; the doubt would only slow them on the flat.)
        let quick_evidence = estimate.reading.is_some();
        let on_a_hill = [long_grade, short_grade].iter().flatten().any(|g| {
            let doubt = if g.source == AltitudeSource::Gps && quick_evidence { g.sigma } else { 0.0 };
            g.grade.abs() + doubt >= HILL_GRADE
        });
        if on_a_hill {
            self.last_hill_ms = Some(t_ms);
        }
        // With GPS altitude nothing is adjusted for grade: the windows and readings just off a
        // hill still hold its pace (the climb's slowness, the descent's speed), and the 60-s
        // grade no longer shows the hill they were run on.
        let gps_terrain = long_grade.is_some_and(|g| g.source == AltitudeSource::Gps);
        let just_off_a_hill =
            gps_terrain && self.last_hill_ms.is_some_and(|h| t_ms.saturating_sub(h) < GPS_HILL_MEMORY_MS);
        let terrain_known = terrain.is_some_and(GradeEstimator::has_altitude);
        let dt_s = self.last_update_ms.map_or(0.0, |last| t_ms.saturating_sub(last) as f64 / 1000.0);
        self.last_update_ms = Some(t_ms);
        if let Some(back_ms) = estimate.reacquired_at_ms
            && estimate.reading.is_none()
        {
            self.quiet_until_ms = self.quiet_until_ms.max(back_ms + REACQUIRE_SETTLE_MS);
        }
        let settled = step_moving_ms >= PACE_STEP_GRACE_MS && t_ms >= self.quiet_until_ms;
        let Some(speed) = estimate.speed_mps.filter(|_| settled) else {
            self.forget_evidence();
            self.corrections.pause_evidence();
            return None;
        };
        if let Some(hill) = self.hill.update(t_ms, long, raw_speed, self.outer_mps.0) {
            return Some(hill);
        }
        let may_push = speed >= SPEED_UP_MIN_SHARE_OF_BAND * self.band_mps.0;
        // Three tests, each "beyond band + tolerance, surely": recent windows of raw GPS
        // readings and each raw speed reading as it comes (quick on a clear change), and
        // evidence from the smoothed estimate (slow, but it is what notices a small excess
        // held for minutes, and what there is for cadence alone).
        let (window_fast, window_slow) = self.window_test(t_ms, step_moving_ms, estimate, speed);
        // Readings come in bursts of error (a watch's speed dropping to nothing under a bridge):
        // the smoothed estimate has to agree with them too.
        let (reading_fast, reading_slow) = self.reading_test(estimate, may_push);
        let (reading_fast, reading_slow) = (
            reading_fast.filter(|_| speed > self.outer_mps.1),
            reading_slow.filter(|_| speed < self.outer_mps.0),
        );
        let (smoothed_fast, smoothed_slow) = self.smoothed_test(dt_s, estimate, speed, may_push);
        // From positions alone the filter's speed follows the track's wander for tens of
        // seconds, which its CUSUM counts as evidence second by second: the longest window
        // of positions (of at least [`SMOOTHED_GATE_MIN_WINDOW_S`], from after the runner
        // settled) has to lie beyond the band on the same side too, by
        // [`SMOOTHED_GATE_SIGMAS`] (on `pacenote bench pace` at first: false corrections with
        // σ 8 m white GPS 2.5 → 1.0 an hour, before a change 5.0 → 0). With no such window
        // yet, positions speak only through the windows' own tests.
        // (Looked up only when the smoothed test is sure: this is the per-sample path.)
        let longest = || {
            let windows = estimate.recent.filter(|_| estimate.reading.is_none())?;
            let long = windows.windows.iter().zip(WINDOWS_S).rev();
            let settled_since_ms = self.settled_since_ms(t_ms, step_moving_ms);
            let long = long.filter(|(_, s)| *s >= SMOOTHED_GATE_MIN_WINDOW_S).flat_map(|(w, _)| *w);
            Some(long.filter(|w| w.from_ms >= settled_since_ms).find(|w| !w.doppler))
        };
        let (smoothed_fast, smoothed_slow) = match (smoothed_fast || smoothed_slow).then(longest).flatten() {
            Some(Some(w)) => {
                let doubt_mps = SMOOTHED_GATE_SIGMAS * w.sigma_mps;
                (
                    smoothed_fast && w.speed_mps - doubt_mps > self.band_mps.1,
                    smoothed_slow && w.slow_end_mps() + doubt_mps < self.band_mps.0,
                )
            }
            Some(None) => (false, false),
            None => (smoothed_fast, smoothed_slow),
        };
        // The speed the sure evidence rests on: the raw readings' mean since their evidence began;
        // else, from positions alone, the newest window that was sure — its own speed, far
        // steadier than a 10-s display of the filter's speed — with its σ. (A Doppler window is
        // not spoken: the display's Doppler mean is as good and newer, where a window sure of a
        // slow stretch may reach back two minutes.)
        let evidence = |reading: Option<SpeedAndSigma>, window: Option<WindowSpeed>| {
            let window = window.filter(|w| !w.doppler).map(|w| (w.speed_mps, w.sigma_mps));
            reading.or(window)
        };
        let (verdict, evidence_mps) = if window_fast.is_some() || reading_fast.is_some() || smoothed_fast {
            (Some(Off::High), evidence(reading_fast, window_fast))
        } else if may_push && (window_slow.is_some() || reading_slow.is_some() || smoothed_slow) {
            (Some(Off::Low), evidence(reading_slow, window_slow))
        } else {
            (None, None)
        };
        // The display estimate (what the runner's watch shows now), worked out only when there
        // is something to say (this is the per-sample path); and the number to speak: the
        // evidence's speed where readings or a window convinced the test, else the display.
        let display = verdict.and_then(|_| spoken()).map(|p| SecondsPerKm(p.0 / factor));
        let (spoken, figure_sigma_mps) = match evidence_mps {
            Some((mps, sigma)) => (SecondsPerKm::from_speed_mps(mps), Some(sigma)),
            None => (display, estimate.reading.is_none().then_some(estimate.speed_sigma_mps * factor)),
        };
        // Honest words: the number to be spoken has to say the same, or the correction waits
        // (with its evidence kept) until it does.
        // Where altitude is known, a verdict waits until the grade over its own stretch is
        // known too: the runner slows at the foot of a climb seconds before any altitude can
        // show it.
        // A verdict flickering for a second (the grade's own noise moves the adjusted speed) is
        // the same verdict.
        let since = match (verdict, self.verdict_since) {
            (Some(v), Some((w, since, seen))) if v == w && t_ms - seen <= VERDICT_FLICKER_MS => since,
            _ => t_ms,
        };
        self.verdict_since = match verdict {
            Some(v) => Some((v, since, t_ms)),
            None => self.verdict_since.filter(|(_, _, seen)| t_ms - seen <= VERDICT_FLICKER_MS),
        };
        let confirm_ms = match long_grade.map(|g| g.source) {
            Some(AltitudeSource::Gps) => GPS_TERRAIN_CONFIRM_MS,
            _ => TERRAIN_CONFIRM_MS,
        };
        let terrain_seen = !terrain_known || t_ms - since >= confirm_ms;
        // Both the number spoken and the display have to agree: a window that remembers a surge
        // is no reason to say "ease off" to a runner whose watch shows them back in the band.
        let off = verdict.filter(|off| {
            terrain_seen
                && !on_a_hill
                && !just_off_a_hill
                && self.words_agree(*off, spoken)
                && self.words_agree(*off, display)
        });
        let inside = verdict.is_none() && speed >= self.band_mps.0 && speed <= self.band_mps.1;
        let decision = self.corrections.judge(
            t_ms,
            off,
            inside,
            0,
            (CueKind::SlowDown, CueKind::SpeedUp, CueKind::BackOnPace),
        );
        if decision.is_some_and(|d| d.escalation > 0) {
            self.forget_evidence();
            // A figure is said only when it is known well enough to trust
            // ([`SPOKEN_PACE_MAX_SIGMA_S_PER_KM`]); otherwise the words go without it (the
            // verdict is as sure either way).
            let said = spoken.filter(|p| {
                figure_sigma_mps
                    .is_none_or(|sigma| p.0 * p.0 * sigma / 1000.0 <= SPOKEN_PACE_MAX_SIGMA_S_PER_KM)
            });
            return decision.map(|d| Decision { pace: said, ..d });
        }
        decision
    }

    /// Whether `spoken`, as the runner hears it (whole seconds per km), is beyond the band
    /// plus tolerance on the side of `off`.
    fn words_agree(&self, off: Off, spoken: Option<SecondsPerKm>) -> bool {
        let Some(heard) = spoken.map(|p| p.0.round()) else { return false };
        let (fastest, slowest) = self.band_s_per_km;
        match off {
            Off::High => heard < fastest - self.tolerance_s_per_km,
            Off::Low => heard > slowest + self.tolerance_s_per_km,
        }
    }

    /// Some recent window is surely outside the band and beyond band + tolerance by its own
    /// speed ([`crate::signal::recent::RecentSpeed::outside`]), and the current estimate
    /// agrees (a window still holding a stop at a crossing is no reason to shout "pick it up"
    /// at a runner who is back on pace). Only windows from after the runner settled count.
    fn window_test(
        &self,
        t_ms: u64,
        step_moving_ms: u64,
        estimate: &PaceEstimate,
        speed: f64,
    ) -> (Option<WindowSpeed>, Option<WindowSpeed>) {
        let settled_since_ms = self.settled_since_ms(t_ms, step_moving_ms);
        let Some(recent) = estimate.recent else { return (None, None) };
        let (fast, slow) = recent.outside(settled_since_ms, self.band_mps, self.outer_mps);
        (fast.filter(|_| speed > self.outer_mps.1), slow.filter(|_| speed < self.outer_mps.0))
    }

    /// Since when the runner has settled into the step (past its grace, and the track back
    /// after a loss): evidence from before then speaks of a runner still getting going.
    fn settled_since_ms(&self, t_ms: u64, step_moving_ms: u64) -> u64 {
        (t_ms + PACE_STEP_GRACE_MS).saturating_sub(step_moving_ms).max(self.quiet_until_ms)
    }

    /// CUSUM over raw speed readings (Doppler, treadmill), each taken once; when one side is
    /// sure, the mean of the readings since its evidence began.
    fn reading_test(
        &mut self,
        estimate: &PaceEstimate,
        may_push: bool,
    ) -> (Option<SpeedAndSigma>, Option<SpeedAndSigma>) {
        if let Some(reading) = estimate.reading.filter(|r| self.last_reading_ms.is_none_or(|t| r.t_ms > t)) {
            self.last_reading_ms = Some(reading.t_ms);
            let sigma = reading.sigma_mps.max(READING_SIGMA_FLOOR_MPS);
            let k = READING_EVIDENCE_ALLOWANCE_SIGMA;
            let fast = (reading.speed_mps - self.outer_mps.1) / sigma - k;
            let slow = (self.outer_mps.0 - reading.speed_mps) / sigma - k;
            self.reading_fast.add(reading.t_ms, fast, reading.speed_mps, sigma);
            if may_push {
                self.reading_slow.add(reading.t_ms, slow, reading.speed_mps, sigma);
            } else {
                self.reading_slow.forget();
            }
        }
        (self.reading_fast.sure_speed(), self.reading_slow.sure_speed())
    }

    /// CUSUM over the smoothed estimate, in units of its own σ, per second.
    fn smoothed_test(
        &mut self,
        dt_s: f64,
        estimate: &PaceEstimate,
        speed: f64,
        may_push: bool,
    ) -> (bool, bool) {
        let sigma = estimate.speed_sigma_mps.max(PACE_SIGMA_FLOOR_MPS);
        let dt_s = dt_s.min(PACE_EVIDENCE_MAX_STEP_S);
        let beyond_fast = (speed - self.outer_mps.1) / sigma;
        let beyond_slow = (self.outer_mps.0 - speed) / sigma;
        let k = PACE_EVIDENCE_ALLOWANCE_SIGMA;
        let cap = PACE_EVIDENCE_SIGMA_S;
        self.evidence_fast = (self.evidence_fast + (beyond_fast - k) * dt_s).clamp(0.0, cap);
        self.evidence_slow =
            if may_push { (self.evidence_slow + (beyond_slow - k) * dt_s).clamp(0.0, cap) } else { 0.0 };
        (self.evidence_fast >= PACE_EVIDENCE_SIGMA_S, self.evidence_slow >= PACE_EVIDENCE_SIGMA_S)
    }

    fn forget_evidence(&mut self) {
        self.evidence_fast = 0.0;
        self.evidence_slow = 0.0;
        self.reading_fast.forget();
        self.reading_slow.forget();
    }
}

impl PaceMonitor {
    /// The runner starts again after a stop: like a step start, give them time to get going.
    pub fn restart_grace(&mut self, t_ms: u64) {
        self.quiet_until_ms = t_ms + PACE_STEP_GRACE_MS;
        self.forget_evidence();
    }
}

/// Coaching towards a heart-rate band.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartRateMonitor {
    band_bpm: (f64, f64),
    /// Whether "below zone" is worth saying: not on easy steps (easy days run easy).
    coach_below: bool,
    corrections: Corrections,
}

impl HeartRateMonitor {
    pub fn new(low_bpm: f64, high_bpm: f64, coach_below: bool) -> Self {
        Self { band_bpm: (low_bpm, high_bpm), coach_below, corrections: Corrections::default() }
    }

    pub fn band_bpm(&self) -> (f64, f64) {
        self.band_bpm
    }

    pub fn update(&mut self, t_ms: u64, step_moving_ms: u64, bpm: Option<f64>) -> Option<Decision> {
        let Some(bpm) = bpm.filter(|_| step_moving_ms >= HR_LAG_GRACE_MS) else {
            self.corrections.pause_evidence();
            return None;
        };
        let (low, high) = self.band_bpm;
        let off = if bpm > high + HR_TOLERANCE_BPM {
            Some(Off::High)
        } else if bpm < low - HR_TOLERANCE_BPM && self.coach_below {
            Some(Off::Low)
        } else {
            None
        };
        let inside = bpm >= low && bpm <= high;
        self.corrections.judge(
            t_ms,
            off,
            inside,
            HR_DWELL_MS,
            (CueKind::HrAboveZone, CueKind::HrBelowZone, CueKind::BackInZone),
        )
    }
}

/// Early in an HR rep, heart rate has not caught up: the rep is judged by pace against the
/// runner's own earlier reps of the same step (which reached the zone) instead. Once per rep.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyRepMonitor {
    /// The speed the runner's last rep of this step ended at.
    reference_mps: f64,
    too_fast_since: Option<u64>,
    said: bool,
}

/// The early-rep judgement needs a confident speed: a wobbling one would cry wolf at a rep start.
const EARLY_REP_MIN_CONFIDENCE: f64 = 0.5;

impl EarlyRepMonitor {
    pub fn new(reference_mps: f64) -> Self {
        Self { reference_mps, too_fast_since: None, said: false }
    }

    pub fn update(&mut self, t_ms: u64, step_moving_ms: u64, estimate: &PaceEstimate) -> Option<Decision> {
        if step_moving_ms >= HR_LAG_GRACE_MS || self.said {
            return None;
        }
        let v = estimate.speed_mps?;
        if v > self.reference_mps * (1.0 + EARLY_REP_TOO_FAST_SHARE)
            && estimate.confidence > EARLY_REP_MIN_CONFIDENCE
        {
            let since = *self.too_fast_since.get_or_insert(t_ms);
            if t_ms - since >= PACE_DWELL_MS {
                self.said = true;
                return Some(Decision { kind: CueKind::SlowDown, escalation: 1, pace: None });
            }
        } else {
            self.too_fast_since = None;
        }
        None
    }
}

/// Heart rate near max: the one cue that is about safety, not the plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeartRateSafety {
    above_since: Option<u64>,
    last_cue_ms: Option<u64>,
}

impl HeartRateSafety {
    pub fn update(&mut self, t_ms: u64, bpm: Option<f64>, max_hr_bpm: Option<f64>) -> bool {
        let (Some(bpm), Some(max)) = (bpm, max_hr_bpm) else {
            self.above_since = None;
            return false;
        };
        if bpm < HR_VERY_HIGH_SHARE_OF_MAX * max {
            self.above_since = None;
            return false;
        }
        let since = *self.above_since.get_or_insert(t_ms);
        let cooled = self.last_cue_ms.is_none_or(|at| t_ms.saturating_sub(at) >= HR_VERY_HIGH_COOLDOWN_MS);
        if t_ms - since >= HR_VERY_HIGH_DWELL_MS && cooled {
            self.last_cue_ms = Some(t_ms);
            self.above_since = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::pace::{GpsStatus, SpeedSource};

    fn at(speed: f64) -> PaceEstimate {
        PaceEstimate {
            at_ms: 0,
            speed_mps: Some(speed),
            speed_sigma_mps: 0.05,
            confidence: 0.9,
            distance_m: 0.0,
            gps: GpsStatus::Good,
            source: SpeedSource::Gps,
            recent: None,
            reading: None,
            reacquired_at_ms: None,
        }
    }

    /// The recent windows with only the one of `window_s` seconds known.
    fn only_window(
        window_s: f64,
        w: crate::signal::recent::WindowSpeed,
    ) -> [Option<crate::signal::recent::WindowSpeed>; crate::signal::recent::WINDOWS_S.len()] {
        let mut windows = [None; crate::signal::recent::WINDOWS_S.len()];
        windows[crate::signal::recent::WINDOWS_S.iter().position(|s| *s == window_s).expect("a window")] =
            Some(w);
        windows
    }

    /// Feeds one speed per second from second `from` to `to`; returns (second, decision).
    fn feed(monitor: &mut PaceMonitor, from: u64, to: u64, speed: f64) -> Vec<(u64, Decision)> {
        (from..to)
            .filter_map(|s| {
                monitor
                    .update(s * 1000, s * 1000, &at(speed), || SecondsPerKm::from_speed_mps(speed), None)
                    .map(|d| (s, d))
            })
            .collect()
    }

    /// An estimate with a raw reading (as with phone Doppler) and a sluggish smoothed speed.
    fn with_reading(t_s: u64, smoothed: f64, reading: f64) -> PaceEstimate {
        PaceEstimate {
            speed_sigma_mps: 0.1,
            reading: Some(crate::signal::pace::SpeedReading {
                t_ms: t_s * 1000,
                speed_mps: reading,
                sigma_mps: 0.15,
            }),
            ..at(smoothed)
        }
    }

    #[test]
    fn raw_readings_catch_a_clear_change_within_seconds() {
        // Band 5:25–5:35; the runner drops to 6:03 (10 % slower): readings at once, the
        // smoothed speed only slowly. Readings wobble ±0.15 m/s around the truth.
        let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
        let wobble = |t: u64| [0.12, -0.15, 0.05, -0.08, 0.14, -0.02][(t % 6) as usize];
        for t in 0..120 {
            let v = 1000.0 / 330.0;
            assert_eq!(
                monitor.update(
                    t * 1000,
                    t * 1000,
                    &with_reading(t, v, v + wobble(t)),
                    || SecondsPerKm::from_speed_mps(v),
                    None
                ),
                None
            );
        }
        let slow = 1000.0 / 363.0;
        let first = (120..200).find_map(|t| {
            let smoothed = 1000.0 / 330.0 + (slow - 1000.0 / 330.0) * ((t - 120) as f64 / 10.0).min(1.0);
            monitor
                .update(
                    t * 1000,
                    t * 1000,
                    &with_reading(t, smoothed, slow + wobble(t)),
                    || SecondsPerKm::from_speed_mps(slow),
                    None,
                )
                .map(|d| (t, d))
        });
        let (t, d) = first.expect("a correction");
        assert_eq!(d.kind, CueKind::SpeedUp);
        assert!(t - 120 <= 10, "took {} s", t - 120);
    }

    #[test]
    fn windows_from_before_the_runner_settled_do_not_count() {
        use crate::signal::recent::{RecentSpeed, WindowSpeed};
        // A long window still holding the step's slow start says "surely slow"; it reaches
        // back before the grace ended, so it is not asked.
        let slow_window = WindowSpeed {
            from_ms: 5_000,
            speed_mps: 2.0,
            sigma_mps: 0.01,
            low_bias_mps: 0.0,
            chord_mps: None,
            doppler: false,
        };
        let estimate = PaceEstimate {
            recent: Some(RecentSpeed { windows: only_window(96.0, slow_window), doppler_mean_mps: None }),
            ..at(2.5)
        };
        let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
        assert_eq!(
            monitor.update(30_000, 30_000, &estimate, || SecondsPerKm::from_speed_mps(2.5), None),
            None
        );
        // The same window, started after the grace: the runner is surely slow.
        let settled = WindowSpeed { from_ms: 21_000, ..slow_window };
        let estimate = PaceEstimate {
            recent: Some(RecentSpeed { windows: only_window(96.0, settled), doppler_mean_mps: None }),
            ..at(2.5)
        };
        let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
        assert_eq!(
            monitor
                .update(30_000, 30_000, &estimate, || SecondsPerKm::from_speed_mps(2.5), None)
                .map(|d| d.kind),
            Some(CueKind::SpeedUp)
        );
    }

    #[test]
    fn a_correction_from_positions_speaks_the_window_that_was_sure() {
        use crate::signal::recent::{RecentSpeed, WindowSpeed};
        // From positions alone a 48-s window is sure the runner is at 2.75 m/s (6:04/km), where
        // the 10-s display of the filter's speed wobbles to 6:40: the correction says 6:04.
        let window = WindowSpeed {
            from_ms: 21_000,
            speed_mps: 2.75,
            sigma_mps: 0.03,
            low_bias_mps: 0.0,
            chord_mps: None,
            doppler: false,
        };
        let recent = RecentSpeed { windows: only_window(48.0, window), doppler_mean_mps: None };
        let estimate = PaceEstimate { recent: Some(recent), ..at(2.7) };
        let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
        let decision = monitor
            .update(70_000, 70_000, &estimate, || Some(SecondsPerKm(400.0)), None)
            .expect("a correction");
        assert_eq!(decision.kind, CueKind::SpeedUp);
        let spoken = decision.pace.expect("a pace").0;
        assert!((spoken - 1000.0 / 2.75).abs() < 0.5, "spoke {spoken}");
        // The same from Doppler: the display (the Doppler mean, newer than any window) speaks.
        let doppler = WindowSpeed { doppler: true, sigma_mps: 0.01, ..window };
        let recent = RecentSpeed { windows: only_window(48.0, doppler), doppler_mean_mps: None };
        let reading =
            Some(crate::signal::pace::SpeedReading { t_ms: 70_000, speed_mps: 2.7, sigma_mps: 0.15 });
        let estimate = PaceEstimate { recent: Some(recent), reading, ..at(2.7) };
        let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
        let decision = monitor
            .update(70_000, 70_000, &estimate, || Some(SecondsPerKm(370.0)), None)
            .expect("a correction");
        assert_eq!(decision.pace.map(|p| p.0), Some(370.0));
    }

    #[test]
    fn the_filters_speed_alone_does_not_correct_against_the_longest_window() {
        use crate::signal::recent::{RecentSpeed, WindowSpeed};
        // Positions alone: the filter's speed has wandered to 3.3 m/s (5:03/km, band
        // 5:25–5:35) for a minute — its CUSUM alone would be sure. The 96-s window of positions
        // (σ 0.1 m/s) decides: inside the band (3.05 m/s), or just beyond it (3.1 m/s, a
        // quarter of its σ past 3.077), no correction; reaching back before the runner
        // settled into the step (20 s in), no correction; beyond the band by more than
        // SMOOTHED_GATE_SIGMAS of its σ and all from after the settling, the correction comes.
        let estimate = |speed_mps: f64, from_ms: u64| {
            let longest = WindowSpeed {
                from_ms,
                speed_mps,
                sigma_mps: 0.1,
                low_bias_mps: 0.0,
                chord_mps: None,
                doppler: false,
            };
            PaceEstimate {
                speed_sigma_mps: 0.1,
                recent: Some(RecentSpeed { windows: only_window(96.0, longest), doppler_mean_mps: None }),
                ..at(3.3)
            }
        };
        let said = |window: f64, from_ms: u64| {
            let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
            (0..120u64).find_map(|s| {
                monitor.update(
                    s * 1000,
                    s * 1000,
                    &estimate(window, from_ms),
                    || SecondsPerKm::from_speed_mps(3.3),
                    None,
                )
            })
        };
        assert_eq!(said(3.05, PACE_STEP_GRACE_MS), None);
        assert_eq!(said(3.1, PACE_STEP_GRACE_MS), None);
        assert_eq!(said(3.3, 0), None);
        assert_eq!(said(3.3, PACE_STEP_GRACE_MS).map(|d| d.kind), Some(CueKind::SlowDown));
    }

    #[test]
    fn a_figure_from_positions_too_uncertain_to_trust_is_not_said() {
        // Positions alone, no window sure yet, the filter's speed 2.5 m/s (6:40/km): with σ
        // 0.1 m/s (16 s/km at that pace) or 0.04 m/s (6.4 s/km, just over the bar) the
        // correction is made and its words go without the number; with 0.035 m/s (5.6 s/km)
        // the number is said.
        let uncertain = |sigma: f64| PaceEstimate { speed_sigma_mps: sigma, ..at(2.5) };
        for (sigma, said) in [(0.1, false), (0.04, false), (0.035, true)] {
            let mut monitor = PaceMonitor::new(325.0, 335.0, 0.0);
            let decision = (0..60u64)
                .find_map(|s| {
                    monitor.update(s * 1000, s * 1000, &uncertain(sigma), || Some(SecondsPerKm(400.0)), None)
                })
                .expect("a correction");
            assert_eq!(decision.kind, CueKind::SpeedUp);
            assert_eq!(decision.pace.is_some(), said, "σ {sigma}: {decision:?}");
        }
    }

    #[test]
    fn a_figure_from_few_noisy_readings_is_not_said_but_a_smooth_watch_speed_is() {
        // Band 6:25–6:35; the runner drops to 7:10 (2.33 m/s) after two minutes on target.
        // Phone Doppler (σ 0.15 m/s) scattering as its σ says: the correction comes a few
        // readings in, when their mean is ±0.05 m/s, ±9 s/km at that pace — said without it.
        // A watch's smoothed speed (no accuracy given, taken as 0.3 m/s) that scatters by a
        // few cm/s: the figure is known, and said.
        let wobble = |t: u64| [0.15, -0.2, 0.05, -0.1, 0.2, -0.05][(t % 6) as usize];
        let smooth = |t: u64| [0.02, -0.01, 0.0, 0.01, -0.02, 0.01][(t % 6) as usize];
        for (noise, sigma_mps, said) in [(&wobble as &dyn Fn(u64) -> f64, 0.15, false), (&smooth, 0.3, true)]
        {
            let mut monitor = PaceMonitor::new(385.0, 395.0, 0.0);
            let decision = (0..240u64)
                .find_map(|t| {
                    let v = if t < 120 { 1000.0 / 390.0 } else { 1000.0 / 430.0 };
                    let estimate = PaceEstimate {
                        reading: Some(crate::signal::pace::SpeedReading {
                            t_ms: t * 1000,
                            speed_mps: v + noise(t),
                            sigma_mps,
                        }),
                        // The filter's speed too loose to decide alone: the readings decide.
                        speed_sigma_mps: 0.5,
                        ..at(v)
                    };
                    monitor.update(t * 1000, t * 1000, &estimate, || SecondsPerKm::from_speed_mps(v), None)
                })
                .expect("a correction");
            assert_eq!(decision.kind, CueKind::SpeedUp);
            assert_eq!(decision.pace.is_some(), said, "{decision:?}");
        }
    }

    #[test]
    fn dwell_then_escalating_cooldowns_then_silence() {
        // Band 4:45–4:55; 5:20/km is well slow.
        let mut m = PaceMonitor::new(285.0, 295.0, 0.0);
        let slow = 1000.0 / 320.0;
        let said = feed(&mut m, 0, 400, slow);
        let times: Vec<u64> = said.iter().map(|(s, _)| *s).collect();
        // Grace 20 s + a few seconds of evidence; then +45 s, +60 s; no fourth.
        assert_eq!(times, vec![22, 67, 127]);
        assert!(said.iter().all(|(_, d)| d.kind == CueKind::SpeedUp));
        assert_eq!(said.iter().map(|(_, d)| d.escalation).collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    #[test]
    fn praise_once_when_back_and_no_flip_flop() {
        let mut m = PaceMonitor::new(285.0, 295.0, 0.0);
        let mut said = feed(&mut m, 0, 40, 1000.0 / 320.0);
        said.extend(feed(&mut m, 40, 60, 1000.0 / 290.0));
        // Overshoots to 4:30/km right after: no "slow down" within 45 s of "speed up".
        said.extend(feed(&mut m, 60, 72, 1000.0 / 270.0));
        let kinds: Vec<(u64, CueKind)> = said.iter().map(|(s, d)| (*s, d.kind)).collect();
        // The overshoot's "slow down" waits until 45 s after the "speed up".
        assert_eq!(kinds, vec![(22, CueKind::SpeedUp), (45, CueKind::BackOnPace), (67, CueKind::SlowDown)]);
    }

    #[test]
    fn walking_and_standing_are_not_pushed() {
        let mut m = PaceMonitor::new(375.0, 410.0, 0.0);
        assert!(feed(&mut m, 0, 300, 0.8).is_empty(), "standing at a crossing");
        assert!(feed(&mut m, 300, 600, 1000.0 / 660.0).is_empty(), "walking at 11:00/km");
    }

    #[test]
    fn inside_the_tolerance_is_quiet() {
        let mut m = PaceMonitor::new(285.0, 295.0, 0.0);
        // 4:58 and 4:42: outside the band, inside the tolerance.
        assert!(feed(&mut m, 0, 300, 1000.0 / 298.0).is_empty());
        assert!(feed(&mut m, 300, 600, 1000.0 / 282.0).is_empty());
    }

    #[test]
    fn heart_rate_waits_for_the_lag_and_easy_steps_are_not_pushed() {
        let mut m = HeartRateMonitor::new(140.0, 150.0, true);
        let said: Vec<u64> =
            (0..120).filter(|s| m.update(s * 1000, s * 1000, Some(160.0)).is_some()).collect();
        assert_eq!(said, vec![75]);
        let mut easy = HeartRateMonitor::new(140.0, 150.0, false);
        assert!((0..300).all(|s| easy.update(s * 1000, s * 1000, Some(120.0)).is_none()));
    }

    #[test]
    fn very_high_heart_rate_is_said_with_a_long_cooldown() {
        let mut safety = HeartRateSafety::default();
        let said: Vec<u64> = (0..300).filter(|s| safety.update(s * 1000, Some(188.0), Some(190.0))).collect();
        assert_eq!(said, vec![10, 130, 250]);
    }
}

//! How fast the runner has *surely* been going over the last seconds to minutes: the quick half
//! of pace coaching.
//!
//! The Kalman filter in [`super::pace`] gives the best *current* speed, smooth enough to show
//! and to speak; that smoothness makes it slow to notice a change. "Is the runner off target?"
//! is a different question — a test — and is answered here: the raw measurements of each of a
//! few windows (6 s to 2 min) give a speed with an honest σ (Doppler readings averaged;
//! positions through a least-squares slope of the along-track distance), and the result is the
//! speed the runner has surely been above, and surely been below, in *some* window. A clear
//! change shows in the short windows within seconds, a small drift in the long ones.
//!
//! Phone position error is mostly slow-wandering (chipset filtering), and wandering error does
//! not average away in a window the way white noise does. Both parts are measured from the
//! fixes themselves, not taken from the reported accuracy (a rough guess, and no help in
//! telling the parts apart): the white part from second differences of position fix to fix,
//! the wandering part from second differences of the along-track distance over
//! [`WANDER_LAG_S`] — a runner's speed changes little over half a minute, wandering error
//! does, and how fast it does is what moves a window's slope. Until enough is measured, the
//! reported accuracy less the white part is taken as wandering at its most harmful correlation
//! time for each window (the cautious side).
//!
//! Must not: keep more than the longest window, or mix fixes across a pause or a filter
//! restart (the caller resets it).

use std::collections::VecDeque;

use super::grade::Adjustment;
use super::line_fit::{LineSums, REBASE_AFTER_MS};

/// The windows tested, in seconds: short ones catch a clear change fast, long ones a small
/// one surely. From positions alone each doubling between 24 and 96 s leaves a change waiting
/// for the next: 72 s between 48 and 96 caught a 10 % change with 2 m of wander in 54.9 s
/// instead of 60.2 on `pacenote bench pace`, false corrections unchanged (36 s between 24
/// and 48 added one). 120 s catches it with 4 m of wander (a wander of ~2 min moves a 96-s
/// window's slope almost as much as the change) in 113.0 s instead of 128.1, false
/// corrections unchanged.
pub const WINDOWS_S: [f64; 7] = [6.0, 12.0, 24.0, 48.0, 72.0, 96.0, 120.0];
/// Positions alone say little about speed over a few seconds (a 12-s slope through 5-m noise
/// is ±0.4 m/s), and at a corner the direction of travel lags for a few seconds, which short
/// windows would read as slowing: without Doppler, only windows at least this long count.
const POSITION_ONLY_MIN_WINDOW_S: f64 = 24.0;
/// Distance from positions is measured along a smoothed direction of travel that lags a
/// winding path and wobbles with the noise, and a step measured along a slightly wrong
/// direction reads short (by 1 − cos θ). On simulated runs (heading wandering 0.04 rad/√s,
/// 3–8 m noise) windows read 0.6–1.5 % slow on average: a "too slow" verdict from positions
/// needs this much more.
const DIRECTION_BIAS_SHARE: f64 = 0.02;
/// Where steps count across the heading too (see `RecentFixes::step_length_m`: the noise is
/// measured and small beside a step), windows read within 0.1–1 % of the truth on the same
/// runs (the most with 8 m of wander); in between, in proportion.
const MEASURED_DIRECTION_BIAS_SHARE: f64 = 0.01;
/// A window counts only when its fixes span this share of it (a window just after a restart
/// or a dropout is not yet what it says).
const MIN_SPAN_SHARE: f64 = 0.75;
/// Fewer fixes than this say nothing about a window.
const MIN_FIXES: usize = 4;
/// "Surely": this many σ. With five windows, two directions and a new test every second, a
/// runner on target (at least the tolerance inside the edge the test is made against) crosses
/// it about once in many hours (`pacenote bench pace`).
pub const SURE_SIGMAS: f64 = 4.0;
/// A window of positions must be this sure that the runner is beyond the tolerance too (see
/// [`RecentSpeed::outside`]): 2 σ keeps a runner in the middle of a band, under white noise
/// that a window's σ underestimates by a tenth, from a correction more than once in hours.
const TOLERANCE_SURE_SIGMAS: f64 = 2.0;
/// Phone chipsets smooth Doppler speed over a second or two, so consecutive readings are not
/// independent: one independent reading per this many seconds.
pub(crate) const DOPPLER_INDEPENDENT_EVERY_S: f64 = 2.0;
/// Wandering position error (a first-order Gauss–Markov process of σ per axis) moves the
/// least-squares slope over a window of span T by up to about this × σ / T, at the worst
/// correlation time (≈ T; for a random walk the slope variance is 6q/(5T), with q = 2σ²/τ).
const WANDER_SLOPE_FACTOR: f64 = 1.55;
/// How quickly the white part of the position noise is learned (weight of each new second
/// difference).
const WHITE_NOISE_LEARN_WEIGHT: f64 = 0.02;
/// Second differences count only for evenly spaced fixes (within this share).
const EVEN_SPACING_SHARE: f64 = 0.1;
/// Second differences larger than this (m) are a jump, not noise — or than [`JUMP_SIGMAS`] of
/// the white noise learned, where that is more: with 8 m of white noise a second difference
/// is ±20 m, and a cut at 50 m (2.5 σ) reads the noise low, making every window of positions
/// too sure of itself (`pacenote bench pace`, steady runs with σ 8 m white: learned 7.26 m
/// → 7.34 m; the rest of the shortfall is the fixes the filter rejects, which the windows do
/// not hold either).
const MAX_SECOND_DIFFERENCE_M: f64 = 50.0;
const JUMP_SIGMAS: f64 = 4.0;
/// Lag (s) of the along-track second differences that measure the wandering error: long
/// enough that white noise is a small part, short enough that the runner's own surges and
/// lulls (a few per cent over tens of seconds) are too. (Averaging lags of 6, 8 and 12 s
/// changed nothing on `bench pace`.)
const WANDER_LAG_S: f64 = 8.0;
/// The wandering error is trusted once this many second differences are in (two minutes of a
/// 1-Hz phone).
const WANDER_LEARN_MIN: u32 = 120;
/// Each second difference moves the running median of their sizes by this share, up or down,
/// once settled (the n-th by `WANDER_MEDIAN_FIRST_STEP / √n` before): it then follows a change
/// of conditions over several minutes and settles within ~15 % (a wandering error has few
/// independent samples a minute).
const WANDER_MEDIAN_STEP: f64 = 0.005;
const WANDER_MEDIAN_FIRST_STEP: f64 = 0.1;
/// What is measured of the wandering error is taken this many times over: over a quarter of
/// an hour its estimate still varies by ±40 % from run to run (seeded simulations), and an
/// error read too small makes corrections of noise. (At 1.5, a 10 % change with 2 m of wander
/// is corrected 0.3 s later on `bench pace`, with 4 m 6 s sooner: noise either way.)
const WANDER_CAUTION: f64 = 1.25;
/// The running median is kept above this (m), so that it can grow again by steps.
const WANDER_MEDIAN_FLOOR_M: f64 = 0.01;
/// The white noise is trusted, for counting steps across the heading before the wander is
/// measured, once this many second differences are in (read unbiased for its start from
/// nothing).
const WHITE_LEARN_MIN: u32 = 20;
/// Before the wandering error is measured, the reported accuracy is taken as a wander that
/// forgets itself over this long (s): phones' wander has a correlation time of ~2 min.
const WANDER_PRIOR_CORRELATION_S: f64 = 120.0;
/// Weight of each step in the share of steps counted across the heading.
const ACROSS_SHARE_WEIGHT: f64 = 0.02;
/// A step counts across the heading only while its noise (σ) is at most this share of it: with
/// more, the root's curvature makes it read short (3 m of white noise at 3 m/s: 10 % short),
/// and the heading alone reads it better.
const STEP_NOISE_MAX_SHARE: f64 = 0.3;
/// The wandering error is taken to be at least this (m²/s: 0.5 m wandering over 2 min): a
/// track measured as perfect is not trusted to the centimetre, and a runner's own surges and
/// the path's corners are not in the model.
const WANDER_DIFFUSION_FLOOR_M2_PER_S: f64 = 0.004;
/// Doppler readings needed for a spoken pace from Doppler alone.
const MIN_DOPPLER_FOR_DISPLAY: usize = 3;
/// The spoken pace of a runner running steadily is the mean of the Doppler readings of this
/// long (ms): twice a watch's 10 s, as sure as 20 s of readings make it, and still within the
/// truth as a runner's pace wanders (a per cent or two over tens of seconds). A change within
/// it is read apart (see `RecentFixes::doppler_mean`).
const DISPLAY_STEADY_WINDOW_MS: u64 = 20_000;
/// After a change of pace the readings since are read as a runner settling onto the new pace
/// for this long (ms): eight of the slowest time constants.
const DISPLAY_SETTLE_SPAN_MS: u64 = 50_000;
/// Time constants a runner may settle onto a new pace with, read from the readings which
/// fits: τ = [`SETTLE_BASE_S`] / k for each k here, 1, 2, 3, 4 and 6 s. In the corpus's
/// structured intervals (D2, a Stryd footpod's speed) the runner settles within 2–5 s of the
/// lap, the quickest change (a standing start) about 2.5 s; a sprinter's start is ~1 s (Keller
/// 1973, "A theory of competitive running").
const SETTLE_BASE_S: f64 = 12.0;
const SETTLE_POWERS: [i32; 5] = [12, 6, 4, 3, 2];
/// Below this spread of e^(−t/τ) over the readings every one of them is settled alike.
const SETTLE_MIN_SPREAD: f64 = 1e-9;
/// At most this many readings in the display window (a 20-s window of 1-Hz fixes holds 21).
const DISPLAY_MAX_READINGS: usize = 32;
/// The newest readings of the display window differ from the older ones by this many σ: the
/// runner changed speed within it, and only the newest count.
const DISPLAY_CHANGE_SIGMAS: f64 = 4.0;
/// A trend within the display's stretch is taken for a change of speed under way at this many σ
/// of its slope, over at least this many readings. The display decides nothing, so a trend read
/// in noise costs only a noisier figure for a second: on `bench pace` 3 σ leaves steady runs'
/// display error as it was (1.01–1.03 × the bound) and takes a fifth off it in intervals and
/// after stops (4 σ: a twentieth; 2 σ: steady runs 1.08 ×).
const DISPLAY_TREND_SIGMAS: f64 = 3.0;
const DISPLAY_TREND_MIN_READINGS: usize = 4;
/// Reported Doppler accuracies are floored here for the change test (phones can claim cm/s).
const DISPLAY_SIGMA_FLOOR_MPS: f64 = 0.1;
/// The median of |x| for a Gaussian x is 0.6745 σ.
const GAUSSIAN_MEDIAN_ABS: f64 = 0.6745;
/// Random-walk error of diffusion q (m²/s) moves the least-squares slope of a window of span T
/// by a variance of this × q / T (for a random walk, 6/5; a wandering error that forgets
/// itself, as phones' does, moves it less — the cautious side).
const RANDOM_WALK_SLOPE_FACTOR: f64 = 1.2;

/// One accepted fix, as the windows need it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    t_ms: u64,
    /// Distance along the track since the reset, m.
    along_m: f64,
    /// The fix's local position (east, north), m.
    at: (f64, f64),
    /// Reported position variance per axis, m².
    position_var_m2: f64,
    /// Variance this fix's step left in the along-track distance because the heading turned
    /// since the step before (see [`RecentFixes::step_length_m`]), m².
    turn_var_m2: f64,
    /// Doppler speed and its σ, m/s.
    doppler: Option<(f64, f64)>,
    /// The sums over the fixes kept before this one (see [`Sums`]).
    before: Sums,
}

/// The speed over one recent window, with its σ.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WindowSpeed {
    /// When the window's first fix was taken.
    pub from_ms: u64,
    pub speed_mps: f64,
    pub sigma_mps: f64,
    /// How much lower than the truth the speed may read for want of a better direction of
    /// travel (positions only: about 2 % of the speed).
    pub low_bias_mps: f64,
    /// Positions only: the straight-line speed between the window's ends (the least-squares
    /// velocity of the fixes' positions, east and north), which never reads more than the
    /// path run (a chord is no longer than its arc) and needs no direction of travel.
    pub chord_mps: Option<f64>,
    /// From Doppler readings alone (else from positions).
    pub doppler: bool,
}

impl WindowSpeed {
    /// The window as grade-adjusted speed (its grade's uncertainty widening its σ).
    pub fn adjusted(&self, adjustment: Adjustment) -> Self {
        let (speed_mps, sigma_mps) = adjustment.apply(self.speed_mps, self.sigma_mps);
        Self {
            speed_mps,
            sigma_mps,
            low_bias_mps: self.low_bias_mps * adjustment.factor,
            chord_mps: self.chord_mps.map(|v| v * adjustment.factor),
            ..*self
        }
    }

    /// The most the window lets one say the runner went: its speed with the allowance for a
    /// lagging direction of travel, or, from positions, the straight-line speed between its
    /// ends where that is more (a heading that lagged a turn reads a stretch short by more
    /// than the allowance; the chord cannot read it long). What a "too slow" verdict must be
    /// surely below.
    pub fn slow_end_mps(&self) -> f64 {
        (self.speed_mps + self.low_bias_mps).max(self.chord_mps.unwrap_or(f64::NEG_INFINITY))
    }
}

/// The speeds over the recent windows ([`WINDOWS_S`]), shortest first; `None` for a window
/// not yet full.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RecentSpeed {
    pub windows: [Option<WindowSpeed>; WINDOWS_S.len()],
    /// The runner's speed now from the raw Doppler readings, when every fix read had one (at
    /// least [`MIN_DOPPLER_FOR_DISPLAY`], or one after an expected change): the pace to speak.
    /// Running steadily, their mean over [`DISPLAY_STEADY_WINDOW_MS`]; after a change of pace,
    /// the readings since, read as a runner settling onto the new pace.
    pub doppler_mean_mps: Option<f64>,
}

impl RecentSpeed {
    /// The shortest window that starts at or after `since_ms` (windows reaching back into a
    /// step start or a restart would speak of a runner still getting going) and says the runner
    /// has been too fast, and the shortest that says too slow (the newest evidence, whose speed
    /// a correction speaks), if any: a Doppler window *surely* ([`SURE_SIGMAS`]) beyond
    /// `outer_mps` (the band plus the tolerance); a window of positions surely outside
    /// `band_mps` (slowest, fastest allowed) and fairly surely ([`TOLERANCE_SURE_SIGMAS`])
    /// beyond the tolerance.
    ///
    /// Why positions are asked less: asking a runner 10 % off to be 4 σ beyond the tolerance
    /// asks positions alone for minutes; surely outside the band, and most likely beyond the
    /// tolerance, is still honest — a runner inside the band is corrected for noise about once
    /// in many hours — and comes within a minute where the wandering error is 2 m. Doppler
    /// needs no such help (a 10 % change is sure within seconds), and its windows are the ones
    /// a grade adjustment's noise reaches first.
    pub fn outside(
        &self,
        since_ms: u64,
        band_mps: (f64, f64),
        outer_mps: (f64, f64),
    ) -> (Option<WindowSpeed>, Option<WindowSpeed>) {
        self.windows.iter().flatten().filter(|w| w.from_ms >= since_ms).fold(
            (None, None),
            |(fast, slow): (Option<WindowSpeed>, Option<WindowSpeed>), w| {
                // (σ to be sure of the band's edge, σ to be sure of the tolerance's.)
                let (band_sigmas, outer_sigmas) =
                    if w.doppler { (0.0, SURE_SIGMAS) } else { (SURE_SIGMAS, TOLERANCE_SURE_SIGMAS) };
                let high = w.speed_mps - band_sigmas * w.sigma_mps > band_mps.1
                    && w.speed_mps - outer_sigmas * w.sigma_mps > outer_mps.1;
                let low_end = w.slow_end_mps();
                let low = low_end + band_sigmas * w.sigma_mps < band_mps.0
                    && low_end + outer_sigmas * w.sigma_mps < outer_mps.0;
                // Shortest first: the first sure window is the newest evidence, and the one
                // whose speed is spoken.
                (fast.or(high.then_some(*w)), slow.or(low.then_some(*w)))
            },
        )
    }
}

/// The recent fixes and the learned white position noise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentFixes {
    samples: VecDeque<Sample>,
    last_at: Option<(f64, f64)>,
    along_m: f64,
    /// The sums over every fix kept, and the time, distance and position they are relative to.
    total: Sums,
    origin: (u64, f64, (f64, f64)),
    /// The two fixes before the last, for second differences: (t, position).
    before: Option<(u64, (f64, f64))>,
    last: Option<(u64, (f64, f64))>,
    /// Learned variance of the white part of the position error per axis, m² (0 until
    /// learned: all of the error counts as wandering, the cautious side).
    white_var_m2: f64,
    /// How many second differences the white noise was learned from.
    white_count: u32,
    /// The windows as of the last fix (worked out once per fix, not per question).
    latest: Option<RecentSpeed>,
    /// The share of recent steps that counted across the heading too (running mean).
    across_share: f64,
    /// The heading (unit east, north) the previous step was measured along, and the variance
    /// the newest step left in the along-track distance for the turn since (m²).
    step_heading: Option<(f64, f64)>,
    turn_var_m2: f64,
    /// Running median of the along-track second difference's size at each of
    /// [`WANDER_LAG_S`] (m), and how many went into it.
    wander_median_m: f64,
    wander_count: u32,
    /// When the runner's pace was last expected to change (a step's start, or the first fix
    /// of a run, after a stop or after a loss): the spoken pace reads only the Doppler readings
    /// from it on, for [`DISPLAY_SETTLE_SPAN_MS`].
    display_since_ms: Option<u64>,
}

impl RecentFixes {
    /// Forgets the windows (after a pause, a GPS loss or a filter restart). The learned white
    /// noise is a property of the phone and is kept.
    pub fn reset(&mut self) {
        self.samples.clear();
        self.latest = None;
        self.last_at = None;
        self.before = None;
        self.last = None;
        self.step_heading = None;
    }

    /// The runner's pace is expected to change at `t_ms`: a step of the plan starts (a rep, its
    /// recovery), and runners change pace on the beep. The spoken pace then reads only the
    /// Doppler readings after it — from the first one, read as a runner settling onto a new
    /// pace — instead of waiting until the newest readings differ from the older ones surely,
    /// which kept the figure seconds behind at every rep's start and end (on `bench pace` the
    /// seconds around intervals' changes carried 84 % of the display's squared error). If the
    /// runner does not change, the figure is unbiased, only noisier for a few seconds.
    pub fn pace_may_change(&mut self, t_ms: u64) {
        self.display_since_ms = Some(t_ms);
        if !self.samples.is_empty() {
            self.latest = self.compute();
        }
    }

    /// Takes an accepted fix at local position `at`; `travel_mps` (east, north) is the
    /// velocity the filter knows (m/s), along whose direction position changes count as
    /// distance.
    pub fn push(
        &mut self,
        t_ms: u64,
        at: (f64, f64),
        position_var_m2: f64,
        travel_mps: Option<(f64, f64)>,
        doppler: Option<(f64, f64)>,
    ) {
        if self.samples.back().is_some_and(|s| s.t_ms >= t_ms) {
            return;
        }
        self.turn_var_m2 = 0.0;
        if let (Some(last), Some(previous)) = (self.last_at, self.samples.back()) {
            let d = (at.0 - last.0, at.1 - last.1);
            let dt_s = (t_ms - previous.t_ms) as f64 / 1000.0;
            self.along_m += match travel_mps {
                Some(travel_mps) => self.step_length_m(d, travel_mps, dt_s, position_var_m2),
                None => (d.0 * d.0 + d.1 * d.1).sqrt(),
            };
        }
        self.last_at = Some(at);
        self.learn_white_noise(t_ms, at);
        if self.samples.is_empty() {
            self.origin = (t_ms, self.along_m, at);
            self.total = Sums::default();
            // The first fix of a run, or after a stop or a loss: the runner is getting going.
            self.display_since_ms = Some(t_ms);
        }
        let sample = Sample {
            t_ms,
            along_m: self.along_m,
            at,
            position_var_m2,
            turn_var_m2: self.turn_var_m2,
            doppler,
            before: self.total,
        };
        self.total.add(&sample, self.origin);
        self.samples.push_back(sample);
        self.learn_wander();
        let longest_ms = (WINDOWS_S[WINDOWS_S.len() - 1] * 1000.0) as u64;
        while self.samples.front().is_some_and(|s| t_ms - s.t_ms > longest_ms) {
            self.samples.pop_front();
        }
        if t_ms - self.origin.0 > REBASE_AFTER_MS {
            self.rebase();
        }
        self.latest = self.compute();
    }

    /// Moves the sums' origin up to the oldest fix kept, summing the kept fixes afresh.
    fn rebase(&mut self) {
        let Some(front) = self.samples.front() else { return };
        self.origin = (front.t_ms, front.along_m, front.at);
        self.total = Sums::default();
        for s in &mut self.samples {
            s.before = self.total;
            self.total.add(s, self.origin);
        }
    }

    fn learn_white_noise(&mut self, t_ms: u64, at: (f64, f64)) {
        if let (Some((t0, p0)), Some((t1, p1))) = (self.before, self.last) {
            let (dt1, dt2) = ((t1 - t0) as f64, (t_ms - t1) as f64);
            if (dt1 - dt2).abs() <= EVEN_SPACING_SHARE * dt1 {
                // For white noise of variance σ² per axis, x₂ − 2x₁ + x₀ has variance 6σ²;
                // the runner's own acceleration adds centimetres at 1 Hz.
                let (ex, ey) = (at.0 - 2.0 * p1.0 + p0.0, at.1 - 2.0 * p1.1 + p0.1);
                let jump_m = MAX_SECOND_DIFFERENCE_M.max(JUMP_SIGMAS * (6.0 * self.white_var_m2).sqrt());
                if ex.abs() < jump_m && ey.abs() < jump_m {
                    let var = (ex * ex + ey * ey) / 2.0 / 6.0;
                    self.white_var_m2 += WHITE_NOISE_LEARN_WEIGHT * (var - self.white_var_m2);
                    self.white_count = self.white_count.saturating_add(1);
                }
            }
        }
        self.before = self.last;
        self.last = Some((t_ms, at));
    }

    /// How far the runner went in a step `d` (east, north) measured against the direction of
    /// travel `travel_mps` (the runner's velocity as the filter knows it, a few seconds late).
    ///
    /// Along the heading alone, a step reads short by 1 − cos θ wherever the heading lags a
    /// winding path. Once the position noise is measured, the step across the heading counts
    /// too, less what the noise puts there on its own: √(along² + across² − σ²), with σ² the
    /// variance of a step's error per axis, reads a straight step right on average (the noise
    /// in `along²` and the concavity of the root cancel to first order) and a turned one too.
    fn step_length_m(
        &mut self,
        d: (f64, f64),
        travel_mps: (f64, f64),
        dt_s: f64,
        position_var_m2: f64,
    ) -> f64 {
        let speed_mps = (travel_mps.0 * travel_mps.0 + travel_mps.1 * travel_mps.1).sqrt();
        if speed_mps <= 0.0 {
            return (d.0 * d.0 + d.1 * d.1).sqrt();
        }
        let (u, w) = (travel_mps.0 / speed_mps, travel_mps.1 / speed_mps);
        let turned = self.step_heading.replace((u, w));
        let along = d.0 * u + d.1 * w;
        let across = d.1 * u - d.0 * w;
        let length2 = along * along + across * across;
        // The learned white variance holds a third of the wander's step already (second
        // differences of a random walk have variance 2q·dt, counted as 6σ²). Before the wander
        // is measured, once the white noise is, the reported accuracy taken as all wander is
        // the cautious guess: over a few seconds it moves a fix by little, so a phone fixing
        // every few seconds still counts the steps after a corner, which its heading, seconds
        // late, would read short.
        let step_var = match self.wander_diffusion_m2_per_s() {
            Some(q) => Some(2.0 * self.white_var_m2 + q * dt_s / 3.0),
            None => self
                .white_var_learned_m2()
                .map(|white| 2.0 * white + 2.0 * position_var_m2 / WANDER_PRIOR_CORRELATION_S * dt_s / 3.0),
        };
        // Noise small against the step the runner's speed makes (not the step measured, which
        // noise itself lengthens: choosing by it would count noise's longest steps in full).
        let expected_m = speed_mps * dt_s;
        let counted = step_var.filter(|v| *v <= (STEP_NOISE_MAX_SHARE * expected_m).powi(2));
        self.across_share +=
            ACROSS_SHARE_WEIGHT * (f64::from(u8::from(counted.is_some())) - self.across_share);
        match counted {
            Some(step_var) => (length2 - step_var).max(0.0).sqrt(),
            None => {
                // Steps measured along one heading sum to the distance between their ends, so
                // a fix's white error cancels out of every stretch but its two ends. Where the
                // heading turned between two steps, the fix between them is measured along two
                // headings and keeps e·(u₁ − u₀) of its error (variance σ²·|u₁ − u₀|² for white
                // error of σ² per axis): a random walk in the along-track distance, which no
                // count of white noise sees. With 8 m of white noise the heading wobbles by
                // ±10°: on `pacenote bench pace`'s steady runs, a 96-s window's error was 1.52
                // of its σ without this, 1.21 with it (72 s: 1.35 → 1.17).
                self.turn_var_m2 =
                    turned.map_or(0.0, |(u0, w0)| self.white_var_m2 * ((u - u0).powi(2) + (w - w0).powi(2)));
                along
            }
        }
    }

    /// The second difference of the along-track distance over [`WANDER_LAG_S`] ending at the
    /// newest fix, when fixes are there at (about) the lag's spacing.
    fn learn_wander(&mut self) {
        let Some(last) = self.samples.back().copied() else { return };
        let lag_ms = (WANDER_LAG_S * 1000.0) as u64;
        let near = |t_ms: u64| {
            let i = self.samples.partition_point(|s| s.t_ms < t_ms);
            let s = self.samples.get(i)?;
            (s.t_ms.abs_diff(t_ms) as f64 <= EVEN_SPACING_SHARE * lag_ms as f64).then_some(*s)
        };
        let (Some(middle), Some(first)) =
            (near(last.t_ms.saturating_sub(lag_ms)), near(last.t_ms.saturating_sub(2 * lag_ms)))
        else {
            return;
        };
        if first.t_ms >= middle.t_ms || middle.t_ms >= last.t_ms {
            return;
        }
        let (dt1, dt2) = ((middle.t_ms - first.t_ms) as f64, (last.t_ms - middle.t_ms) as f64);
        // Weighted so that a steady speed gives zero even when the spacing is uneven.
        let e = (last.along_m - middle.along_m) - (middle.along_m - first.along_m) * dt2 / dt1;
        if e.abs() >= MAX_SECOND_DIFFERENCE_M {
            return;
        }
        // A running median of |e|, not a mean of e²: the runner getting going, a stop at a
        // crossing or a corner makes a few huge second differences, which would swamp a mean
        // for minutes; each moves the median by one small step.
        let n = self.wander_count;
        self.wander_median_m = if n == 0 {
            e.abs().max(WANDER_MEDIAN_FLOOR_M)
        } else {
            // Large steps at first (the median moves fast from a poor start), then small ones:
            // a long memory, for wandering error is slow and its samples few.
            let size = (WANDER_MEDIAN_FIRST_STEP / f64::from(n).sqrt()).max(WANDER_MEDIAN_STEP);
            let step = if e.abs() > self.wander_median_m { size } else { -size };
            (self.wander_median_m * (1.0 + step)).max(WANDER_MEDIAN_FLOOR_M)
        };
        self.wander_count = n.saturating_add(1);
    }

    /// The diffusion of the wandering error along the track (m²/s), once measured: a random
    /// walk of diffusion q gives a second difference over lag h a variance of 2qh, white noise
    /// of variance σ² one of 6σ².
    pub fn wander_diffusion_m2_per_s(&self) -> Option<f64> {
        if self.wander_count < WANDER_LEARN_MIN {
            return None;
        }
        let second_difference_var = (self.wander_median_m / GAUSSIAN_MEDIAN_ABS).powi(2);
        let measured = (second_difference_var - 6.0 * self.white_var_m2).max(0.0) / (2.0 * WANDER_LAG_S);
        Some((measured * WANDER_CAUTION).max(WANDER_DIFFUSION_FLOOR_M2_PER_S))
    }

    /// The white variance (m² per axis) once [`WHITE_LEARN_MIN`] second differences are in,
    /// unbiased for its start from nothing (the running mean holds 1 − (1 − w)ⁿ of it).
    fn white_var_learned_m2(&self) -> Option<f64> {
        (self.white_count >= WHITE_LEARN_MIN).then(|| {
            let share = 1.0 - (1.0 - WHITE_NOISE_LEARN_WEIGHT).powf(f64::from(self.white_count));
            self.white_var_m2 / share
        })
    }

    /// The learned white part of the position noise, σ per axis in m.
    pub fn white_sigma_m(&self) -> f64 {
        self.white_var_m2.sqrt()
    }

    /// The speed over a window of `window_s` whose fixes run from `first`, its earliest, to
    /// the last fix, and its σ; `measured` is the wander's diffusion, if measured.
    fn window(&self, window_s: f64, first: &Sample, measured: Option<f64>) -> Option<WindowSpeed> {
        let last = self.samples.back()?;
        let sums = self.total.less(&first.before);
        let n = sums.line.n;
        let span_s = (last.t_ms - first.t_ms) as f64 / 1000.0;
        if n < MIN_FIXES || span_s < MIN_SPAN_SHARE * window_s {
            return None;
        }
        let nf = n as f64;
        // Doppler, when every fix of the window has it, and then Doppler alone: it is unbiased,
        // and sharper than positions could add to.
        if sums.without_doppler == 0 {
            let independent = nf.min(span_s / DOPPLER_INDEPENDENT_EVERY_S).max(1.0);
            return Some(WindowSpeed {
                from_ms: first.t_ms,
                speed_mps: sums.doppler / nf,
                sigma_mps: (sums.doppler_var / (nf * independent)).sqrt(),
                low_bias_mps: 0.0,
                chord_mps: None,
                doppler: true,
            });
        }
        if window_s < POSITION_ONLY_MIN_WINDOW_S {
            return None;
        }
        // Positions: least-squares slope of the along-track distance over time.
        let line = sums.line.centred()?;
        let (stt, sta) = (line.sxx, line.sxy);
        if stt <= 0.0 {
            return None;
        }
        // The white part as measured; the wandering part as much of the reported error as is
        // left, at its most harmful correlation time — or as measured, where that says less (a
        // good track under a cautious accuracy). Measured alone, a phone whose error is mostly
        // white would read as wandering: the wander is the small difference of two noisy
        // figures there, and the reported accuracy knows better.
        let white_var = self.white_var_m2;
        let reported_wander_var = (sums.position_var / nf - white_var).max(0.0);
        let reported_slope_var = (WANDER_SLOPE_FACTOR / span_s).powi(2) * reported_wander_var;
        let wander_slope_var = measured
            .map_or(reported_slope_var, |q| reported_slope_var.min(RANDOM_WALK_SLOPE_FACTOR * q / span_s));
        // The heading's turns within the window, a random walk of the window's summed variance
        // V over its span: a slope variance of RANDOM_WALK_SLOPE_FACTOR · V / T².
        let turn_slope_var = RANDOM_WALK_SLOPE_FACTOR * sums.turn_var.max(0.0) / (span_s * span_s);
        let slope_var = white_var / stt + wander_slope_var + turn_slope_var;
        let speed = sta / stt;
        let bias_share = DIRECTION_BIAS_SHARE
            - (DIRECTION_BIAS_SHARE - MEASURED_DIRECTION_BIAS_SHARE) * self.across_share.clamp(0.0, 1.0);
        let chord = |line: LineSums| line.centred().filter(|c| c.sxx > 0.0).map(|c| c.slope());
        let chord_mps = chord(sums.east).zip(chord(sums.north)).map(|(e, n)| e.hypot(n));
        Some(WindowSpeed {
            from_ms: first.t_ms,
            speed_mps: speed,
            sigma_mps: slope_var.sqrt(),
            low_bias_mps: bias_share * speed.max(0.0),
            chord_mps,
            doppler: false,
        })
    }

    /// The speeds over the recent windows, or `None` before the shortest is full and before
    /// there are Doppler readings enough for the display.
    pub fn recent_speed(&self) -> Option<RecentSpeed> {
        self.latest
    }

    /// Every window, each from its first fix's sums.
    fn compute(&self) -> Option<RecentSpeed> {
        let last_ms = self.samples.back()?.t_ms;
        let measured = self.wander_diffusion_m2_per_s();
        let windows = WINDOWS_S.map(|window_s| {
            let from_ms = last_ms.saturating_sub((window_s * 1000.0) as u64);
            let first = self.samples.get(self.samples.partition_point(|s| s.t_ms < from_ms))?;
            self.window(window_s, first, measured)
        });
        // The display's Doppler mean needs no full window: a runner getting going again hears
        // their pace from the first few readings.
        let doppler_mean_mps = self.doppler_mean();
        (windows.iter().any(Option::is_some) || doppler_mean_mps.is_some())
            .then_some(RecentSpeed { windows, doppler_mean_mps })
    }

    /// See [`RecentSpeed::doppler_mean_mps`]. Running steadily: the mean of the readings of the
    /// last [`DISPLAY_STEADY_WINDOW_MS`], or where they trend surely (a runner fading), their
    /// line's value at the newest. After a change of pace — one the engine expected (a step's
    /// start, a restart: `display_since_ms`), or one the readings show (the newest differ from
    /// the older ones surely, [`DISPLAY_CHANGE_SIGMAS`]) — a mean would speak a pace between
    /// the two and a line through the newest readings swings with their noise: the readings
    /// since are read as a runner settling onto a new pace ([`settling_now`]).
    fn doppler_mean(&self) -> Option<f64> {
        let last_ms = self.samples.back()?.t_ms;
        // A change of pace expected lately: only the readings after it.
        let since_ms =
            self.display_since_ms.filter(|since| last_ms.saturating_sub(*since) < DISPLAY_SETTLE_SPAN_MS);
        // Newest first: the readings, and their age (s before the newest).
        let mut readings = [(0.0, 0.0); DISPLAY_MAX_READINGS];
        let mut ages_s = [0.0; DISPLAY_MAX_READINGS];
        let mut n = 0;
        let in_window = |s: &&Sample| {
            last_ms - s.t_ms <= DISPLAY_STEADY_WINDOW_MS && since_ms.is_none_or(|since| s.t_ms >= since)
        };
        for s in self.samples.iter().rev().take_while(in_window) {
            if n == DISPLAY_MAX_READINGS {
                break;
            }
            readings[n] = s.doppler?;
            ages_s[n] = (last_ms - s.t_ms) as f64 / 1000.0;
            n += 1;
        }
        // After an expected change one reading is the best figure there is (the readings
        // before it are another pace); otherwise a few, as a runner getting going again.
        if n < if since_ms.is_some() { 1 } else { MIN_DOPPLER_FOR_DISPLAY } {
            return None;
        }
        let sigma = readings[..n].iter().map(|(_, s)| *s).fold(DISPLAY_SIGMA_FLOOR_MPS, f64::max);
        let var = sigma * sigma * DOPPLER_INDEPENDENT_EVERY_S;
        if let Some(since_ms) = since_ms {
            let since_age_s = last_ms.saturating_sub(since_ms) as f64 / 1000.0;
            return Some(settling_now(&ages_s[..n], &readings[..n], since_age_s, var, false));
        }
        let total: f64 = readings[..n].iter().map(|(v, _)| v).sum();
        // The newest k against the rest: their means differ by d = (newest·rest − older·k) /
        // (k·rest), of variance var·n / (k·rest), so z² = (newest·rest − older·k)² / (var·n·k·rest)
        // — compared without a division, on the per-fix path.
        let n_var = var * n as f64;
        let mut newest = 0.0;
        let mut best: Option<(f64, usize)> = None;
        // The newest group may be one reading (a restart from a stop shows in the first
        // reading after it); the older group needs a few to say what the pace was.
        for k in 1..n {
            newest += readings[k - 1].0;
            if n - k < MIN_DOPPLER_FOR_DISPLAY {
                continue;
            }
            let (kf, rest) = (k as f64, (n - k) as f64);
            let scaled = newest * rest - (total - newest) * kf;
            let (numerator, denominator) = (scaled * scaled, n_var * kf * rest);
            if numerator > DISPLAY_CHANGE_SIGMAS * DISPLAY_CHANGE_SIGMAS * denominator {
                let z2 = numerator / denominator;
                if best.is_none_or(|(b, _)| z2 > b) {
                    best = Some((z2, k));
                }
            }
        }
        match best {
            // The change came after the newest of the older readings.
            Some((_, k)) => Some(settling_now(&ages_s[..k], &readings[..k], ages_s[k], var, true)),
            None => Some(trend_end(&ages_s[..n], &readings[..n], var).unwrap_or(total / n as f64)),
        }
    }
}

/// The speed now of a runner settling onto a new pace since a change `since_age_s` before the
/// newest reading, from the readings since (newest first, `ages_s` before the newest, of
/// variance `var`). Runners do not change pace in a step but approach the new one, quickly at
/// first: each τ of [`SETTLE_POWERS`] is fitted as speed = a + b·e^(−t/τ) (t since the
/// change; a line in e^(−t/τ), least squares), and their values at the newest reading are
/// weighted by how likely each fit makes the readings. Against a line through the same
/// readings the model's value at the newest rests on all of them, not mostly on the newest few,
/// and it needs no τ known. Where the change was not expected (`drifting_too`), the runner may
/// as well be fading or picking up steadily: a straight line (τ → ∞) is weighed too. (After a
/// step's start it is not: it took the intervals' display error on `bench pace` from 1.19 to
/// 1.26 × its bound.) One or two readings: the newest.
fn settling_now(
    ages_s: &[f64],
    readings: &[(f64, f64)],
    since_age_s: f64,
    var: f64,
    drifting_too: bool,
) -> f64 {
    let newest = readings.first().map_or(0.0, |(v, _)| *v);
    if readings.len() < 3 {
        return newest;
    }
    // Each τ's (residual sum of squares, value at the newest); the last, τ → ∞, a straight
    // line, weighed only where `drifting_too`. e^(−t/τ) for τ = base/k is (e^(−t/base))^k: one
    // exp a reading (on the per-fix path).
    let mut sums = [LineSums::default(); SETTLE_POWERS.len() + 1];
    for (age_s, (v, _)) in ages_s.iter().zip(readings) {
        let since_s = (since_age_s - age_s).max(0.0);
        let base = (-since_s / SETTLE_BASE_S).exp();
        for (sums, k) in sums.iter_mut().zip(SETTLE_POWERS) {
            sums.add(base.powi(k), *v);
        }
        if drifting_too {
            sums[SETTLE_POWERS.len()].add(-since_s, *v);
        }
    }
    let now_base = (-since_age_s / SETTLE_BASE_S).exp();
    let models = SETTLE_POWERS.len() + usize::from(drifting_too);
    let mut fits = [(0.0, 0.0); SETTLE_POWERS.len() + 1];
    for (i, (fit, sums)) in fits.iter_mut().zip(&sums).enumerate().take(models) {
        let now = SETTLE_POWERS.get(i).map_or(-since_age_s, |k| now_base.powi(*k));
        let (Some((mean_u, mean_v)), Some(c)) = (sums.means(), sums.centred()) else { return newest };
        // Long after the change every reading is settled alike: their mean.
        *fit = if c.sxx > SETTLE_MIN_SPREAD {
            (c.syy - c.sxy * c.sxy / c.sxx, mean_v + c.slope() * (now - mean_u))
        } else {
            (c.syy, mean_v)
        };
    }
    let least = fits[..models].iter().map(|(rss, _)| *rss).fold(f64::INFINITY, f64::min);
    let (weights, sum) = fits[..models].iter().fold((0.0, 0.0), |(weights, sum), (rss, value)| {
        let weight = (-(rss - least) / (2.0 * var)).exp();
        (weights + weight, sum + weight * value)
    });
    sum / weights
}

/// Where the readings trend surely ([`DISPLAY_TREND_SIGMAS`] of their slope, for readings of
/// variance `var`): their line's value at the newest.
fn trend_end(ages_s: &[f64], readings: &[(f64, f64)], var: f64) -> Option<f64> {
    if readings.len() < DISPLAY_TREND_MIN_READINGS {
        return None;
    }
    // Speed over minus the readings' age (s).
    let mut line = LineSums::default();
    for (age_s, (v, _)) in ages_s.iter().zip(readings) {
        line.add(-age_s, *v);
    }
    let (mean_x, mean_v) = line.means()?;
    let fit = line.centred()?;
    // The slope's z² = slope² / (var / Sxx) = Sxy² / (var · Sxx).
    let trending =
        fit.sxx > 0.0 && fit.sxy * fit.sxy > DISPLAY_TREND_SIGMAS * DISPLAY_TREND_SIGMAS * var * fit.sxx;
    trending.then(|| mean_v - fit.slope() * mean_x)
}

/// Sums over fixes for a window's least-squares slope ([`LineSums`] of the along-track
/// distance over time) and its means: each fix keeps the sums over the fixes before it, so a
/// window's are the total less its first fix's — every window in a few steps. Times (s) and
/// distances (m) are relative to an origin moved up every [`REBASE_AFTER_MS`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    line: LineSums,
    /// Position east and north over time, for the straight-line speed.
    east: LineSums,
    north: LineSums,
    position_var: f64,
    turn_var: f64,
    doppler: f64,
    doppler_var: f64,
    without_doppler: usize,
}

impl Sums {
    fn add(&mut self, s: &Sample, (origin_ms, origin_along_m, origin_at): (u64, f64, (f64, f64))) {
        let t_s = (s.t_ms - origin_ms) as f64 / 1000.0;
        self.line.add(t_s, s.along_m - origin_along_m);
        self.east.add(t_s, s.at.0 - origin_at.0);
        self.north.add(t_s, s.at.1 - origin_at.1);
        self.position_var += s.position_var_m2;
        self.turn_var += s.turn_var_m2;
        match s.doppler {
            Some((v, sigma)) => {
                self.doppler += v;
                self.doppler_var += sigma * sigma;
            }
            None => self.without_doppler += 1,
        }
    }

    /// These sums less `earlier` (sums over a prefix of the same fixes).
    fn less(&self, earlier: &Sums) -> Sums {
        Sums {
            line: self.line.less(&earlier.line),
            east: self.east.less(&earlier.east),
            north: self.north.less(&earlier.north),
            position_var: self.position_var - earlier.position_var,
            turn_var: self.turn_var - earlier.turn_var,
            doppler: self.doppler - earlier.doppler,
            doppler_var: self.doppler_var - earlier.doppler_var,
            without_doppler: self.without_doppler - earlier.without_doppler,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straight run east at `speed`, fixes every second, with position noise from `noise`.
    fn sure((fast, slow): (Option<WindowSpeed>, Option<WindowSpeed>)) -> (bool, bool) {
        (fast.is_some(), slow.is_some())
    }

    fn run(speed: f64, seconds: u64, noise: impl Fn(u64) -> f64, doppler: Option<f64>) -> RecentFixes {
        let mut recent = RecentFixes::default();
        for t in 0..=seconds {
            let at = (speed * t as f64 + noise(t), noise(t + 10_000));
            recent.push(t * 1000, at, 16.0, Some((speed, 0.0)), doppler.map(|v| (v, 0.15)));
        }
        recent
    }

    #[test]
    fn steady_speed_lies_between_the_bounds() {
        // Five minutes: long enough for the (here nil) position noise to be measured.
        let recent = run(3.0, 300, |_| 0.0, None);
        let recent = recent.recent_speed().expect("windows full");
        // Neither too fast nor too slow for a band 5 % either side, but surely outside one
        // that ends 1 % below the speed, or 3 % above it (the windows may read 1 % slow).
        assert_eq!(sure(recent.outside(0, (2.85, 3.15), (2.8, 3.2))), (false, false));
        assert_eq!(sure(recent.outside(0, (2.6, 2.97), (2.55, 2.98))), (true, false));
        assert_eq!(sure(recent.outside(0, (3.1, 3.4), (3.09, 3.45))), (false, true));
    }

    #[test]
    fn windows_read_as_if_summed_afresh_after_the_origin_moves_up() {
        // 25 minutes with a surge every few minutes: the sums' origin moves up twice.
        let speed = |t: u64| 3.0 + if (t / 170).is_multiple_of(2) { 0.4 } else { 0.0 };
        let mut recent = RecentFixes::default();
        let mut east = 0.0;
        for t in 0..1500u64 {
            east += speed(t);
            let wobble = ((t * 7919) % 13) as f64 * 0.3;
            recent.push(t * 1000, (east + wobble, wobble), 9.0, Some((speed(t), 0.0)), None);
        }
        assert!(recent.origin.0 > 0, "the origin moved up");
        let windows = recent.recent_speed().expect("windows full").windows;
        let last_ms = recent.samples.back().expect("fixes").t_ms;
        for (k, window_s) in WINDOWS_S.iter().enumerate().filter(|(_, w)| **w >= POSITION_ONLY_MIN_WINDOW_S) {
            // The least-squares slope over the window's fixes, summed directly.
            let from_ms = last_ms - (window_s * 1000.0) as u64;
            let points: Vec<(f64, f64)> = recent
                .samples
                .iter()
                .filter(|s| s.t_ms >= from_ms)
                .map(|s| ((s.t_ms - from_ms) as f64 / 1000.0, s.along_m - recent.samples[0].along_m))
                .collect();
            let n = points.len() as f64;
            let (mt, ma) =
                (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
            let stt: f64 = points.iter().map(|p| (p.0 - mt).powi(2)).sum();
            let sta: f64 = points.iter().map(|p| (p.0 - mt) * (p.1 - ma)).sum();
            let window = windows[k].expect("window full");
            assert!(
                (window.speed_mps - sta / stt).abs() < 1e-9,
                "{window_s} s: {} vs {}",
                window.speed_mps,
                sta / stt
            );
        }
    }

    #[test]
    fn the_display_follows_a_runner_fading() {
        // A minute at 3.4 m/s, then fading to 2.8 over twelve seconds (readings a second
        // apart, without noise): the display is near the speed now where the readings' mean
        // lags 0.3 m/s behind.
        let mut recent = RecentFixes::default();
        let mut along = 0.0;
        for t in 0..=72u64 {
            let v = 3.4 - 0.05 * t.saturating_sub(60) as f64;
            along += v;
            recent.push(t * 1000, (along, 0.0), 9.0, Some((v, 0.0)), Some((v, 0.15)));
        }
        let shown = recent.doppler_mean().expect("readings");
        let readings_mean = (9.0 * 3.4 + (1..=12).map(|s| 3.4 - 0.05 * f64::from(s)).sum::<f64>()) / 21.0;
        assert!((shown - 2.8).abs() < 0.2 * (readings_mean - 2.8), "{shown} vs {readings_mean}");
        // Steady with a wobble: the mean of the last 20 s (21 readings, 11 of them high).
        let mut recent = RecentFixes::default();
        for t in 0..=80u64 {
            let v = 3.0 + [0.1, -0.1][(t % 2) as usize];
            recent.push(t * 1000, (3.0 * t as f64, 0.0), 9.0, Some((3.0, 0.0)), Some((v, 0.15)));
        }
        let shown = recent.doppler_mean().expect("readings");
        assert!((shown - (3.0 + 0.1 / 21.0)).abs() < 1e-9, "{shown}");
    }

    #[test]
    fn nothing_is_sure_before_the_first_window_fills() {
        let recent = run(3.0, 3, |_| 0.0, None);
        assert_eq!(recent.recent_speed(), None);
        // With Doppler the display speaks from the first readings; still no window.
        let recent = run(3.0, 3, |_| 0.0, Some(3.0));
        let speed = recent.recent_speed().expect("the display's readings");
        assert!(speed.windows.iter().all(Option::is_none), "{speed:?}");
        assert_eq!(speed.doppler_mean_mps, Some(3.0));
    }

    #[test]
    fn doppler_makes_a_short_window_sure_of_a_change() {
        let mut recent = run(3.0, 100, |_| 0.0, Some(3.0));
        // Ten seconds at 3.4 m/s after 100 s at 3.0.
        for t in 101..=110 {
            let at = (300.0 + 3.4 * (t - 100) as f64, 0.0);
            recent.push(t * 1000, at, 16.0, Some((3.4, 0.0)), Some((3.4, 0.15)));
        }
        let recent = recent.recent_speed().expect("windows full");
        let (band, outer) = ((2.7, 3.0), (2.65, 3.05));
        assert_eq!(sure(recent.outside(0, band, outer)), (true, false));
        // Windows reaching back before the change are not asked.
        assert_eq!(sure(recent.outside(101_000, band, outer)), (true, false));
        assert_eq!(sure(recent.outside(105_000, band, outer)), (false, false));
    }

    #[test]
    fn white_noise_is_learned_from_second_differences() {
        // Alternating ±3 m: second differences of ±12 m, variance 144 per axis on x.
        let recent = run(3.0, 600, |t| if t % 2 == 0 { 3.0 } else { -3.0 }, None);
        // Per axis: x has 144/6 = 24, y (same pattern) 24 → σ ≈ 4.9 m.
        assert!((recent.white_sigma_m() - 24f64.sqrt()).abs() < 0.3, "{}", recent.white_sigma_m());
    }

    #[test]
    fn a_wobbling_heading_makes_windows_of_white_noise_less_sure() {
        // The same straight run and the same 8 m of white noise, measured along a steady
        // heading and along one that wobbles by ±0.15 rad from second to second: the fixes'
        // errors no longer cancel out of the along-track distance, and the longest window says
        // so in its σ (the random walk's share: 1.2 · Σ σ²|Δu|² / T²).
        let window_sigma = |wobble: f64| {
            let mut noise = Noise(7);
            let mut recent = RecentFixes::default();
            for t in 0..=600u64 {
                let at = (3.0 * t as f64 + 8.0 * noise.gauss(), 8.0 * noise.gauss());
                let heading = if t % 2 == 0 { wobble } else { -wobble };
                let travel = (3.0 * heading.cos(), 3.0 * heading.sin());
                recent.push(t * 1000, at, 64.0, Some(travel), None);
            }
            let i = WINDOWS_S.iter().position(|s| *s == 96.0).expect("a 96-s window");
            recent.recent_speed().expect("windows full").windows[i].expect("96 s").sigma_mps
        };
        let (steady, wobbling) = (window_sigma(0.0), window_sigma(0.15));
        // Σ|Δu|² ≈ 96 · 0.3², σ² ≈ 64: 1.2 · 64 · 8.6 / 96² ≈ 0.072 (m/s)² added.
        assert!(wobbling * wobbling - steady * steady > 0.05, "{steady} → {wobbling}");
        assert!(wobbling * wobbling - steady * steady < 0.1, "{steady} → {wobbling}");
    }

    #[test]
    fn a_heading_that_lags_the_track_does_not_make_a_runner_surely_slow() {
        // Straight east at 3 m/s through 3 m of white noise (steps measured along the heading
        // alone), with a heading 30° off the track: along it the stretch reads 13 % short. The
        // straight-line speed between the window's ends reads the truth, and no "too slow"
        // verdict comes for a band of 2.85–3.15 m/s.
        let mut noise = Noise(11);
        let mut recent = RecentFixes::default();
        let heading = 30f64.to_radians();
        for t in 0..=300u64 {
            let at = (3.0 * t as f64 + 3.0 * noise.gauss(), 3.0 * noise.gauss());
            recent.push(t * 1000, at, 9.0, Some((3.0 * heading.cos(), 3.0 * heading.sin())), None);
        }
        let speed = recent.recent_speed().expect("windows full");
        let i = WINDOWS_S.iter().position(|s| *s == 96.0).expect("a 96-s window");
        let w = speed.windows[i].expect("96 s");
        assert!(w.speed_mps < 2.7, "along the heading: {w:?}");
        assert!((w.chord_mps.expect("positions") - 3.0).abs() < 0.05, "{w:?}");
        assert_eq!(sure(speed.outside(0, (2.85, 3.15), (2.8, 3.2))), (false, false));
    }

    #[test]
    fn reset_forgets_the_windows_but_keeps_the_phone_noise() {
        let mut recent = run(3.0, 300, |t| if t % 2 == 0 { 1.0 } else { -1.0 }, None);
        let white = recent.white_sigma_m();
        recent.reset();
        assert_eq!(recent.recent_speed(), None);
        assert_eq!(recent.white_sigma_m(), white);
    }

    /// A small deterministic source of Gaussian noise (xorshift and Box–Muller).
    struct Noise(u64);

    impl Noise {
        fn gauss(&mut self) -> f64 {
            let mut uniform = || {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// A straight run east at 3 m/s for `seconds`, its fixes off by a wandering error (σ
    /// `wander_m` per axis, forgetting itself over 2 min) and white noise of 0.25 m, reported
    /// as a 4-m error per axis.
    fn wandering(wander_m: f64, seconds: u64) -> RecentFixes {
        wandering_seed(wander_m, seconds, 0x9E37_79B9_7F4A_7C15)
    }

    fn wandering_seed(wander_m: f64, seconds: u64, seed: u64) -> RecentFixes {
        let mut noise = Noise(seed);
        let mut recent = RecentFixes::default();
        let decay = (-1.0f64 / 120.0).exp();
        let kick = wander_m * (1.0 - decay * decay).sqrt();
        let mut error = (wander_m * noise.gauss(), wander_m * noise.gauss());
        for t in 0..=seconds {
            error = (error.0 * decay + kick * noise.gauss(), error.1 * decay + kick * noise.gauss());
            let at = (3.0 * t as f64 + error.0 + 0.25 * noise.gauss(), error.1 + 0.25 * noise.gauss());
            recent.push(t * 1000, at, 16.0, Some((3.0, 0.0)), None);
        }
        recent
    }

    #[test]
    fn the_wandering_error_is_measured_not_taken_from_the_reported_accuracy() {
        // 2 m wandering over 2 min diffuses at 2σ²/τ ≈ 0.067 m²/s.
        for seed in 1..=8 {
            let q =
                wandering_seed(2.0, 900, seed).wander_diffusion_m2_per_s().expect("measured after 15 min");
            // Measured, times the caution: 0.083 ± 40 % — a wander that forgets itself reads
            // low by second differences, and the eight seeds give 0.045–0.089.
            assert!(q > 0.04 && q < 0.125, "seed {seed}: {q}");
        }
        let recent = wandering(2.0, 900);
        // The 48-s window is as sure as the measured error allows, not as the reported 4 m
        // at its worst (1.55 × 4 / 48 ≈ 0.13 m/s) would have it.
        let w = recent.recent_speed().and_then(|r| r.windows[3]).expect("a 48-s window");
        assert!(w.sigma_mps < 0.07, "{w:?}");
        assert!((w.speed_mps - 3.0).abs() < 4.0 * w.sigma_mps, "{w:?}");
        // Until two minutes of it are measured, the reported accuracy rules.
        assert_eq!(wandering(2.0, 100).wander_diffusion_m2_per_s(), None);
    }

    #[test]
    fn a_perfect_track_is_not_trusted_to_the_centimetre() {
        let recent = run(3.0, 300, |_| 0.0, None);
        assert_eq!(recent.wander_diffusion_m2_per_s(), Some(WANDER_DIFFUSION_FLOOR_M2_PER_S));
    }

    #[test]
    fn a_winding_path_reads_its_length_once_the_noise_is_known() {
        // Round a 60-m circle at 3 m/s (a quarter turn every 31 s), measured along a heading
        // four seconds late: along it alone the steps read ~1 % short.
        let mut noise = Noise(42);
        let mut recent = RecentFixes::default();
        let (radius, speed) = (60.0, 3.0);
        let angle = |t: f64| speed * t / radius;
        for t in 0..=600u64 {
            let a = angle(t as f64);
            let at =
                (radius * a.sin() + 0.25 * noise.gauss(), radius * (1.0 - a.cos()) + 0.25 * noise.gauss());
            let late = angle(t.saturating_sub(4) as f64);
            recent.push(t * 1000, at, 4.0, Some((speed * late.cos(), speed * late.sin())), None);
        }
        let i = WINDOWS_S.iter().position(|s| *s == 96.0).expect("a 96-s window");
        let w = recent.recent_speed().and_then(|r| r.windows[i]).expect("a 96-s window");
        assert!((w.speed_mps - speed).abs() < 0.005 * speed, "{w:?}");
    }

    #[test]
    fn the_spoken_doppler_mean_holds_only_the_newest_readings_after_a_change() {
        let mut recent = run(3.0, 100, |_| 0.0, Some(3.0));
        for t in 101..=105 {
            let at = (300.0 + 3.6 * (t - 100) as f64, 0.0);
            recent.push(t * 1000, at, 16.0, Some((3.6, 0.0)), Some((3.6, 0.15)));
        }
        let mean = recent.recent_speed().and_then(|r| r.doppler_mean_mps).expect("Doppler");
        assert!((mean - 3.6).abs() < 1e-9, "{mean}");
        // Steady, it is the mean of the whole window.
        let steady = run(3.0, 100, |_| 0.0, Some(3.0));
        assert_eq!(steady.recent_speed().and_then(|r| r.doppler_mean_mps), Some(3.0));
    }

    #[test]
    fn after_an_expected_change_the_spoken_doppler_reads_from_the_first_new_reading() {
        // A rep starts at 100 s: one reading after it is the figure, not a mix with the jog.
        let mut recent = run(3.0, 100, |_| 0.0, Some(3.0));
        recent.pace_may_change(100_000);
        recent.push(101_000, (303.4, 0.0), 16.0, Some((3.4, 0.0)), Some((3.4, 0.15)));
        let mean = recent.recent_speed().and_then(|r| r.doppler_mean_mps).expect("Doppler");
        assert!((mean - 3.4).abs() < 1e-9, "{mean}");
        // Without the step's start, one reading of 3.4 among ten of 3.0 is not yet a change.
        let mut unaware = run(3.0, 100, |_| 0.0, Some(3.0));
        unaware.push(101_000, (303.4, 0.0), 16.0, Some((3.4, 0.0)), Some((3.4, 0.15)));
        let mean = unaware.recent_speed().and_then(|r| r.doppler_mean_mps).expect("Doppler");
        assert!(mean < 3.1, "{mean}");
        // At 3.4 m/s from second 102 to `to`: the figure then.
        let on_at_3_4 = |recent: &mut RecentFixes, seconds: std::ops::RangeInclusive<u64>| {
            for t in seconds {
                let at = (303.4 + 3.4 * (t - 101) as f64, 0.0);
                recent.push(t * 1000, at, 16.0, Some((3.4, 0.0)), Some((3.4, 0.15)));
            }
            recent.recent_speed().and_then(|r| r.doppler_mean_mps).expect("Doppler")
        };
        // Settling onto 3.4 (here within a second, quicker than any runner): 3.4 within a
        // second a km of pace a quarter of a minute on.
        let mean = on_at_3_4(&mut recent, 102..=115);
        assert!((mean - 3.4).abs() < 0.03, "{mean}");
        // The settling read to its end, the expected change is history: the window's mean.
        let mean = on_at_3_4(&mut recent, 116..=151);
        assert!((mean - 3.4).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn a_runner_settling_onto_a_new_pace_is_read_at_the_newest_reading() {
        // From 2.5 to 4.4 m/s with a time constant of 2.5 s (none of those fitted), readings
        // without noise: eight seconds in, the figure is within 0.05 m/s of the speed then,
        // where the readings' mean is 0.5 behind and the line through them overshoots.
        let speed = |t: f64| 4.4 - 1.9 * (-t / 2.5).exp();
        let mut recent = run(2.5, 100, |_| 0.0, Some(2.5));
        recent.pace_may_change(100_000);
        let mut along = 250.0;
        for t in 101..=108u64 {
            let v = speed((t - 100) as f64);
            along += v;
            recent.push(t * 1000, (along, 0.0), 16.0, Some((v, 0.0)), Some((v, 0.15)));
        }
        let shown = recent.recent_speed().and_then(|r| r.doppler_mean_mps).expect("Doppler");
        assert!((shown - speed(8.0)).abs() < 0.05, "{shown} vs {}", speed(8.0));
        // The same readings as a line through them: off by more.
        let mut line = LineSums::default();
        for t in 100..=108u64 {
            line.add(t as f64, if t == 100 { 2.5 } else { speed((t - 100) as f64) });
        }
        let (mean_t, mean_v) = line.means().expect("readings");
        let at_newest = mean_v + line.centred().expect("readings").slope() * (108.0 - mean_t);
        assert!((at_newest - speed(8.0)).abs() > 0.1, "{at_newest}");
        assert!(mean_v < speed(8.0) - 0.4, "{mean_v}");
    }

    proptest::proptest! {
        #[test]
        fn the_spoken_doppler_figure_stays_finite_and_near_its_readings(
            readings in proptest::collection::vec((500u64..3000, 0.0f64..8.0, 0.05f64..2.0, proptest::bool::weighted(0.05)), 1..150)
        ) {
            // Arbitrary Doppler readings at irregular times, with a change expected now and
            // then: the figure is finite and within the readings' own spread of them (a fit's
            // value at a reading may lie a little outside their range, never far).
            let mut recent = RecentFixes::default();
            let (mut t_ms, mut along) = (0u64, 0.0f64);
            let mut kept: VecDeque<(u64, f64)> = VecDeque::new();
            for (dt_ms, v, sigma, change) in readings {
                t_ms += dt_ms;
                along += v * dt_ms as f64 / 1000.0;
                if change {
                    recent.pace_may_change(t_ms);
                }
                recent.push(t_ms, (along, 0.0), 16.0, Some((v, 0.0)), Some((v, sigma)));
                kept.push_back((t_ms, v));
                while kept.front().is_some_and(|(t, _)| t_ms - t > DISPLAY_SETTLE_SPAN_MS) {
                    kept.pop_front();
                }
                if let Some(shown) = recent.recent_speed().and_then(|r| r.doppler_mean_mps) {
                    let low = kept.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
                    let high = kept.iter().map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max);
                    proptest::prop_assert!(shown.is_finite(), "{shown}");
                    proptest::prop_assert!(
                        shown >= low - (high - low) - 1e-9 && shown <= high + (high - low) + 1e-9,
                        "{shown} outside {low}..{high}"
                    );
                }
            }
        }
    }
}

//! How fast the runner has *surely* been going over the last seconds to minutes: the quick half
//! of pace coaching.
//!
//! The Kalman filter in [`super::pace`] gives the best *current* speed, smooth enough to show
//! and to speak; that smoothness makes it slow to notice a change. "Is the runner off target?"
//! is a different question — a test — and is answered here: the raw measurements of each of a
//! few windows (6 s to 96 s) give a speed with an honest σ (Doppler readings averaged;
//! positions through a least-squares slope of the along-track distance), and the result is the
//! speed the runner has surely been above, and surely been below, in *some* window. A clear
//! change shows in the short windows within seconds, a small drift in the long ones.
//!
//! Phone position error is mostly slow-wandering (chipset filtering), and wandering error does
//! not average away in a window the way white noise does. The white part is measured from the
//! fixes themselves (second differences of position); the rest of the reported accuracy is
//! treated as wandering, at its most harmful correlation time for each window.
//!
//! Must not: keep more than the longest window, or mix fixes across a pause or a filter
//! restart (the caller resets it).

use std::collections::VecDeque;

/// The windows tested, in seconds: short ones catch a clear change fast, long ones a small
/// one surely.
pub const WINDOWS_S: [f64; 5] = [6.0, 12.0, 24.0, 48.0, 96.0];
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
/// A window counts only when its fixes span this share of it (a window just after a restart
/// or a dropout is not yet what it says).
const MIN_SPAN_SHARE: f64 = 0.75;
/// Fewer fixes than this say nothing about a window.
const MIN_FIXES: usize = 4;
/// "Surely": this many σ. With five windows, two directions and a new test every second, a
/// runner on target (at least the tolerance inside the edge the test is made against) crosses
/// it about once in many hours (`pacenote bench pace`).
pub const SURE_SIGMAS: f64 = 4.0;
/// Phone chipsets smooth Doppler speed over a second or two, so consecutive readings are not
/// independent: one independent reading per this many seconds.
const DOPPLER_INDEPENDENT_EVERY_S: f64 = 2.0;
/// Wandering position error (a first-order Gauss–Markov process of σ per axis) moves the
/// least-squares slope over a window of span T by up to about this × σ / T, at the worst
/// correlation time (≈ T; for a random walk the slope variance is 6q/(5T), with q = 2σ²/τ).
const WANDER_SLOPE_FACTOR: f64 = 1.55;
/// How quickly the white part of the position noise is learned (weight of each new second
/// difference).
const WHITE_NOISE_LEARN_WEIGHT: f64 = 0.02;
/// Second differences count only for evenly spaced fixes (within this share).
const EVEN_SPACING_SHARE: f64 = 0.1;
/// Second differences larger than this (m) are a jump, not noise.
const MAX_SECOND_DIFFERENCE_M: f64 = 50.0;

/// One accepted fix, as the windows need it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    t_ms: u64,
    /// Distance along the track since the reset, m.
    along_m: f64,
    /// Reported position variance per axis, m².
    position_var_m2: f64,
    /// Doppler speed and its σ, m/s.
    doppler: Option<(f64, f64)>,
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
}

/// The speeds over the recent windows ([`WINDOWS_S`]), shortest first; `None` for a window
/// not yet full.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RecentSpeed {
    pub windows: [Option<WindowSpeed>; WINDOWS_S.len()],
}

impl RecentSpeed {
    /// The speed the runner has surely been above, and surely below, in some window that
    /// starts at or after `since_ms` (windows reaching back into a step start or a restart
    /// would speak of a runner still getting going).
    pub fn sure_bounds(&self, since_ms: u64) -> Option<(f64, f64)> {
        self.windows.iter().flatten().filter(|w| w.from_ms >= since_ms).fold(None, |bounds, w| {
            let above = w.speed_mps - SURE_SIGMAS * w.sigma_mps;
            let below = w.speed_mps + SURE_SIGMAS * w.sigma_mps + w.low_bias_mps;
            Some(bounds.map_or((above, below), |(a, b): (f64, f64)| (a.max(above), b.min(below))))
        })
    }
}

/// The recent fixes and the learned white position noise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentFixes {
    samples: VecDeque<Sample>,
    last_at: Option<(f64, f64)>,
    along_m: f64,
    /// The two fixes before the last, for second differences: (t, position).
    before: Option<(u64, (f64, f64))>,
    last: Option<(u64, (f64, f64))>,
    /// Learned variance of the white part of the position error per axis, m² (0 until
    /// learned: all of the error counts as wandering, the cautious side).
    white_var_m2: f64,
    /// The windows as of the last fix (worked out once per fix, not per question).
    latest: Option<RecentSpeed>,
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
    }

    /// Takes an accepted fix at local position `at`; `heading` (unit east, north) is the
    /// direction of travel the filter knows, along which position changes count as distance.
    pub fn push(
        &mut self,
        t_ms: u64,
        at: (f64, f64),
        position_var_m2: f64,
        heading: Option<(f64, f64)>,
        doppler: Option<(f64, f64)>,
    ) {
        if self.samples.back().is_some_and(|s| s.t_ms >= t_ms) {
            return;
        }
        if let Some(last) = self.last_at {
            let d = (at.0 - last.0, at.1 - last.1);
            self.along_m += match heading {
                Some((u, w)) => d.0 * u + d.1 * w,
                None => (d.0 * d.0 + d.1 * d.1).sqrt(),
            };
        }
        self.last_at = Some(at);
        self.learn_white_noise(t_ms, at);
        self.samples.push_back(Sample { t_ms, along_m: self.along_m, position_var_m2, doppler });
        let longest_ms = (WINDOWS_S[WINDOWS_S.len() - 1] * 1000.0) as u64;
        while self.samples.front().is_some_and(|s| t_ms - s.t_ms > longest_ms) {
            self.samples.pop_front();
        }
        self.latest = self.compute();
    }

    fn learn_white_noise(&mut self, t_ms: u64, at: (f64, f64)) {
        if let (Some((t0, p0)), Some((t1, p1))) = (self.before, self.last) {
            let (dt1, dt2) = ((t1 - t0) as f64, (t_ms - t1) as f64);
            if (dt1 - dt2).abs() <= EVEN_SPACING_SHARE * dt1 {
                // For white noise of variance σ² per axis, x₂ − 2x₁ + x₀ has variance 6σ²;
                // the runner's own acceleration adds centimetres at 1 Hz.
                let (ex, ey) = (at.0 - 2.0 * p1.0 + p0.0, at.1 - 2.0 * p1.1 + p0.1);
                if ex.abs() < MAX_SECOND_DIFFERENCE_M && ey.abs() < MAX_SECOND_DIFFERENCE_M {
                    let var = (ex * ex + ey * ey) / 2.0 / 6.0;
                    self.white_var_m2 += WHITE_NOISE_LEARN_WEIGHT * (var - self.white_var_m2);
                }
            }
        }
        self.before = self.last;
        self.last = Some((t_ms, at));
    }

    /// The learned white part of the position noise, σ per axis in m.
    pub fn white_sigma_m(&self) -> f64 {
        self.white_var_m2.sqrt()
    }

    /// The speed over the window of `window_s` ending at the last fix, and its σ.
    fn window(&self, window_s: f64) -> Option<WindowSpeed> {
        let end = self.samples.back()?.t_ms;
        let from_ms = end.saturating_sub((window_s * 1000.0) as u64);
        let start = self.samples.partition_point(|s| s.t_ms < from_ms);
        let window = self.samples.range(start..);
        let n = window.len();
        let first = self.samples.get(start)?;
        let span_s = (end - first.t_ms) as f64 / 1000.0;
        if n < MIN_FIXES || span_s < MIN_SPAN_SHARE * window_s {
            return None;
        }
        if window_s < POSITION_ONLY_MIN_WINDOW_S && self.samples.back().is_some_and(|s| s.doppler.is_none()) {
            return None;
        }
        // One pass of sums, relative to the window's first fix (small numbers, no precision
        // lost to a run's hours and kilometres).
        let (mut st, mut sa, mut stt, mut sta, mut var_sum) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut doppler_sum, mut doppler_var_sum, mut all_doppler) = (0.0, 0.0, true);
        for s in window {
            let t = (s.t_ms - first.t_ms) as f64 / 1000.0;
            let a = s.along_m - first.along_m;
            st += t;
            sa += a;
            stt += t * t;
            sta += t * a;
            var_sum += s.position_var_m2;
            match s.doppler {
                Some((v, sigma)) => {
                    doppler_sum += v;
                    doppler_var_sum += sigma * sigma;
                }
                None => all_doppler = false,
            }
        }
        let nf = n as f64;
        // Doppler, when every fix of the window has it, and then Doppler alone: it is unbiased,
        // and sharper than positions could add to.
        if all_doppler {
            let independent = nf.min(span_s / DOPPLER_INDEPENDENT_EVERY_S).max(1.0);
            return Some(WindowSpeed {
                from_ms: first.t_ms,
                speed_mps: doppler_sum / nf,
                sigma_mps: (doppler_var_sum / nf / independent).sqrt(),
                low_bias_mps: 0.0,
            });
        }
        if window_s < POSITION_ONLY_MIN_WINDOW_S {
            return None;
        }
        // Positions: least-squares slope of the along-track distance over time.
        let stt = stt - st * st / nf;
        let sta = sta - st * sa / nf;
        if stt <= 0.0 {
            return None;
        }
        // The white part as measured (phones' reported accuracy is no better than a rough
        // guess); the wandering part as much of the reported error as is left.
        let white_var = self.white_var_m2;
        let wander_var = (var_sum / nf - white_var).max(0.0);
        let slope_var = white_var / stt + (WANDER_SLOPE_FACTOR / span_s).powi(2) * wander_var;
        let speed = sta / stt;
        Some(WindowSpeed {
            from_ms: first.t_ms,
            speed_mps: speed,
            sigma_mps: slope_var.sqrt(),
            low_bias_mps: DIRECTION_BIAS_SHARE * speed.max(0.0),
        })
    }

    /// The speeds over the recent windows, or `None` before the shortest is full.
    pub fn recent_speed(&self) -> Option<RecentSpeed> {
        self.latest
    }

    fn compute(&self) -> Option<RecentSpeed> {
        let windows = WINDOWS_S.map(|window_s| self.window(window_s));
        windows.iter().any(Option::is_some).then_some(RecentSpeed { windows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straight run east at `speed`, fixes every second, with position noise from `noise`.
    fn run(speed: f64, seconds: u64, noise: impl Fn(u64) -> f64, doppler: Option<f64>) -> RecentFixes {
        let mut recent = RecentFixes::default();
        for t in 0..=seconds {
            let at = (speed * t as f64 + noise(t), noise(t + 10_000));
            recent.push(t * 1000, at, 16.0, Some((1.0, 0.0)), doppler.map(|v| (v, 0.15)));
        }
        recent
    }

    #[test]
    fn steady_speed_lies_between_the_bounds() {
        let recent = run(3.0, 120, |_| 0.0, None);
        let (above, below) = recent.recent_speed().and_then(|r| r.sure_bounds(0)).expect("windows full");
        assert!(above < 3.0 && above > 2.0, "{above}");
        assert!(below > 3.0 && below < 4.0, "{below}");
    }

    #[test]
    fn nothing_is_sure_before_the_first_window_fills() {
        let recent = run(3.0, 3, |_| 0.0, Some(3.0));
        assert_eq!(recent.recent_speed(), None);
    }

    #[test]
    fn doppler_makes_a_short_window_sure_of_a_change() {
        let mut recent = run(3.0, 100, |_| 0.0, Some(3.0));
        // Ten seconds at 3.4 m/s after 100 s at 3.0.
        for t in 101..=110 {
            let at = (300.0 + 3.4 * (t - 100) as f64, 0.0);
            recent.push(t * 1000, at, 16.0, Some((1.0, 0.0)), Some((3.4, 0.15)));
        }
        let (above, _) = recent.recent_speed().and_then(|r| r.sure_bounds(0)).expect("windows full");
        assert!(above > 3.0, "{above}");
        // Windows reaching back before the change are not asked.
        let (above, _) = recent.recent_speed().and_then(|r| r.sure_bounds(101_000)).expect("a window");
        assert!(above > 3.0, "{above}");
        assert_eq!(recent.recent_speed().and_then(|r| r.sure_bounds(105_000)), None);
    }

    #[test]
    fn white_noise_is_learned_from_second_differences() {
        // Alternating ±3 m: second differences of ±12 m, variance 144 per axis on x.
        let recent = run(3.0, 600, |t| if t % 2 == 0 { 3.0 } else { -3.0 }, None);
        // Per axis: x has 144/6 = 24, y (same pattern) 24 → σ ≈ 4.9 m.
        assert!((recent.white_sigma_m() - 24f64.sqrt()).abs() < 0.3, "{}", recent.white_sigma_m());
    }

    #[test]
    fn reset_forgets_the_windows_but_keeps_the_phone_noise() {
        let mut recent = run(3.0, 300, |t| if t % 2 == 0 { 1.0 } else { -1.0 }, None);
        let white = recent.white_sigma_m();
        recent.reset();
        assert_eq!(recent.recent_speed(), None);
        assert_eq!(recent.white_sigma_m(), white);
    }
}

//! Least-squares straight lines over the newest stretch of a stream of points, each in a few
//! steps however long the stretch: the speed over a window (distance over time) and the grade
//! (altitude over distance) ask for one on every fix.
//!
//! Each point keeps the sums over the points before it ([`LineSums`]), so a stretch's sums are
//! the running total less its first point's. Coordinates are taken relative to an origin the
//! caller moves up from time to time (small numbers: no precision lost to a run's hours and
//! kilometres).
//!
//! Must not: hold points itself (the callers keep theirs, with what else they need), or fit
//! across a reset of the origin without summing afresh.

/// Callers move their sums' origin up to their oldest point kept once it is this old (ms):
/// times within ten minutes or so and distances within a few kilometres keep a stretch's sums
/// of squares exact to far below a centimetre, however long the run.
pub const REBASE_AFTER_MS: u64 = 600_000;

/// Sums of x, y and their products over a run of points.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LineSums {
    pub n: usize,
    x: f64,
    y: f64,
    xx: f64,
    xy: f64,
    yy: f64,
}

/// A stretch's sums about their means: Sxx, Sxy, Syy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Centred {
    pub sxx: f64,
    pub sxy: f64,
    pub syy: f64,
}

impl Centred {
    /// The least-squares slope, y over x.
    pub fn slope(&self) -> f64 {
        self.sxy / self.sxx
    }
}

impl LineSums {
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.xy += x * y;
        self.yy += y * y;
    }

    /// These sums less `earlier` (the sums over a prefix of the same points).
    pub fn less(&self, earlier: &Self) -> Self {
        Self {
            n: self.n - earlier.n,
            x: self.x - earlier.x,
            y: self.y - earlier.y,
            xx: self.xx - earlier.xx,
            xy: self.xy - earlier.xy,
            yy: self.yy - earlier.yy,
        }
    }

    /// The means of x and of y, or `None` for no points.
    pub fn means(&self) -> Option<(f64, f64)> {
        (self.n > 0).then(|| (self.x / self.n as f64, self.y / self.n as f64))
    }

    /// The sums about the means, or `None` for no points.
    pub fn centred(&self) -> Option<Centred> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        Some(Centred {
            sxx: self.xx - self.x * self.x / n,
            sxy: self.xy - self.x * self.y / n,
            syy: self.yy - self.y * self.y / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_fits_as_if_summed_alone() {
        // y = 2x + 1 with a wobble, far from the origin; the stretch is the last 10 points.
        let points: Vec<(f64, f64)> = (0..40)
            .map(|i| (1000.0 + f64::from(i), 2001.0 + 2.0 * f64::from(i) + f64::from(i % 3) * 0.1))
            .collect();
        let mut total = LineSums::default();
        let mut before = Vec::new();
        for &(x, y) in &points {
            before.push(total);
            total.add(x, y);
        }
        let stretch = total.less(&before[30]).centred().expect("points");
        let mut alone = LineSums::default();
        for &(x, y) in &points[30..] {
            alone.add(x - 1030.0, y - 2061.0);
        }
        let alone = alone.centred().expect("points");
        assert!((stretch.slope() - alone.slope()).abs() < 1e-9, "{} vs {}", stretch.slope(), alone.slope());
        assert!((stretch.sxx - alone.sxx).abs() < 1e-6);
        assert!((stretch.syy - alone.syy).abs() < 1e-6);
        assert!((stretch.slope() - 2.0).abs() < 0.05);
        assert_eq!(LineSums::default().centred(), None);
    }
}

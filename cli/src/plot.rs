//! The run as a picture a runner understands at a glance (SVG): pace and heart rate over the
//! run, the target band of each step, where each step starts, and a marker for every cue
//! (hover it for the words). Written by hand as a few SVG elements: a plotting crate would
//! bring font machinery for a chart this simple.

use std::fmt::Write as _;

use pacenote_core::cue::Utterance;
use pacenote_core::engine::Input;
use pacenote_core::plan::{ExpandedStep, Target};
use pacenote_core::signal::heart_rate::HeartRateFilter;
use pacenote_core::signal::pace::PaceEstimator;
use pacenote_core::units::format_clock_s;
use pacenote_track::Recording;

const WIDTH: f64 = 1200.0;
const PACE_TOP: f64 = 40.0;
const PACE_HEIGHT: f64 = 260.0;
const HR_TOP: f64 = 340.0;
const HR_HEIGHT: f64 = 140.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
/// Pace axis: 3:00/km at the top to 9:00/km at the bottom (slower runs are off the chart).
const PACE_AXIS_S: (f64, f64) = (180.0, 540.0);
const HR_AXIS_BPM: (f64, f64) = (60.0, 200.0);

/// One point a second of what the engine saw: (t_ms, pace s/km, bpm).
fn series(recording: &Recording) -> Vec<(u64, Option<f64>, Option<f64>)> {
    let mut pace = PaceEstimator::new();
    let mut heart = HeartRateFilter::new();
    let mut out = Vec::new();
    for input in pacenote_track::replay::to_inputs(recording) {
        match input {
            Input::Fix(f) => {
                pace.on_fix(&f);
            }
            Input::DeviceSpeed(r) => pace.on_device_speed(&r),
            Input::Cadence(r) => pace.on_cadence(&r),
            Input::HeartRate(r) => {
                heart.on_reading(&r);
            }
            Input::Pause { .. } => pace.set_paused(true),
            Input::Resume { .. } => pace.set_paused(false),
            Input::Tick { t_ms } => {
                pace.on_tick(t_ms);
                let p = pace.estimate(t_ms).pace().map(|p| p.0);
                out.push((t_ms, p, heart.estimate(t_ms).bpm));
            }
            _ => {}
        }
    }
    out
}

/// The SVG of a replayed run.
pub fn svg(
    recording: &Recording,
    steps: &[ExpandedStep],
    utterances: &[Utterance],
    title: &str,
    words: &[String],
) -> String {
    let end_ms = recording.duration_ms().max(1) as f64;
    let x = |t_ms: f64| LEFT + (WIDTH - LEFT - RIGHT) * (t_ms / end_ms).clamp(0.0, 1.0);
    let y_pace = |s: f64| {
        PACE_TOP + PACE_HEIGHT * ((s - PACE_AXIS_S.0) / (PACE_AXIS_S.1 - PACE_AXIS_S.0)).clamp(0.0, 1.0)
    };
    let y_hr = |b: f64| {
        HR_TOP + HR_HEIGHT * (1.0 - ((b - HR_AXIS_BPM.0) / (HR_AXIS_BPM.1 - HR_AXIS_BPM.0)).clamp(0.0, 1.0))
    };
    let escape =
        |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="520" viewBox="0 0 {WIDTH} 520" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = writeln!(out, r#"<text x="{LEFT}" y="22" font-size="15">{}</text>"#, escape(title));

    // Step starts from the cues, and each step's target band until the next.
    let mut starts: Vec<(u64, usize)> = utterances
        .iter()
        .flat_map(|u| {
            u.cues
                .iter()
                .filter(|c| c.kind == pacenote_core::cue::CueKind::StepStart)
                .map(move |c| (u.at_ms, c.step))
        })
        .filter_map(|(t, s)| s.map(|s| (t, s)))
        .collect();
    starts.dedup_by_key(|(_, s)| *s);
    for (i, &(t, step)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(end_ms, |(n, _)| *n as f64);
        let (x0, x1) = (x(t as f64), x(next));
        if let Some(Target::Pace(range)) = steps.get(step).and_then(|s| s.step.target) {
            let (top, bottom) = (y_pace(range.fastest.0), y_pace(range.slowest.0));
            let _ = writeln!(
                out,
                r##"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#2e7d32" fill-opacity="0.15"/>"##,
                x1 - x0,
                (bottom - top).max(1.0)
            );
        }
        let _ = writeln!(
            out,
            r##"<line x1="{x0:.1}" y1="{PACE_TOP}" x2="{x0:.1}" y2="{}" stroke="#999" stroke-dasharray="3 3"/>"##,
            HR_TOP + HR_HEIGHT
        );
        if let Some(s) = steps.get(step) {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{}" fill="#555" font-size="9">{}</text>"##,
                x0 + 2.0,
                PACE_TOP + 10.0,
                escape(s.step.kind.as_str())
            );
        }
    }

    // Pace and heart-rate lines.
    let data = series(recording);
    for (values, color, y) in [
        (
            data.iter().map(|(t, p, _)| (*t, *p)).collect::<Vec<_>>(),
            "#1565c0",
            &y_pace as &dyn Fn(f64) -> f64,
        ),
        (data.iter().map(|(t, _, h)| (*t, *h)).collect::<Vec<_>>(), "#c62828", &y_hr as &dyn Fn(f64) -> f64),
    ] {
        let mut path = String::new();
        let mut pen_down = false;
        for (t, v) in values {
            match v {
                Some(v) => {
                    let _ =
                        write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(t as f64), y(v));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = writeln!(out, r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="1.2"/>"#);
    }

    // Axes and labels.
    for s in [180.0, 240.0, 300.0, 360.0, 420.0, 480.0, 540.0] {
        let y = y_pace(s);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="8" y="{:.1}">{}/km</text>"##,
            WIDTH - RIGHT,
            y + 4.0,
            pacenote_core::units::SecondsPerKm(s)
        );
    }
    for b in [80.0, 120.0, 160.0, 200.0] {
        let y = y_hr(b);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="8" y="{:.1}">{b:.0} bpm</text>"##,
            WIDTH - RIGHT,
            y + 4.0
        );
    }
    let minutes = (end_ms / 60_000.0).ceil() as u64;
    let every = (minutes / 10).max(1);
    for m in (0..=minutes).step_by(every as usize) {
        let t = m as f64 * 60_000.0;
        if t <= end_ms {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="505" text-anchor="middle">{}</text>"#,
                x(t),
                format_clock_s(t / 1000.0)
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" fill="#1565c0">pace</text><text x="{}" y="{}" fill="#c62828">heart rate</text>"##,
        WIDTH - 120.0,
        PACE_TOP - 8.0,
        WIDTH - 70.0,
        PACE_TOP - 8.0
    );

    // A marker for every cue, with its words.
    for (u, text) in utterances.iter().zip(words) {
        let cx = x(u.at_ms as f64);
        let _ = writeln!(
            out,
            r##"<g><title>{} {}</title><path d="M{cx:.1},{} l-4,-8 h8 z" fill="#f9a825"/></g>"##,
            format_clock_s(u.at_ms as f64 / 1000.0),
            escape(text),
            PACE_TOP + PACE_HEIGHT + 18.0
        );
    }
    out.push_str("</svg>\n");
    out
}

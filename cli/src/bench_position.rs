//! `bench pace`'s position-error groups: how soon a sustained 10 % change from the band's
//! centre is corrected, on a ±3.3 % band, with positions only and with Doppler, as the
//! wandering part of the GPS error grows (white noise 0.25 m, correlation time 2 min) — and how
//! quiet the coach stays meanwhile on steady running.
//!
//! Latency alone flatters a trigger-happy estimator, so each baseline is also shown at
//! *matched false cues*: its band widened until it is as quiet on steady running as ours, and
//! its latency then.
//!
//! Must not: tune anything. It measures what the product does on simulated runs with known
//! truth.

use pacenote_core::cue::CueKind;
use pacenote_track::simulate::{SimConfig, simulate_plan};
use serde::Serialize;

use crate::bench::{
    CHANGE_AT_MS, CHANGE_AT_S, ESTIMATORS, STEADY_WOBBLE, Trace, round2, runner_plan, trace_all_with,
};

/// The wandering part of the position error, σ per axis (m): none, a good phone in the open,
/// the goal's 2 m, a phone near buildings.
const WANDER_M: [f64; 4] = [0.0, 1.0, 2.0, 4.0];
/// The white part, per axis (m): what phones show fix to fix.
const WHITE_M: f64 = 0.25;
/// How long the wandering error takes to forget itself: ~2 min (chipset filtering).
const WANDER_CORRELATION_S: f64 = 120.0;
/// Band centres (s/km), and the band's half-width as a share of its centre: 4:50–5:10 on 5:00.
const CENTRES_S_PER_KM: [f64; 3] = [240.0, 300.0, 360.0];
const BAND_HALF_SHARE: f64 = 1.0 / 30.0;
/// Seeds per centre, and how long each steady run lasts.
const SEEDS: u64 = 4;
const STEADY_S: f64 = 1800.0;
/// The change lasts this long after [`CHANGE_AT_S`]; a change never corrected counts as this.
const CHANGE_LASTS_S: f64 = 240.0;
/// The goals: corrected within this long (s) with positions only, by wander, and with Doppler;
/// false corrections at most this many an hour on steady running.
const POSITIONS_GOAL_S: [(f64, f64); 2] = [(2.0, 60.0), (4.0, 120.0)];
const DOPPLER_GOAL_S: f64 = 15.0;
const FALSE_GOAL_PER_H: f64 = 0.5;
/// The widest margin tried on a baseline's band to match our false cues (s/km).
const MAX_MARGIN_S_PER_KM: u32 = 90;

/// A baseline at its own band and at the band that makes it as quiet as ours.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedRow {
    pub estimator: String,
    pub false_cues_per_hour: f64,
    pub detect_latency_s: f64,
    /// The extra margin on each end of its band that matches our false cues (none: even
    /// [`MAX_MARGIN_S_PER_KM`] does not).
    pub matched_margin_s_per_km: Option<u32>,
    pub matched_latency_s: Option<f64>,
}

/// One group: a wander level, with or without Doppler.
#[derive(Debug, Clone, Serialize)]
pub struct PositionRow {
    pub wander_m: f64,
    pub white_m: f64,
    pub doppler: bool,
    pub steady_hours: f64,
    pub false_cues_per_hour: f64,
    /// Mean and worst time to the first correction after the change (a miss counts as the
    /// whole change).
    pub detect_latency_s: f64,
    pub worst_latency_s: f64,
    pub misses: usize,
    pub contradictions: usize,
    /// The latency goal for this group, if it has one, and whether ours meets it (mean latency
    /// within it and false cues within theirs).
    pub goal_s: Option<f64>,
    pub meets_goal: Option<bool>,
    pub baselines: Vec<MatchedRow>,
}

/// What one estimator did in a group, run by run.
struct Runs<'a> {
    steady: Vec<&'a Trace>,
    changes: Vec<(&'a Trace, CueKind)>,
    band_s_per_km: Vec<(f64, f64)>,
}

/// False cues an hour and latencies (s) of `cues(run)` over a group.
fn tally(runs: &Runs, cues: impl Fn(usize, &Trace) -> Vec<(u64, CueKind)>) -> (f64, Vec<f64>) {
    let mut false_cues = 0;
    let mut hours = 0.0;
    let mut latencies = Vec::new();
    for (i, trace) in runs.steady.iter().enumerate() {
        false_cues += cues(i, trace).len();
        hours += STEADY_S / 3600.0;
    }
    for (j, (trace, expected)) in runs.changes.iter().enumerate() {
        let said = cues(runs.steady.len() + j, trace);
        false_cues += said.iter().filter(|(at, _)| *at < CHANGE_AT_MS).count();
        hours += CHANGE_AT_S / 3600.0;
        let first = said.iter().find(|(at, kind)| *at >= CHANGE_AT_MS && kind == expected);
        latencies.push(first.map_or(CHANGE_LASTS_S, |(at, _)| (at - CHANGE_AT_MS) as f64 / 1000.0));
    }
    (false_cues as f64 / hours, latencies)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Runs every group and returns its rows.
pub fn position_error() -> Vec<PositionRow> {
    let mut rows = Vec::new();
    for doppler in [false, true] {
        for wander_m in WANDER_M {
            // Every trace of the group: (estimator traces, band, what a change expects).
            let mut steady = Vec::new();
            let mut changes = Vec::new();
            for seed in 1..=SEEDS {
                for centre in CENTRES_S_PER_KM {
                    let mut config = SimConfig::phone(seed * 1000 + centre as u64);
                    config.runner.speed_wobble = STEADY_WOBBLE;
                    config.gps.doppler = doppler;
                    config.gps.correlated_sigma_m = wander_m;
                    config.gps.correlation_time_s = WANDER_CORRELATION_S;
                    config.gps.white_sigma_m = WHITE_M;
                    let half = centre * BAND_HALF_SHARE;
                    let doppler_sigma = config.gps.doppler_sigma_mps;
                    let run = simulate_plan(&runner_plan(&[(STEADY_S, centre)]), &config);
                    steady.push((
                        trace_all_with(&run, centre, half, doppler_sigma, None),
                        (centre - half, centre + half),
                    ));
                    for factor in [1.1, 1.0 / 1.1] {
                        let steps = [(CHANGE_AT_S, centre), (CHANGE_LASTS_S, centre * factor)];
                        let run = simulate_plan(&runner_plan(&steps), &config);
                        let expected = if factor > 1.0 { CueKind::SpeedUp } else { CueKind::SlowDown };
                        let traces = trace_all_with(&run, centre, half, doppler_sigma, None);
                        changes.push((traces, (centre - half, centre + half), expected));
                    }
                }
            }
            let runs = |e: usize| Runs {
                steady: steady.iter().map(|(t, _)| &t[e]).collect(),
                changes: changes.iter().map(|(t, _, k)| (&t[e], *k)).collect(),
                band_s_per_km: steady
                    .iter()
                    .map(|(_, b)| *b)
                    .chain(changes.iter().map(|(_, b, _)| *b))
                    .collect(),
            };
            let ours = runs(0);
            let (ours_false, ours_latencies) = tally(&ours, |_, t| t.cues.clone());
            let contradictions = ours.steady.iter().map(|t| t.contradictions).sum::<usize>()
                + ours.changes.iter().map(|(t, _)| t.contradictions).sum::<usize>();
            let baselines = (1..ESTIMATORS.len())
                .map(|e| {
                    let runs = runs(e);
                    let (raw_false, raw_latencies) = tally(&runs, |_, t| t.cues.clone());
                    let matched = (0..=MAX_MARGIN_S_PER_KM).find_map(|margin| {
                        let (f, l) = tally(&runs, |i, t| {
                            t.baseline_cues_with_margin(runs.band_s_per_km[i], f64::from(margin))
                        });
                        (f <= ours_false).then(|| (margin, round2(mean(&l))))
                    });
                    MatchedRow {
                        estimator: ESTIMATORS[e].to_owned(),
                        false_cues_per_hour: round2(raw_false),
                        detect_latency_s: round2(mean(&raw_latencies)),
                        matched_margin_s_per_km: matched.map(|(m, _)| m),
                        matched_latency_s: matched.map(|(_, l)| l),
                    }
                })
                .collect();
            let goal_s = if doppler {
                Some(DOPPLER_GOAL_S)
            } else {
                POSITIONS_GOAL_S.iter().find(|(w, _)| wander_m <= *w).map(|(_, g)| *g)
            };
            let latency = mean(&ours_latencies);
            rows.push(PositionRow {
                wander_m,
                white_m: WHITE_M,
                doppler,
                steady_hours: round2(
                    (ours.steady.len() as f64 * STEADY_S + ours.changes.len() as f64 * CHANGE_AT_S) / 3600.0,
                ),
                false_cues_per_hour: round2(ours_false),
                detect_latency_s: round2(latency),
                worst_latency_s: ours_latencies.iter().copied().fold(0.0, f64::max),
                misses: ours_latencies.iter().filter(|l| **l >= CHANGE_LASTS_S).count(),
                contradictions,
                goal_s,
                meets_goal: goal_s.map(|g| latency <= g && ours_false <= FALSE_GOAL_PER_H),
                baselines,
            });
        }
    }
    rows
}

/// The groups as a table.
pub fn print(rows: &[PositionRow]) {
    println!(
        "\nposition error: 10 % change from the centre of a ±3.3 % band; white {WHITE_M} m, wander τ {WANDER_CORRELATION_S:.0} s"
    );
    println!(
        "  {:<22} {:>8} {:>9} {:>10} {:>9} {:>7} {:>7}  baselines: latency s raw (false/h) → at matched false cues",
        "group", "false/h", "detect s", "worst s", "goal s", "meets", "contra"
    );
    for r in rows {
        let name = format!("wander {} m{}", r.wander_m, if r.doppler { " +Doppler" } else { "" });
        let baselines: Vec<String> = r
            .baselines
            .iter()
            .map(|b| {
                let matched = match (b.matched_latency_s, b.matched_margin_s_per_km) {
                    (Some(l), Some(m)) => format!("{l:.0} (+{m} s/km)"),
                    _ => "never".to_owned(),
                };
                format!(
                    "{} {:.0} ({:.0}) → {matched}",
                    b.estimator, b.detect_latency_s, b.false_cues_per_hour
                )
            })
            .collect();
        println!(
            "  {:<22} {:>8.2} {:>9.1} {:>10.0} {:>9} {:>7} {:>7}  {}",
            name,
            r.false_cues_per_hour,
            r.detect_latency_s,
            r.worst_latency_s,
            r.goal_s.map_or("-".to_owned(), |g| format!("{g:.0}")),
            r.meets_goal.map_or("-", |m| if m { "yes" } else { "NO" }),
            r.contradictions,
            baselines.join("; ")
        );
    }
}

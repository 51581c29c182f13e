//! `pacenote readiness`, `pacenote summary` and `pacenote adapt`: coaching beyond the run loop
//! (DESIGN §9) at the terminal. The rules live in `pacenote_core::coaching`; this file reads
//! files, prints and draws.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;
use pacenote_core::coaching::adapt::adapt;
use pacenote_core::coaching::analysis::{
    DEFAULT_REFERENCE_HR_BPM, RunAnalysis, TracePoint, analyse, reference_hr_bpm,
};
use pacenote_core::coaching::goals::{CompletedRun, Goal, GoalTier, WeeklyPlan};
use pacenote_core::coaching::readiness::{MorningCheck, Recommendation, assess};
use pacenote_core::coaching::summary::{HistoryEntry, PostRunSummary, pace_series, post_run_summary};
use pacenote_core::profile::RunnerProfile;
use pacenote_core::units::{SecondsPerKm, format_clock_s, format_distance_m};
use pacenote_sync::Store;
use pacenote_sync::history::{PastRun, past_runs, run_and_before};
use pacenote_track::Recording;
use pacenote_track::recording::PAUSE_GAP_MS;
use serde::Serialize;

use crate::plan_cmd::load_plan;
use crate::track_cmd::load_recording;
use crate::{CliError, write_file};

#[derive(Debug, Args)]
pub struct ReadinessArgs {
    /// This morning's resting heart rate.
    #[arg(long, requires = "baseline_resting_hr")]
    resting_hr: Option<f64>,
    /// The runner's usual resting heart rate (e.g. the mean of the last weeks).
    #[arg(long, requires = "resting_hr")]
    baseline_resting_hr: Option<f64>,
    /// Mornings in a row, today included, with resting HR 5+ bpm above baseline.
    #[arg(long, default_value_t = 1)]
    raised_mornings: u32,
    /// This morning's HRV (rMSSD, ms), with --baseline-hrv and --hrv-sd.
    #[arg(long, requires_all = ["baseline_hrv", "hrv_sd"])]
    hrv: Option<f64>,
    #[arg(long)]
    baseline_hrv: Option<f64>,
    /// The usual day-to-day spread of HRV (one standard deviation, ms).
    #[arg(long)]
    hrv_sd: Option<f64>,
    /// Nights of poor sleep in a row.
    #[arg(long, default_value_t = 0)]
    poor_sleep_nights: u32,
    #[arg(long)]
    heavy_legs: bool,
    /// Dreading the session.
    #[arg(long)]
    dread: bool,
    /// Days in a row something has hurt.
    #[arg(long, default_value_t = 0)]
    pain_days: u32,
    #[arg(long)]
    json: bool,
}

pub fn readiness(args: &ReadinessArgs) -> Result<(), CliError> {
    let check = MorningCheck {
        resting_hr_bpm: args.resting_hr,
        baseline_resting_hr_bpm: args.baseline_resting_hr,
        raised_resting_hr_mornings: Some(args.raised_mornings),
        hrv_ms: args.hrv,
        baseline_hrv_ms: args.baseline_hrv,
        hrv_sd_ms: args.hrv_sd,
        poor_sleep_nights: args.poor_sleep_nights,
        heavy_legs: args.heavy_legs,
        dread: args.dread,
        pain_days: args.pain_days,
    };
    let r = assess(&check).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.json {
        return print_json(&r);
    }
    let headline = match r.recommendation {
        Recommendation::AsPlanned => "Run as planned.",
        Recommendation::Easy => {
            "Go easy today (an easy run instead of the planned session), or as planned: your call."
        }
        Recommendation::Rest => "Rest today. Recovery is training too.",
        Recommendation::SeeProfessional => "Don't run on it: see a physio or doctor.",
    };
    println!("{headline}");
    for reason in &r.reasons {
        println!("  - {reason}");
    }
    Ok(())
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["track", "store"])))]
pub struct SummaryArgs {
    /// The run: GPX, TCX or FIT.
    #[arg(long)]
    track: Option<PathBuf>,
    /// …or a run of a device store (as `pacenote record` writes and the apps keep): its
    /// history is the store's earlier runs.
    #[arg(long, conflicts_with = "history")]
    store: Option<PathBuf>,
    /// The stored run (default: the latest finished one).
    #[arg(long, requires = "store")]
    run: Option<String>,
    /// Earlier runs (a folder of GPX/TCX/FIT files) for trends, milestones and streaks.
    #[arg(long)]
    history: Option<PathBuf>,
    /// The heart rate pace is compared at across runs (default: 75 % of max HR from --profile,
    /// else 140 bpm).
    #[arg(long)]
    ref_hr: Option<f64>,
    /// The runner's profile (JSON: max_hr_bpm, resting_hr_bpm, lthr_bpm).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Runs planned per week, for "N of M this week".
    #[arg(long, default_value_t = 0)]
    runs_per_week: u32,
    /// The runner's goals (a JSON list: tier, what, deadline, measure), for their progress.
    #[arg(long)]
    goals: Option<PathBuf>,
    /// The runner's time zone, minutes east of UTC: which day a stored run belongs to.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    utc_offset_minutes: i32,
    #[arg(long)]
    json: bool,
    /// Plot the trend of pace at the reference heart rate to this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
}

/// A run as the analysis reads it: moving time without pauses or recording gaps.
pub fn trace(recording: &Recording) -> Vec<TracePoint> {
    let (distances, _) = recording.cumulative_distance_m();
    let mut moving_s = 0.0;
    let mut previous: Option<u64> = None;
    let mut out = Vec::with_capacity(recording.samples.len());
    for (sample, distance_m) in recording.samples.iter().zip(distances) {
        if let Some(p) = previous {
            let dt = sample.t_ms.saturating_sub(p);
            if dt <= PAUSE_GAP_MS && !recording.is_paused_at(sample.t_ms) {
                moving_s += dt as f64 / 1000.0;
            }
        }
        previous = Some(sample.t_ms);
        out.push(TracePoint { moving_s, distance_m, hr_bpm: sample.heart_rate_bpm });
    }
    out
}

/// The recordings of `dir` (GPX, TCX, FIT), oldest first, analysed at `reference_hr`; files
/// without a start date are skipped with a warning (they cannot be placed in a trend).
fn history(dir: &Path, reference_hr: f64) -> Result<Vec<HistoryEntry>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::file(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["gpx", "tcx", "fit"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    let mut runs = Vec::new();
    for path in paths {
        let recording = match load_recording(&path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("warning: history: {e}");
                continue;
            }
        };
        let Some(date) = recording.start_time.map(|t| t.date_naive()) else {
            eprintln!("warning: history: {}: no start date, left out", path.display());
            continue;
        };
        let analysis = analyse(&trace(&recording), reference_hr);
        runs.push(HistoryEntry { completed: completed(date, &analysis), analysis: Some(analysis) });
    }
    runs.sort_by_key(|r| r.completed.date);
    Ok(runs)
}

/// A run as the week's tally and the streak count it.
fn completed(date: NaiveDate, analysis: &RunAnalysis) -> CompletedRun {
    CompletedRun {
        date,
        moving_time_s: analysis.moving_time_s,
        distance_m: analysis.distance_m,
        effort: None,
    }
}

/// The completed runs of a history folder, for the week's tally and the streak.
pub fn history_runs(dir: &Path) -> Result<Vec<CompletedRun>, CliError> {
    Ok(history(dir, DEFAULT_REFERENCE_HR_BPM)?.into_iter().map(|r| r.completed).collect())
}

/// A stored run (`run_id`, else the latest finished) and the runs before it, from a device
/// store.
fn stored_run(
    db: &Path,
    run_id: Option<&str>,
    utc_offset_s: i32,
) -> Result<(RunAnalysis, CompletedRun, Vec<HistoryEntry>), CliError> {
    let store = Store::open(db).map_err(|e| CliError::Usage(e.to_string()))?;
    let (runs, unreadable) = past_runs(&store, utc_offset_s).map_err(|e| CliError::Usage(e.to_string()))?;
    for id in unreadable {
        eprintln!("warning: {}: run {id}: its stored summary does not load, left out", db.display());
    }
    let (run, before) = run_and_before(&runs, run_id)
        .map_err(|e| CliError::Usage(format!("{}: {e} (record one with `pacenote record`)", db.display())))?;
    let analysis = run.analysis.clone().ok_or_else(|| {
        CliError::Usage(format!(
            "{}: run {} has no post-run analysis (finished by an older version, and its log has left the phone)",
            db.display(),
            run.id
        ))
    })?;
    let earlier = before.iter().map(PastRun::entry).collect();
    Ok((analysis, run.completed(), earlier))
}

pub fn summary(args: &SummaryArgs) -> Result<(), CliError> {
    let profile: RunnerProfile = match &args.profile {
        Some(path) => {
            serde_json::from_slice(&crate::read_file(path)?).map_err(|e| CliError::file(path, e))?
        }
        None => RunnerProfile::default(),
    };
    let reference_hr = match args.ref_hr {
        Some(hr) if hr.is_finite() && (60.0..=220.0).contains(&hr) => hr,
        Some(hr) => return Err(CliError::Usage(format!("--ref-hr {hr} is not a heart rate (60–220 bpm)"))),
        None => reference_hr_bpm(profile.max_hr_bpm),
    };
    let goals: Vec<Goal> = match &args.goals {
        Some(path) => {
            serde_json::from_slice(&crate::read_file(path)?).map_err(|e| CliError::file(path, e))?
        }
        None => Vec::new(),
    };
    if !goals.is_empty() && args.history.is_none() && args.store.is_none() {
        return Err(CliError::Usage(
            "--goals needs --history or --store: progress is read from the runs before this one".into(),
        ));
    }
    let (run, this, earlier) = match (&args.track, &args.store) {
        (_, Some(db)) => {
            let (run, this, earlier) = stored_run(db, args.run.as_deref(), args.utc_offset_minutes * 60)?;
            (run.at_reference_hr(reference_hr), Some(this), Some(earlier))
        }
        (Some(track), None) => {
            let recording = load_recording(track)?;
            let run = analyse(&trace(&recording), reference_hr);
            let this = recording.start_time.map(|t| completed(t.date_naive(), &run));
            let earlier = match &args.history {
                // Only runs before this one are its history (the folder may hold this run too).
                Some(dir) => Some(
                    history(dir, reference_hr)?
                        .into_iter()
                        .filter(|p| this.is_none_or(|t| p.completed.date < t.date))
                        .collect::<Vec<_>>(),
                ),
                None => None,
            };
            (run, this, earlier)
        }
        (None, None) => unreachable!("clap requires --track or --store"),
    };
    if let Some(svg) = &args.svg {
        let mut series = pace_series(earlier.as_deref().unwrap_or_default(), reference_hr);
        if let (Some(t), Some(v)) = (this, run.pace_at_reference_hr_s_per_km) {
            series.push((t.date, v));
        }
        write_file(svg, trend_svg(&series, reference_hr).as_bytes())?;
        eprintln!("wrote {}", svg.display());
    }
    let weekly = (args.runs_per_week > 0).then_some(WeeklyPlan { runs_per_week: args.runs_per_week });
    let out = post_run_summary(run, this, earlier.as_deref(), weekly, &goals);
    if args.json {
        return print_json(&out);
    }
    print_summary(&out);
    Ok(())
}

fn pace_text(s_per_km: Option<f64>) -> String {
    s_per_km.map_or_else(|| "—".to_owned(), |p| format!("{}/km", SecondsPerKm(p)))
}

fn print_summary(s: &PostRunSummary) {
    let r = &s.run;
    println!(
        "{} in {} moving · {} average{}",
        format_distance_m(r.distance_m),
        format_clock_s(r.moving_time_s),
        pace_text(r.avg_pace_s_per_km),
        r.avg_hr_bpm.map(|h| format!(" · {h:.0} bpm")).unwrap_or_default()
    );
    for split in &r.splits {
        println!(
            "  km {:>2}  {}{}",
            split.km,
            format_clock_s(split.time_s),
            split.avg_hr_bpm.map(|h| format!("  {h:.0} bpm")).unwrap_or_default()
        );
    }
    match r.efficiency_factor {
        Some(ef) => println!("efficiency factor {ef:.3} (m/min per bpm, steady running)"),
        None => println!("efficiency factor: needs heart rate and ten minutes of steady running"),
    }
    if let Some(d) = r.decoupling_pct {
        let verdict = if d < 5.0 {
            "under 5 %: aerobically solid for this length"
        } else {
            "over 5 %: the aerobic base has room to grow"
        };
        println!("aerobic decoupling (Pa:HR) {d:.1} % — {verdict}");
    } else {
        println!("aerobic decoupling: only for steady runs");
    }
    println!("pace at {:.0} bpm: {}", r.reference_hr_bpm, pace_text(r.pace_at_reference_hr_s_per_km));
    if let Some(t) = &s.trend {
        if let Some(slope) = t.pace_at_reference_hr_change_s_per_km_per_30_days {
            let way = if slope < 0.0 { "faster" } else { "slower" };
            println!(
                "trend over {} earlier runs: {:.1} s/km {way} at that heart rate per month",
                t.runs_before,
                slope.abs()
            );
        }
        for m in &t.milestones {
            println!("milestone: {m}");
        }
    }
    if let Some(p) = &s.process {
        if p.this_week.planned > 0 {
            println!("this week: {} of {} planned runs", p.this_week.done, p.this_week.planned);
        } else {
            println!("this week: {} runs", p.this_week.done);
        }
        println!("streak: {} week{} in a row", p.streak_weeks, if p.streak_weeks == 1 { "" } else { "s" });
    }
    for g in &s.goals {
        let tier = match g.goal.tier {
            GoalTier::Process => "process",
            GoalTier::Performance => "performance",
            GoalTier::Outcome => "outcome",
        };
        let days = match g.days_left {
            Some(d) if d >= 0 => format!(", {d} days left"),
            Some(d) => format!(", deadline passed {} days ago", -d),
            None => String::new(),
        };
        let reached = if g.reached { " — reached" } else { "" };
        println!("goal ({tier}) {}: {}{reached}{days}", g.goal.what, g.words);
    }
}

/// The trend chart: pace at the reference heart rate per run, faster up.
fn trend_svg(series: &[(NaiveDate, f64)], reference_hr: f64) -> String {
    const W: f64 = 800.0;
    const H: f64 = 360.0;
    const PAD: f64 = 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{PAD}" y="24" font-size="15">Pace at {reference_hr:.0} bpm, run by run (higher is fitter)</text>"#
    );
    if series.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{PAD}" y="{}">no run with heart rate and steady running yet</text></svg>"#,
            H / 2.0
        );
        return svg;
    }
    let first = series.iter().map(|p| p.0).min().unwrap_or_default();
    let last = series.iter().map(|p| p.0).max().unwrap_or_default();
    let days = (last - first).num_days().max(1) as f64;
    let (lo, hi) = series.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = (lo - 10.0, hi + 10.0);
    let x = |d: NaiveDate| PAD + (d - first).num_days() as f64 / days * (W - 2.0 * PAD);
    // Faster (smaller s/km) is higher on the chart.
    let y = |p: f64| 40.0 + (p - lo) / (hi - lo) * (H - 40.0 - PAD);
    for tick in [lo + 10.0, (lo + hi) / 2.0, hi - 10.0] {
        let at = y(tick);
        let _ = write!(
            svg,
            r##"<line x1="{PAD}" x2="{}" y1="{at:.1}" y2="{at:.1}" stroke="#ddd"/><text x="4" y="{:.1}">{}/km</text>"##,
            W - PAD,
            at + 4.0,
            SecondsPerKm(tick)
        );
    }
    let points: Vec<String> = series.iter().map(|(d, p)| format!("{:.1},{:.1}", x(*d), y(*p))).collect();
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        points.join(" ")
    );
    for (d, p) in series {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#1f77b4"><title>{d}: {}/km</title></circle>"##,
            x(*d),
            y(*p),
            SecondsPerKm(*p)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="{}">{first}</text><text x="{}" y="{}" text-anchor="end">{last}</text></svg>"#,
        H - 20.0,
        W - PAD,
        H - 20.0
    );
    svg
}

#[derive(Debug, Args)]
pub struct AdaptArgs {
    #[arg(long)]
    plan: PathBuf,
    /// Days without running since the last run.
    #[arg(long)]
    days_off: u32,
    /// Sessions in a row whose targets were out of reach.
    #[arg(long, default_value_t = 0)]
    missed_targets: u32,
    /// The forecast's temperature (°C): paces are eased for the heat too (with --dew-point-c).
    #[arg(long, requires = "dew_point_c")]
    temp_c: Option<f64>,
    /// The forecast's dew point (°C).
    #[arg(long, requires = "temp_c")]
    dew_point_c: Option<f64>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct AdaptJson {
    #[serde(flatten)]
    adaptation: pacenote_core::coaching::adapt::Adaptation,
    /// Per cent slower for the forecast's heat (with --temp-c and --dew-point-c).
    heat_slowdown_pct: Option<f64>,
}

pub fn adapt_cmd(args: &AdaptArgs) -> Result<(), CliError> {
    let plan = load_plan(&args.plan)?;
    let mut a = adapt(&plan, args.days_off, args.missed_targets);
    let mut heat_slowdown_pct = None;
    if let (Some(temp_c), Some(dew_point_c)) = (args.temp_c, args.dew_point_c) {
        let conditions = pacenote_core::weather::Conditions::new(temp_c, dew_point_c)
            .map_err(|e| CliError::Usage(format!("--temp-c/--dew-point-c: {e}")))?;
        let (eased, pct) = pacenote_core::coaching::heat::adjust_plan(&a.plan, &conditions);
        a.plan = eased;
        heat_slowdown_pct = Some(pct);
    }
    if args.json {
        return print_json(&AdaptJson { adaptation: a, heat_slowdown_pct });
    }
    println!(
        "{} days off: fitness factor {:.3} (Daniels), volume {:.0} %",
        a.days_off,
        a.vdot_factor,
        a.volume_factor * 100.0
    );
    for note in &a.notes {
        println!("  - {note}");
    }
    for p in &a.goal_proposals {
        println!("  proposal: {}", serde_json::to_string(p).unwrap_or_default());
    }
    if let Some(pct) = heat_slowdown_pct {
        println!("heat: paces {pct:.1} % slower");
    }
    println!("\nnext session:\n{}", a.plan.to_json_pretty());
    Ok(())
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}

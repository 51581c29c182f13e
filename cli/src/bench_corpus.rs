//! `pacenote bench corpus`: every real recording of the corpus replayed as if live against a
//! plan fitted to what its runner did ([`pacenote_track::fitted`]), counting what a runner
//! would notice (DESIGN §11): corrections an hour, corrections whose words contradict their
//! number, corrections resting on a GPS re-acquisition, corrections on climbs and descents at
//! steady heart rate, and "paused" never followed by "moving again".

use std::path::{Path, PathBuf};

use pacenote_core::cue::{Cue, CueKind, Utterance};
use pacenote_core::engine::EngineConfig;
use pacenote_core::profile::RunnerProfile;
use pacenote_track::fitted::{Terrain, fit_plan, gps_gaps};
use pacenote_track::judge::{contradicts, unpaired_pauses};
use pacenote_track::replay::replay;
use serde::Serialize;

use crate::CliError;

/// A correction this soon after the first fix following a GPS gap rests on the re-acquisition.
const AFTER_GAP_MS: u64 = 60_000;
/// Climbs and descents steeper than this (share) are where raw pace stops meaning effort.
const STEEP_GRADE: f64 = 0.04;
/// Heart rate within this share of its recent mean: the runner held the effort.
const STEADY_HR_SHARE: f64 = 0.05;
/// The corpus runners' heart facts are not known; these are plausible.
const PROFILE: RunnerProfile =
    RunnerProfile { max_hr_bpm: Some(185.0), resting_hr_bpm: Some(48.0), lthr_bpm: None };

/// What one corpus run sounded like.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusRun {
    pub file: String,
    pub moving_h: f64,
    pub steps: usize,
    pub corrections: usize,
    pub corrections_per_h: f64,
    /// A correction whose spoken pace is inside band + tolerance, or on the other side.
    pub contradictions: usize,
    pub after_gps_gap: usize,
    pub on_climbs_steady_hr: usize,
    pub on_descents_steady_hr: usize,
    pub paused_without_resumed: usize,
}

fn judge(
    file: &str,
    utterances: &[Utterance],
    moving_s: f64,
    steps: usize,
    recording: &pacenote_track::Recording,
    terrain: &Terrain,
) -> CorpusRun {
    let gaps = gps_gaps(recording);
    let cues: Vec<(u64, &Cue)> =
        utterances.iter().flat_map(|u| u.cues.iter().map(move |c| (u.at_ms, c))).collect();
    let corrections: Vec<(u64, &Cue)> = cues
        .iter()
        .copied()
        .filter(|(_, c)| matches!(c.kind, CueKind::SpeedUp | CueKind::SlowDown))
        .collect();
    let steep = |t: u64, climb: bool| {
        terrain.grade_at(t).is_some_and(|g| if climb { g > STEEP_GRADE } else { g < -STEEP_GRADE })
            && terrain.hr_steady_at(t, STEADY_HR_SHARE)
    };
    let moving_h = moving_s / 3600.0;
    CorpusRun {
        file: file.to_owned(),
        moving_h: round2(moving_h),
        steps,
        corrections: corrections.len(),
        corrections_per_h: round2(if moving_h > 0.0 { corrections.len() as f64 / moving_h } else { 0.0 }),
        contradictions: corrections.iter().filter(|(_, c)| contradicts(c)).count(),
        after_gps_gap: corrections
            .iter()
            .filter(|(t, _)| gaps.iter().any(|(_, back)| *t >= *back && *t < back + AFTER_GAP_MS))
            .count(),
        on_climbs_steady_hr: corrections.iter().filter(|(t, _)| steep(*t, true)).count(),
        on_descents_steady_hr: corrections.iter().filter(|(t, _)| steep(*t, false)).count(),
        paused_without_resumed: unpaired_pauses(&cues),
    }
}

/// A plan id from a file name (ids are lower-case letters, digits, '-' and '_').
fn plan_id(file: &str) -> String {
    file.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(64)
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The corpus folder: `--corpus`, else `$PACENOTE_CORPUS`, else `../shared/corpus`.
fn corpus_dir(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("PACENOTE_CORPUS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/corpus"))
}

/// Every recording in `dir` replayed against its fitted plan.
/// With `timelines`, each run's cue timeline (neutral wording) is printed as it is judged.
pub fn replay_corpus(dir: &Path, timelines: bool) -> Result<Vec<CorpusRun>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::file(dir, crate::describe_io(&e)))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| ["fit", "tcx", "gpx"].iter().any(|k| x.eq_ignore_ascii_case(k)))
        })
        .collect();
    files.sort();
    let mut runs = Vec::new();
    for path in files {
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let recording = pacenote_track::import(&crate::read_file(&path)?)
            .map_err(|e| CliError::file(&path, e.to_string()))?;
        let plan = fit_plan(&recording, &plan_id(&name))
            .map_err(|e| CliError::file(&path, format!("fitted plan: {e}")))?;
        // The plan's steps end by time: the laps that made it are not pressed again.
        let mut replayed = recording.clone();
        replayed.laps.clear();
        let (utterances, summary, steps) = replay(&plan, &replayed, PROFILE, EngineConfig::default());
        let terrain = Terrain::of(&recording);
        if timelines {
            println!("== {name}");
            let lines = pacenote_core::engine::replay::timeline(&utterances, &steps);
            for (line, u) in lines.iter().zip(&utterances) {
                // Corrections carry the ground they were made on: grade and heart rate.
                let correction =
                    u.cues.iter().any(|c| matches!(c.kind, CueKind::SpeedUp | CueKind::SlowDown));
                match terrain.grade_at(u.at_ms).filter(|_| correction) {
                    Some(g) => println!(
                        "{line}   [grade {:+.1} %{}]",
                        g * 100.0,
                        if terrain.hr_steady_at(u.at_ms, STEADY_HR_SHARE) { ", HR steady" } else { "" }
                    ),
                    None => println!("{line}"),
                }
            }
        }
        runs.push(judge(&name, &utterances, summary.moving_time_s, steps.len(), &recording, &terrain));
    }
    Ok(runs)
}

pub fn corpus(json: bool, dir: Option<PathBuf>, timelines: bool) -> Result<(), CliError> {
    let dir = corpus_dir(dir);
    let runs = replay_corpus(&dir, timelines && !json)?;
    if json {
        let text = serde_json::to_string_pretty(&runs).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{:<40} {:>6} {:>5} {:>6} {:>7} {:>8} {:>8} {:>7} {:>7} {:>8}",
        "recording",
        "hours",
        "steps",
        "corr",
        "corr/h",
        "contra",
        "aftergap",
        "climbs",
        "descent",
        "unpaired"
    );
    for r in &runs {
        println!(
            "{:<40} {:>6.2} {:>5} {:>6} {:>7.2} {:>8} {:>8} {:>7} {:>7} {:>8}",
            r.file,
            r.moving_h,
            r.steps,
            r.corrections,
            r.corrections_per_h,
            r.contradictions,
            r.after_gps_gap,
            r.on_climbs_steady_hr,
            r.on_descents_steady_hr,
            r.paused_without_resumed
        );
    }
    let hours: f64 = runs.iter().map(|r| r.moving_h).sum();
    let sum = |f: fn(&CorpusRun) -> usize| runs.iter().map(f).sum::<usize>();
    let corrections = sum(|r| r.corrections);
    println!(
        "{:<40} {:>6.2} {:>5} {:>6} {:>7.2} {:>8} {:>8} {:>7} {:>7} {:>8}",
        "ALL",
        hours,
        sum(|r| r.steps),
        corrections,
        if hours > 0.0 { corrections as f64 / hours } else { 0.0 },
        sum(|r| r.contradictions),
        sum(|r| r.after_gps_gap),
        sum(|r| r.on_climbs_steady_hr),
        sum(|r| r.on_descents_steady_hr),
        sum(|r| r.paused_without_resumed)
    );
    Ok(())
}

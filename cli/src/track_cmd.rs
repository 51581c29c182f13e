//! `pacenote track info` and `pacenote track simulate`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use pacenote_core::units::{format_clock_s, format_distance_m};
use pacenote_track::simulate::{SimConfig, simulate_plan};
use pacenote_track::{Recording, gpx};

use crate::plan_cmd::load_plan;
use crate::{CliError, read_file, write_file};

#[derive(Debug, Subcommand)]
pub enum TrackCommand {
    /// Print what a recording holds: samples, duration, moving time, distance, pauses, laps, channels.
    Info {
        /// A GPX, TCX or FIT file.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Simulate a runner following a plan (phone-like GPS noise, HR with lag) and write GPX.
    Simulate {
        #[arg(long)]
        plan: PathBuf,
        /// Where to write the GPX.
        #[arg(long)]
        out: PathBuf,
        /// Seed: the same seed gives the same run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// GPS dropouts as START_S:LENGTH_S (run clock), e.g. 900:40; repeatable.
        #[arg(long = "dropout", value_name = "START_S:LENGTH_S")]
        dropouts: Vec<String>,
    },
    /// Print the engine inputs a recording becomes, one per line as comma-separated values
    /// (`fix,t_ms,lat,lon,accuracy,speed,speed_accuracy` — empty when absent; `hr,t_ms,bpm`;
    /// `cadence,t_ms,spm`; `device_speed,t_ms,mps`; `start|tick|pause|resume|lap|finish,t_ms`):
    /// what an app would feed, for the binding tests.
    Inputs { file: PathBuf },
}

pub fn run(command: TrackCommand) -> Result<(), CliError> {
    match command {
        TrackCommand::Inputs { file } => {
            let recording = load_recording(&file)?;
            let mut out = String::new();
            for input in pacenote_track::replay::to_inputs(&recording) {
                out.push_str(&input_line(&input));
                out.push('\n');
            }
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
            Ok(())
        }
        TrackCommand::Info { file, json } => {
            let recording = load_recording(&file)?;
            let summary = recording.summary();
            if json {
                let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::file(&file, e))?;
                println!("{text}");
            } else {
                print_summary(&file, &recording);
            }
            Ok(())
        }
        TrackCommand::Simulate { plan, out, seed, dropouts } => {
            let plan_path = plan;
            let plan = load_plan(&plan_path)?;
            let mut config = SimConfig::phone(seed);
            for spec in dropouts {
                let parsed = spec
                    .split_once(':')
                    .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
                    .filter(|(a, b)| *a >= 0.0 && *b > 0.0);
                let Some((start_s, length_s)) = parsed else {
                    return Err(CliError::Usage(format!(
                        "--dropout {spec:?} is not START_S:LENGTH_S, e.g. 900:40"
                    )));
                };
                config.gps.dropouts_s.push((start_s, length_s));
            }
            let run = simulate_plan(&plan, &config);
            write_file(&out, gpx::write(&run.recording, &plan.name).as_bytes())?;
            let summary = run.recording.summary();
            println!(
                "wrote {}: {} samples, {} moving, {} (true {})",
                out.display(),
                summary.samples,
                format_clock_s(summary.moving_time_s),
                format_distance_m(summary.distance_m),
                format_distance_m(run.truth.last().map_or(0.0, |t| t.distance_m)),
            );
            Ok(())
        }
    }
}

/// Reads a recording file, with errors of the form `FILE: what is wrong`.
pub fn load_recording(path: &Path) -> Result<Recording, CliError> {
    let bytes = read_file(path)?;
    pacenote_track::import(&bytes).map_err(|e| CliError::file(path, e))
}

fn print_summary(path: &Path, recording: &Recording) {
    let s = recording.summary();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("{} ({})", path.display(), s.format.as_str());
    if let Some(start) = s.start_time {
        println!("  started      {}", start.format("%Y-%m-%d %H:%M:%S UTC"));
    }
    println!("  samples      {}", s.samples);
    println!("  duration     {}", format_clock_s(s.duration_s));
    println!("  moving time  {}", format_clock_s(s.moving_time_s));
    println!("  distance     {} (from {})", format_distance_m(s.distance_m), s.distance_source);
    println!("  pauses       {} ({} paused)", s.pauses, format_clock_s(s.paused_s));
    for pause in &recording.pauses {
        println!(
            "               at {} for {}",
            format_clock_s(pause.start_ms as f64 / 1000.0),
            format_clock_s(pause.duration_ms() as f64 / 1000.0)
        );
    }
    println!("  laps         {}", s.laps);
    for (i, lap) in recording.laps.iter().enumerate() {
        let seconds = lap.end_ms.saturating_sub(lap.start_ms) as f64 / 1000.0;
        let pace = lap
            .distance_m
            .filter(|d| *d > 0.0)
            .map(|d| format!("  {}/km", pacenote_core::units::SecondsPerKm(seconds * 1000.0 / d)))
            .unwrap_or_default();
        println!(
            "               {:>2}: from {} for {}{}{pace}",
            i + 1,
            format_clock_s(lap.start_ms as f64 / 1000.0),
            format_clock_s(seconds),
            lap.distance_m.map(|d| format!(", {}", format_distance_m(d))).unwrap_or_default(),
        );
    }
    println!(
        "  channels     GPS {} ({:.0} %, longest gap {:.0} s), HR {}, cadence {}, speed {}, altitude {}",
        yes_no(s.has_gps),
        s.gps_share * 100.0,
        s.longest_gps_gap_s,
        yes_no(s.has_hr),
        yes_no(s.has_cadence),
        yes_no(s.has_speed),
        yes_no(s.has_altitude)
    );
    for warning in &s.warnings {
        println!("  warning      {warning}");
    }
}

/// One engine input as a comma-separated line (see `pacenote track inputs`).
fn input_line(input: &pacenote_core::engine::Input) -> String {
    use pacenote_core::engine::Input;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    match input {
        Input::Fix(f) => format!(
            "fix,{},{},{},{},{},{},{}",
            f.t_ms,
            f.lat_deg,
            f.lon_deg,
            f.horizontal_accuracy_m,
            opt(f.speed_mps),
            opt(f.speed_accuracy_mps),
            opt(f.altitude_m)
        ),
        Input::HeartRate(r) => format!("hr,{},{}", r.t_ms, r.bpm),
        Input::Cadence(r) => format!("cadence,{},{}", r.t_ms, r.spm),
        Input::DeviceSpeed(r) => format!("device_speed,{},{}", r.t_ms, r.speed_mps),
        Input::Altitude(r) => format!("altitude,{},{}", r.t_ms, r.altitude_m),
        Input::Start { t_ms } => format!("start,{t_ms}"),
        Input::Tick { t_ms } => format!("tick,{t_ms}"),
        Input::Pause { t_ms } => format!("pause,{t_ms}"),
        Input::Resume { t_ms } => format!("resume,{t_ms}"),
        Input::Lap { t_ms } => format!("lap,{t_ms}"),
        Input::SkipStep { t_ms } => format!("skip_step,{t_ms}"),
        Input::Finish { t_ms } => format!("finish,{t_ms}"),
        Input::Feedback { t_ms, feedback } => format!("feedback,{t_ms},{feedback:?}"),
        Input::CueFinished { utterance_id, at_ms } => format!("cue_finished,{at_ms},{utterance_id}"),
        Input::CheckIn { t_ms, effort } => format!("check_in,{t_ms},{effort}"),
    }
}

//! The `pacenote` command (DESIGN §10): the names here are a contract — extend, never rename.
//!
//! Every user mistake ends as `error: ...` on stderr with a non-zero exit, never a backtrace.
//! The command reads and writes files; the crates it calls do not.

mod bench;
mod bench_corpus;
mod bench_position;
mod bench_server;
mod coach_audio;
mod coach_cmd;
mod demo;
mod pack_cmd;
mod plan_cmd;
mod plot;
mod record_cmd;
mod replay_cmd;
mod sync_cmd;
mod track_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Offline-first audio coaching for runners.
#[derive(Debug, Parser)]
#[command(name = "pacenote", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay the bundled simulated run against the bundled 5 × 1 km plan and print the timeline.
    Demo(demo::DemoArgs),
    /// Run a recording through the coaching engine as if live, and print the cue timeline.
    Replay(replay_cmd::ReplayArgs),
    /// Measure: pace estimation against the open-source baselines, engine speed.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Build and check voice packs.
    #[command(subcommand)]
    Pack(pack_cmd::PackCommand),
    /// Check and import session plans.
    #[command(subcommand)]
    Plan(plan_cmd::PlanCommand),
    /// Inspect and simulate run recordings (GPX, TCX, FIT).
    #[command(subcommand)]
    Track(track_cmd::TrackCommand),
    /// Before a run: run as planned, easy, rest, or see a professional?
    Readiness(coach_cmd::ReadinessArgs),
    /// After a run: splits, efficiency, decoupling, pace at a reference heart rate, trends.
    Summary(coach_cmd::SummaryArgs),
    /// After a layoff: the next session smaller and slower; goal changes after missed targets.
    Adapt(coach_cmd::AdaptArgs),
    /// Record a run into the device store as if live (a recording fed at N× speed, with real
    /// sleeps); a kill at any moment loses at most the last second.
    Record(record_cmd::RecordArgs),
    /// Carry on the device store's interrupted run at the step, distance and time it reached.
    Resume(record_cmd::ResumeArgs),
    /// The reference sync and pack server.
    Serve(sync_cmd::ServeArgs),
    /// Upload a device store's finished runs; optionally download a plan and a pack for offline use.
    Sync(sync_cmd::SyncArgs),
}

/// A failure to report to the person at the terminal: one line each, no backtrace.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Something about a named file (reading it, or what is in it).
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Several problems in one file, one per line.
    #[error("{}", problems.iter().map(|p| format!("{}: {p}", path.display())).collect::<Vec<_>>().join("\nerror: "))]
    Problems { path: PathBuf, problems: Vec<String> },
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    pub fn file(path: &Path, message: impl ToString) -> Self {
        Self::File { path: path.to_owned(), message: message.to_string() }
    }
}

/// Reads a whole file, with an error that names it.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::file(path, describe_io(&e)))
}

/// Writes a whole file, creating its folder, with an error that names it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::file(dir, describe_io(&e)))?;
    }
    std::fs::write(path, bytes).map_err(|e| CliError::file(path, describe_io(&e)))
}

pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Replay(args) => replay_cmd::run(&args),
        Command::Plan(command) => plan_cmd::run(command),
        Command::Bench(command) => bench::run(command),
        Command::Pack(command) => pack_cmd::run(command),
        Command::Track(command) => track_cmd::run(command),
        Command::Readiness(args) => coach_cmd::readiness(&args),
        Command::Summary(args) => coach_cmd::summary(&args),
        Command::Adapt(args) => coach_cmd::adapt_cmd(&args),
        Command::Record(args) => record_cmd::record(&args),
        Command::Resume(args) => record_cmd::resume(&args),
        Command::Serve(args) => sync_cmd::serve(&args),
        Command::Sync(args) => sync_cmd::sync(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

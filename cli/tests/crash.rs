//! Crash safety (DESIGN §11): `pacenote record` killed with SIGKILL at random moments. After
//! every kill the database passes `PRAGMA integrity_check`, the stored inputs are exactly the
//! first ones of the uninterrupted run (gap-free, nothing reordered), less than a second of run
//! time the engine had taken is missing, the checkpoint agrees with them, and `pacenote resume`
//! carries on at the checkpoint's step, in the coach's language, and ends the run exactly as the
//! uninterrupted one ended.
//!
//! 100 trials by default; `PACENOTE_CRASH_TRIALS=1000 cargo test -p pacenote-cli --test crash`
//! for more. The figures are printed (run with `--nocapture` to see them).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use pacenote_core::cue::CueKind;
use pacenote_core::persona::Persona;
use pacenote_core::speech::Language;
use pacenote_sync::Store;
use rand::{Rng, SeedableRng};

const TRIALS: usize = 100;
/// Run time over wall time: the 30-minute recording takes about 0.6 s.
const SPEED: &str = "3000";
/// Kills land anywhere from before the database exists to after the finish.
const KILL_WINDOW_MS: u64 = 800;
const WORKERS: usize = 2;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn track() -> String {
    let dir =
        std::env::var_os("PACENOTE_CORPUS").map_or_else(|| repo().join("../shared/corpus"), PathBuf::from);
    dir.join("D7_nrc_phone_5k.gpx").to_string_lossy().into_owned()
}

fn plan() -> String {
    repo().join("core/plans/intervals-5x1k.json").to_string_lossy().into_owned()
}

fn record(db: &Path, speed: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pacenote"));
    cmd.args(["record", "--db"]).arg(db).args(["--plan", &plan(), "--track", &track(), "--speed", speed]);
    cmd.args(["--persona", "jenna", "--lang", "es", "--effort", "6", "--trace"]);
    cmd
}

/// The run's stored inputs (`(t_ms, JSON)`) and its summary once finished.
struct StoredRun {
    inputs: Vec<(u64, String)>,
    summary: Option<String>,
}

/// The database's one run, after checking the file's integrity.
fn stored(db: &Path) -> Option<StoredRun> {
    let store = Store::open(db).expect("the store opens after a kill");
    assert_eq!(store.integrity_check().expect("integrity check runs"), "ok", "{}", db.display());
    let runs = store.runs().expect("runs");
    assert!(runs.len() <= 1);
    let run = runs.first()?;
    let inputs = store.inputs(&run.id).expect("inputs");
    let summary = store.setup(&run.id).expect("setup").and_then(|s| s.summary_json);
    Some(StoredRun { inputs, summary })
}

#[derive(Debug, Default)]
struct Figures {
    trials: usize,
    before_the_run: usize,
    after_the_finish: usize,
    resumed: usize,
    /// Resumed before the finish: the rest of the run heard in Spanish.
    resumed_in_spanish: usize,
    max_lost_ms: u64,
}

fn trial(dir: &Path, kill_after: Duration, reference: &[(u64, String)], reference_summary: &str) -> Figures {
    let db = dir.join("device.db");
    let mut child =
        record(&db, SPEED).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("record starts");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("fed ").and_then(|t| t.parse::<u64>().ok()))
            .last()
    });
    std::thread::sleep(kill_after);
    let _ = child.kill(); // SIGKILL; it may have finished already
    let _ = child.wait();
    let last_fed = reader.join().expect("reader");

    let mut figures = Figures { trials: 1, ..Figures::default() };
    let Some(StoredRun { inputs, summary }) = db.exists().then(|| stored(&db)).flatten() else {
        assert!(last_fed.is_none(), "fed inputs but stored no run");
        figures.before_the_run = 1;
        return figures;
    };
    // Gap-free and in order: exactly the uninterrupted run's first inputs.
    assert!(inputs.len() <= reference.len());
    assert!(inputs.iter().zip(reference).all(|(a, b)| a == b), "stored inputs differ from the run's");
    if let (Some(fed), Some((stored_ms, _))) = (last_fed, inputs.last()) {
        let lost = fed.saturating_sub(*stored_ms);
        assert!(lost < 1000, "lost {lost} ms of run time");
        figures.max_lost_ms = lost;
    }
    if summary.is_some() {
        assert_eq!(inputs.len(), reference.len());
        figures.after_the_finish = 1;
        return figures;
    }
    let checkpoint = {
        let store = Store::open(&db).expect("open");
        let run_id = store.unfinished_run().expect("query").expect("an unfinished run");
        store.checkpoint(&run_id).expect("checkpoint")
    };
    if let Some(c) = checkpoint {
        assert_eq!(c.samples as usize, inputs.len(), "the checkpoint is committed with its inputs");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_pacenote"))
        .args(["resume", "--db"])
        .arg(&db)
        .args(["--speed", "1e9"])
        .output()
        .expect("resume runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "resume failed: {}", String::from_utf8_lossy(&out.stderr));
    let first = text.lines().next().unwrap_or_default();
    let expected_step = match checkpoint.and_then(|c| c.step_index) {
        Some(i) => format!("at step {}/", i + 1),
        None => "at ".to_owned(),
    };
    assert!(
        first.starts_with("resumed ") && first.contains(&expected_step),
        "{first} (expected {expected_step})"
    );
    // The coach goes on in the runner's language: when the finish is still to come, its
    // check-in question is Spanish.
    if !inputs.iter().any(|(_, json)| json.contains(r#""type":"finish""#)) {
        let jenna = Persona::bundled_in("jenna", Language::Es).expect("Spanish Jenna");
        assert!(
            jenna.variants(CueKind::CheckIn).iter().any(|line| text.contains(line)),
            "the resumed run is coached in Spanish: {text}"
        );
        figures.resumed_in_spanish = 1;
    }
    let StoredRun { inputs: after, summary } = stored(&db).expect("the run");
    assert!(after == reference, "the resumed run's inputs differ from the uninterrupted run's");
    assert_eq!(summary.as_deref(), Some(reference_summary), "the resumed run ends differently");
    figures.resumed = 1;
    figures
}

#[test]
fn kill_9_at_random_moments_loses_under_a_second_and_resume_finishes_the_run() {
    let trials = std::env::var("PACENOTE_CRASH_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(TRIALS);
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("crash");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("scratch");
    // The uninterrupted run, as fast as it goes.
    let reference_db = base.join("reference.db");
    let out = record(&reference_db, "1e9").output().expect("record runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let StoredRun { inputs: reference, summary } = stored(&reference_db).expect("the reference run");
    let reference_summary = summary.expect("finished");

    let total = Mutex::new(Figures::default());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        if *n >= trials {
                            break;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
                    let kill_after = Duration::from_millis(rng.random_range(0..KILL_WINDOW_MS));
                    let dir = base.join(format!("trial-{i}"));
                    std::fs::create_dir_all(&dir).expect("trial dir");
                    let f = trial(&dir, kill_after, &reference, &reference_summary);
                    let _ = std::fs::remove_dir_all(&dir);
                    let mut t = total.lock().expect("lock");
                    t.trials += f.trials;
                    t.before_the_run += f.before_the_run;
                    t.after_the_finish += f.after_the_finish;
                    t.resumed += f.resumed;
                    t.resumed_in_spanish += f.resumed_in_spanish;
                    t.max_lost_ms = t.max_lost_ms.max(f.max_lost_ms);
                }
            });
        }
    });
    let t = total.into_inner().expect("figures");
    println!(
        "crash trials: {} kills, 0 corrupt databases (each one checked), max {} ms of run time lost; \
         {} resumed and finished ({} before the finish, coached on in Spanish), {} killed before \
         the run was stored, {} after it finished",
        t.trials, t.max_lost_ms, t.resumed, t.resumed_in_spanish, t.before_the_run, t.after_the_finish
    );
    assert_eq!(t.trials, trials);
    assert!(t.resumed * 2 > trials, "most kills should land mid-run: {t:?}");
    assert!(t.resumed_in_spanish > 0, "some kills land before the finish: {t:?}");
}

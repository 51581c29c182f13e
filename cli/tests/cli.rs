//! The `pacenote` command as a person uses it: exit codes, `error: FILE: ...` messages, JSON keys.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pacenote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacenote"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("pacenote runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus(file: &str) -> String {
    let dir =
        std::env::var_os("PACENOTE_CORPUS").map_or_else(|| repo().join("../shared/corpus"), PathBuf::from);
    dir.join(file).to_string_lossy().into_owned()
}

/// A scratch folder for one test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A user's mistake: non-zero exit, `error: ` lines on stderr, no panic or backtrace.
fn assert_user_error(out: &Output, expected: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.contains(expected), "stderr {err:?} lacks {expected:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "stderr: {err}");
}

#[test]
fn plan_check_accepts_every_bundled_plan() {
    let plans: Vec<String> = std::fs::read_dir(repo().join("core/plans"))
        .expect("core/plans")
        .map(|e| e.expect("entry").path().to_string_lossy().into_owned())
        .collect();
    assert!(plans.len() >= 4);
    let mut args = vec!["plan", "check"];
    args.extend(plans.iter().map(String::as_str));
    let out = pacenote(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), plans.len());
    assert!(text.contains("intervals-5x1k \"5 × 1 km at 10K pace\": 12 steps"), "{text}");
}

#[test]
fn plan_check_rejects_broken_plans_precisely() {
    let dir = scratch("plan_check");
    let file = dir.join("plan.json");
    std::fs::write(
        &file,
        r#"{"version":1,"id":"p","name":"P","steps":[{"kind":"warmup","end":"open"},{"kind":"easy","end":"open"},
           {"kind":"work","end":{"time_s":60},"target":{"pace":{"fastest":"5:00","slowest":"4:30"}}}]}"#,
    )
    .expect("write");
    let out = pacenote(&["plan", "check", path(&file)]);
    assert_user_error(
        &out,
        &format!(
            "error: {}: steps[2].target.pace: fastest 5:00/km is slower than slowest 4:30/km",
            file.display()
        ),
    );

    std::fs::write(&file, "{\"version\": 1,").expect("write");
    assert_user_error(&pacenote(&["plan", "check", path(&file)]), "ends early");
    assert_user_error(&pacenote(&["plan", "check", "no/such/plan.json"]), "no/such/plan.json: no such file");
}

#[test]
fn plan_import_converts_icu_and_zwo() {
    let dir = scratch("plan_import");
    let icu = dir.join("threshold.txt");
    std::fs::write(
        &icu,
        "Warmup\n- 10m Z2 HR\n\nMain set 4x\n- 5m 4:20-4:30/km Pace\n- 90s Z1 HR\n\nCooldown\n- 10m Z1 HR\n",
    )
    .expect("write");
    let out_file = dir.join("threshold.json");
    let out = pacenote(&["plan", "import", path(&icu), "--format", "icu", "--out", path(&out_file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let check = pacenote(&["plan", "check", path(&out_file)]);
    assert!(stdout(&check).contains("threshold \"threshold\": 10 steps"), "{}", stdout(&check));

    let zwo = dir.join("Tempo Run.zwo");
    std::fs::write(
        &zwo,
        r#"<workout_file><name>Tempo</name><sportType>run</sportType><workout>
           <Warmup Duration="600" PowerLow="0.5" PowerHigh="0.7"/><SteadyState Duration="1200" Power="0.95"/>
           <Cooldown Duration="300" PowerLow="0.6" PowerHigh="0.5"/></workout></workout_file>"#,
    )
    .expect("write");
    let out = pacenote(&["plan", "import", path(&zwo), "--threshold-pace", "4:30"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON plan on stdout");
    assert_eq!(plan["id"], "tempo-run");
    assert_eq!(plan["steps"][1]["target"]["pace"]["fastest"], "4:37");

    std::fs::write(&zwo, "<workout_file><workout>").expect("write");
    assert_user_error(&pacenote(&["plan", "import", path(&zwo)]), "has no steps");
    assert_user_error(
        &pacenote(&["plan", "import", path(&icu), "--threshold-pace", "fast"]),
        "--threshold-pace",
    );
}

#[test]
fn track_info_prints_the_figures_as_text_and_json() {
    let file = corpus("D6_tcx_pauses_dropouts_12k.tcx");
    let out = pacenote(&["track", "info", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("pauses       2 (3:37 paused)"), "{text}");

    let out = pacenote(&["track", "info", &file, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "samples",
        "duration_s",
        "moving_time_s",
        "distance_m",
        "pauses",
        "laps",
        "has_hr",
        "has_gps",
        "has_cadence",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["samples"], 1747);
    assert_eq!(json["pauses"], 2);
    assert_eq!(json["laps"], 13);
}

#[test]
fn track_info_refuses_broken_files_with_the_file_name() {
    let dir = scratch("track_info");
    let real = std::fs::read(corpus("D1_fenix2_tempo_9k.fit")).expect("corpus file");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty.gpx", Vec::new(), "the file is empty"),
        ("notes.gpx", b"just some notes".to_vec(), "not a GPX, TCX or FIT recording"),
        ("header-only.fit", real[..14].to_vec(), "the FIT file has no record messages"),
        ("cut.gpx", b"<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\">".to_vec(), "truncated"),
    ];
    for (name, bytes, expected) in cases {
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("write");
        let out = pacenote(&["track", "info", path(&file)]);
        assert_user_error(&out, &format!("error: {}: ", file.display()));
        assert_user_error(&out, expected);
    }
    assert_user_error(&pacenote(&["track", "info", "missing.fit"]), "missing.fit: no such file");

    // A watch that died mid-write: what was written before the damage is kept, with a warning.
    let file = dir.join("truncated.fit");
    std::fs::write(&file, &real[..real.len() / 2]).expect("write");
    let out = pacenote(&["track", "info", path(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("warning      FIT data is damaged"), "{}", stdout(&out));
}

#[test]
fn track_simulate_writes_a_readable_run() {
    let dir = scratch("track_simulate");
    let out_file = dir.join("run.gpx");
    let plan = repo().join("core/plans/tempo-20.json");
    let out =
        pacenote(&["track", "simulate", "--plan", path(&plan), "--out", path(&out_file), "--seed", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = pacenote(&["track", "info", path(&out_file), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&info.stdout).expect("JSON");
    // 15 + 20 + 10 minutes.
    assert_eq!(json["duration_s"], 2700.0);
    assert_user_error(
        &pacenote(&[
            "track",
            "simulate",
            "--plan",
            path(&plan),
            "--out",
            path(&out_file),
            "--dropout",
            "soon",
        ]),
        "START_S:LENGTH_S",
    );
}

#[test]
fn demo_prints_the_cue_timeline_and_writes_the_run() {
    let dir = scratch("demo");
    let out = pacenote(&["demo", "--out", path(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("coached by Sergeant Stone"), "{text}");
    assert!(text.contains("step 1/12 warmup 10:00 @ HR zone 2"), "{text}");
    assert!(text.contains("warmup, ten minutes in zone two"), "the step in words: {text}");
    assert!(text.contains("step 12/12 cooldown until lap"), "{text}");
    assert!(text.to_lowercase().contains("ten seconds"), "countdowns: {text}");
    assert!(text.contains("12 of 12 steps done"), "{text}");
    // The coach track and the cues were written.
    assert!(text.contains("of coach track in Sergeant Stone's voice"), "{text}");
    // The voice is in the loop: no utterance starts late, none is dropped by the player.
    assert!(text.contains(" 0 late, 0 dropped by the player"), "{text}");
    let svg = std::fs::read_to_string(dir.join("run.svg")).expect("run.svg");
    assert!(
        svg.starts_with("<svg") && svg.contains("<path d=\"M") && svg.matches("<title>").count() > 20,
        "a plot with cue markers"
    );
    let wav = std::fs::metadata(dir.join("run.wav")).expect("run.wav").len();
    // 16 kHz, 16-bit mono: about 1.9 MB a minute, and the run is about fifty minutes.
    assert!(wav > 45 * 60 * 32_000, "run.wav is {wav} bytes");
    let cues: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("run.json")).expect("JSON");
    assert!(
        cues["cues"].as_array().is_some_and(|c| c.len() > 20) && cues["summary"]["distance_m"].is_number()
    );
    // The same facts in another voice.
    let jenna = stdout(&pacenote(&["demo", "--out", path(&dir), "--persona", "jenna"]));
    assert!(
        jenna.contains("coached by Bestie Jenna") && jenna.contains("warmup, ten minutes in zone two"),
        "{jenna}"
    );
    assert_user_error(&pacenote(&["demo", "--out", path(&dir), "--persona", "yoda"]), "no persona \"yoda\"");
    // What happened on the run, by kind, through replay --json of the file the demo wrote.
    let json = pacenote(&[
        "replay",
        "--plan",
        path(&repo().join("core/plans/intervals-5x1k.json")),
        "--track",
        path(&dir.join("demo-run.tcx")),
        "--persona",
        "stone",
        "--json",
    ]);
    let replay: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let kinds: Vec<&str> =
        replay["cues"].as_array().expect("cues").iter().filter_map(|c| c["kind"].as_str()).collect();
    for kind in [
        "run_start",
        "step_start",
        "countdown",
        "split",
        "auto_paused",
        "auto_resumed",
        "gps_lost",
        "session_complete",
        "run_finish",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(replay["cues"].as_array().expect("cues").iter().all(|c| c["persona"] == "stone"));
    let no_voice = pacenote(&[
        "replay",
        "--plan",
        path(&repo().join("core/plans/intervals-5x1k.json")),
        "--track",
        path(&dir.join("demo-run.tcx")),
        "--wav",
        path(&dir.join("x.wav")),
    ]);
    assert_user_error(&no_voice, "--wav needs --persona");
    assert!(dir.join("demo-run.tcx").is_file());
    // The same demo twice gives the same timeline.
    assert_eq!(stdout(&pacenote(&["demo", "--out", path(&dir)])), text);
}

#[test]
fn a_pack_built_with_espeak_matches_the_committed_one_and_verifies() {
    let dir = scratch("pack_build");
    let out = dir.join("jenna");
    // A clip of an earlier build whose line has since changed: it must not ship.
    std::fs::create_dir_all(&out).expect("out");
    let stale = out.join("f0123456789abcdef.ogg");
    std::fs::write(&stale, b"an old line").expect("stale clip");
    let built = pacenote(&["pack", "build", "--persona", "jenna", "--out", path(&out)]);
    assert!(built.status.success(), "needs espeak-ng and oggenc (cargo xtask bootstrap): {}", stderr(&built));
    assert!(!stale.exists(), "a clip no line uses is left in the pack");
    assert!(
        stdout(&built).contains("146 clips") || stdout(&built).contains(" clips, "),
        "{}",
        stdout(&built)
    );
    let verified = pacenote(&["pack", "verify", path(&out)]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let manifest = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p.join("manifest.json")).expect("manifest")).expect("JSON")
    };
    let committed = manifest(&repo().join("audio/packs/en/jenna"));
    let fresh = manifest(&out);
    assert_eq!(fresh["version"], committed["version"], "the committed pack is stale: cargo xtask packs");
    assert_eq!(fresh["clips"].as_array().map(Vec::len), committed["clips"].as_array().map(Vec::len));

    // Damage: a missing clip and a wrong hash, each named.
    let clips = fresh["clips"].as_array().expect("clips");
    let first = clips[0]["file"].as_str().expect("file");
    let second = clips[1]["file"].as_str().expect("file");
    std::fs::remove_file(out.join(first)).expect("remove");
    std::fs::write(out.join(second), b"noise").expect("write");
    let out_v = pacenote(&["pack", "verify", path(&out)]);
    assert_user_error(&out_v, &format!("{first}: missing clip file"));
    assert_user_error(&out_v, &format!("{second}: wrong hash"));
    assert_user_error(&pacenote(&["pack", "build", "--persona", "yoda", "--out", path(&dir)]), "no persona");

    // The German pack: the same script and settings give the committed pack's version.
    let german = dir.join("stone-de");
    let built = pacenote(&["pack", "build", "--persona", "stone", "--lang", "de", "--out", path(&german)]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert_eq!(
        manifest(&german)["version"],
        manifest(&repo().join("audio/packs/de/stone"))["version"],
        "the committed German pack is stale: cargo xtask packs"
    );
    assert!(pacenote(&["pack", "verify", path(&german)]).status.success());
    assert_user_error(
        &pacenote(&["pack", "build", "--persona", "stone", "--lang", "tlh", "--out", path(&dir)]),
        "--lang \"tlh\"",
    );
    assert_user_error(
        &pacenote(&[
            "pack",
            "build",
            "--persona",
            "stone",
            "--tts",
            "no-such-tts {out} {text}",
            "--out",
            path(&dir.join("x")),
        ]),
        "could not run \"no-such-tts\"",
    );
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn readiness_on_three_mornings() {
    let fine = json(&pacenote(&["readiness", "--resting-hr", "49", "--baseline-resting-hr", "48", "--json"]));
    assert_eq!(fine["recommendation"], "as_planned");
    let tired = json(&pacenote(&[
        "readiness",
        "--resting-hr",
        "54",
        "--baseline-resting-hr",
        "48",
        "--raised-mornings",
        "2",
        "--poor-sleep-nights",
        "2",
        "--json",
    ]));
    assert_eq!(tired["recommendation"], "easy");
    assert_eq!(tired["reasons"].as_array().map(Vec::len), Some(2));
    let hurt = json(&pacenote(&["readiness", "--pain-days", "4", "--json"]));
    assert_eq!(hurt["recommendation"], "see_professional");
    assert_user_error(
        &pacenote(&["readiness", "--resting-hr", "nan", "--baseline-resting-hr", "48"]),
        "resting HR",
    );
}

#[test]
fn summary_of_a_steady_and_a_structured_corpus_run() {
    let easy = json(&pacenote(&["summary", "--track", &corpus("D3_fr955_long_easy_19k.fit"), "--json"]));
    for key in ["distance_m", "moving_time_s", "splits", "efficiency_factor", "decoupling_pct"] {
        assert!(easy.get(key).is_some(), "{key} missing: {easy}");
    }
    assert_eq!(easy["splits"].as_array().map(Vec::len), Some(19));
    assert!(easy["decoupling_pct"].as_f64().is_some_and(|d| d.abs() < 10.0), "{easy}");
    assert!(easy["efficiency_factor"].as_f64().is_some_and(|ef| (0.8..2.5).contains(&ef)), "{easy}");
    // The structured run's reps are not steady running: no decoupling figure for it.
    let structured =
        json(&pacenote(&["summary", "--track", &corpus("D2_fr955_stryd_structured_10k.fit"), "--json"]));
    assert!((structured["distance_m"].as_f64().unwrap_or(0.0) - 10_020.0).abs() < 100.0, "{structured}");
    assert_eq!(structured["splits"].as_array().map(Vec::len), Some(10));
}

#[test]
fn summary_with_history_shows_trend_streak_and_draws_it() {
    let svg = scratch("summary-trend").join("trend.svg");
    let out = pacenote(&[
        "summary",
        "--track",
        &corpus("D3_fr955_long_easy_19k.fit"),
        "--history",
        &corpus(""),
        "--runs-per-week",
        "4",
        "--json",
        "--svg",
        path(&svg),
    ]);
    let s = json(&out);
    assert!(s["trend"]["runs_before"].as_u64().is_some_and(|n| n >= 5), "{s}");
    assert_eq!(s["process"]["this_week"]["planned"], 4);
    let picture = std::fs::read_to_string(&svg).expect("svg written");
    assert!(picture.starts_with("<svg") && picture.contains("<polyline"), "{picture}");
}

#[test]
fn adapt_after_two_weeks_off_and_after_missed_targets() {
    let a = json(&pacenote(&[
        "adapt",
        "--plan",
        path(&repo().join("core/plans/intervals-5x1k.json")),
        "--days-off",
        "14",
        "--missed-targets",
        "3",
        "--json",
    ]));
    assert_eq!(a["vdot_factor"], 0.973);
    assert_eq!(a["missed_runs_added"], 0);
    assert_eq!(a["goal_proposals"].as_array().map(Vec::len), Some(3));
}

#[test]
fn replay_in_the_heat_with_a_check_in() {
    let plan = repo().join("core/plans/tempo-20.json");
    let out = pacenote(&[
        "replay",
        "--plan",
        path(&plan),
        "--track",
        &corpus("D1_fenix2_tempo_9k.fit"),
        "--temp-c",
        "31",
        "--dew-point-c",
        "22",
        "--effort",
        "7",
        "--json",
    ]);
    let r = json(&out);
    let kinds: Vec<&str> =
        r["cues"].as_array().into_iter().flatten().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(&kinds[..2], ["run_start", "heat_adjusted"], "{kinds:?}");
    assert!(kinds.contains(&"check_in"), "{kinds:?}");
    assert_eq!(r["summary"]["effort"], 7);
    assert!(r["log"].as_array().is_some_and(|l| l.iter().any(|e| e["event"] == "check_in")), "{r}");
    assert_user_error(
        &pacenote(&[
            "replay",
            "--plan",
            path(&plan),
            "--track",
            &corpus("D1_fenix2_tempo_9k.fit"),
            "--effort",
            "12",
        ]),
        "--effort",
    );
}

#[test]
fn replay_go_easy_swaps_the_session_for_one_easy_step() {
    let out = pacenote(&[
        "replay",
        "--plan",
        path(&repo().join("core/plans/intervals-5x1k.json")),
        "--track",
        &corpus("D1_fenix2_tempo_9k.fit"),
        "--go-easy",
        "--json",
    ]);
    let r = json(&out);
    let steps: Vec<i64> =
        r["cues"].as_array().into_iter().flatten().filter_map(|c| c["step"].as_i64()).collect();
    assert!(steps.iter().all(|s| *s == 0), "one step only: {steps:?}");
    assert!(r["cues"].as_array().into_iter().flatten().all(|c| c["kind"] != "speed_up"), "{r}");
}

/// `pacenote serve --addr 127.0.0.1:0 ARGS...` running, and the URL it listens on.
fn serve(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut server = Command::new(env!("CARGO_BIN_EXE_pacenote"))
        .args(["serve", "--addr", "127.0.0.1:0", "--log", "warn"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
        .expect("the address it listens on");
    // Keep reading what it prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (server, url)
}

/// The options that give `pacenote serve` its database: a SQLite file in `dir`, or a fresh
/// database of the scratch PostgreSQL cluster.
fn server_database(dir: &Path, postgres: bool) -> Vec<String> {
    if postgres {
        let cluster = pacenote_scratch_pg::for_tests().unwrap_or_else(|e| panic!("{e}"));
        vec!["--postgres".into(), cluster.fresh_database("cli").unwrap_or_else(|e| panic!("{e}"))]
    } else {
        vec!["--db".into(), path(&dir.join("server.db")).to_owned()]
    }
}

#[test]
fn record_then_serve_and_sync_uploads_the_run_and_preloads_for_offline() {
    record_then_serve_and_sync(false);
}

#[test]
fn record_then_serve_on_postgres_and_sync_uploads_the_run_and_preloads_for_offline() {
    record_then_serve_and_sync(true);
}

fn record_then_serve_and_sync(postgres: bool) {
    let dir = scratch(if postgres { "serve-sync-pg" } else { "serve-sync" });
    let database = server_database(&dir, postgres);
    let database: Vec<&str> = database.iter().map(String::as_str).collect();
    let (mut server, url) = serve(
        &[
            &["--user", "me:secret"],
            &database[..],
            &["--packs", path(&repo().join("audio/packs")), "--plans", path(&repo().join("core/plans"))],
        ]
        .concat(),
    );
    let db = dir.join("device.db");
    let plan = repo().join("core/plans/tempo-20.json");
    let out = pacenote(&[
        "record",
        "--db",
        path(&db),
        "--plan",
        path(&plan),
        "--track",
        &corpus("D7_nrc_phone_5k.gpx"),
        "--speed",
        "1e9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("finished run-"), "{}", stdout(&out));

    let wrong = pacenote(&["sync", "--db", path(&db), "--server", &url, "--token", "nope"]);
    assert_user_error(&wrong, "unknown token");
    let out = pacenote(&[
        "sync",
        "--db",
        path(&db),
        "--server",
        &url,
        "--token",
        "secret",
        "--plan",
        "tempo-20",
        "--persona",
        "jenna",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}{}", text, stderr(&out));
    assert!(text.contains("runs: 1 uploaded, 0 pending"), "{text}");
    assert!(text.contains("chunks: 31 sent"), "{text}");
    assert!(text.contains("ready offline: tempo-20 with jenna"), "{text}");
    let none = pacenote(&["resume", "--db", path(&db)]);
    assert_user_error(&none, "nothing to resume");
    // A new phone pulls the history back: its summary reads as on the old phone, and a second
    // pull stores nothing twice.
    let new_phone = dir.join("new-phone.db");
    let pull =
        |db: &Path| pacenote(&["sync", "--db", path(db), "--server", &url, "--token", "secret", "--pull"]);
    let first = pull(&new_phone);
    let again = pull(&new_phone);
    let _ = server.kill();
    let _ = server.wait();
    assert!(first.status.success(), "{}{}", stdout(&first), stderr(&first));
    assert!(
        stdout(&first).contains("history: 1 runs on the server, 1 restored, 0 already here"),
        "{}",
        stdout(&first)
    );
    assert!(stdout(&again).contains("0 restored, 1 already here"), "{}", stdout(&again));
    let summary = |db: &Path| json(&pacenote(&["summary", "--store", path(db), "--json"]));
    let (old, new) = (summary(&db), summary(&new_phone));
    assert!(old.to_string().contains("distance_m"), "{old}");
    assert_eq!(new, old, "the same history on the new phone");
}

#[test]
fn serve_users_are_added_rotated_and_revoked_without_tokens_on_the_command_line() {
    serve_users(false);
}

#[test]
fn serve_users_on_postgres_are_added_rotated_and_revoked() {
    serve_users(true);
}

fn serve_users(postgres: bool) {
    let dir = scratch(if postgres { "serve-users-pg" } else { "serve-users" });
    let database = server_database(&dir, postgres);
    let db: Vec<&str> = database.iter().map(String::as_str).collect();
    let user = |args: &[&str]| pacenote(&[&["serve", "user"], args, &db[..]].concat());
    let token_of = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        stdout(out)
            .lines()
            .find_map(|l| l.split_once(", token ").map(|(_, t)| t.to_owned()))
            .expect("a token")
    };
    let first = token_of(&user(&["add", "alice"]));
    assert_user_error(&user(&["add", "alice"]), "serve user rotate alice");
    assert_user_error(&user(&["rotate", "carol"]), "no user carol");
    let rotated = token_of(&user(&["rotate", "alice"]));
    assert_ne!(first, rotated);
    let users = dir.join("users.txt");
    std::fs::write(&users, "# the team\nbob:bob-token   # the coach\n\n").expect("users file");
    let plans = repo().join("core/plans");
    let (mut server, url) =
        serve(&[&db[..], &["--users-file", path(&users), "--plans", path(&plans)]].concat());
    // A plan download needs a valid token.
    let fetch = |token: &str| {
        let device = dir.join(format!("device-{}.db", token.len()));
        pacenote(&["sync", "--db", path(&device), "--server", &url, "--token", token, "--plan", "tempo-20"])
    };
    let ok = [fetch(&rotated), fetch("bob-token")];
    let old = fetch(&first);
    let revoked = user(&["revoke", "alice"]);
    let after = fetch(&rotated);
    let _ = server.kill();
    let _ = server.wait();
    for out in &ok {
        assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    }
    assert_user_error(&old, "unknown token");
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_user_error(&after, "unknown token");
}

/// `bench server` drives real servers and checks what they hold; a short run on each backend
/// keeps its phones, its two instances and its integrity check working (figures are not
/// asserted: they are the bench's to print, not a test's).
#[test]
fn bench_server_uploads_runs_and_finds_them_whole_on_both_backends() {
    let cluster = pacenote_scratch_pg::for_tests().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster.fresh_database("bench").unwrap_or_else(|e| panic!("{e}"));
    for extra in [vec![], vec!["--postgres", url.as_str(), "--instances", "2"]] {
        let args = [&["bench", "server", "--devices", "3", "--seconds", "2", "--json"][..], &extra].concat();
        let out = pacenote(&args);
        assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), stderr(&out));
        let figures: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON figures");
        let f = &figures[0];
        assert!(f["chunks"].as_u64().expect("chunks") > 0, "{f}");
        assert_eq!((f["integrity_ok"].as_bool(), f["errors"].as_u64()), (Some(true), Some(0)), "{f}");
        // The CPU time the uploads cost: the servers', and PostgreSQL's (on this machine) apart.
        assert!(f["servers_cpu_ms"].as_f64().expect("servers' CPU") > 0.0, "{f}");
        let database_cpu_ms = f["database_cpu_ms"].as_f64();
        if extra.is_empty() {
            assert_eq!(database_cpu_ms, None, "SQLite's is the server's: {f}");
        } else {
            assert!(database_cpu_ms.expect("PostgreSQL's CPU, measured here") > 0.0, "{f}");
        }
    }
}

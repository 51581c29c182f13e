//! The store against real SQLite files: migration from every earlier schema, reopening, refusing
//! a newer schema, all-or-nothing batches, a read-only database, and deletion only after the
//! upload was confirmed. (Kill -9 trials of `pacenote record` are in tests/tests/crash.rs.)

use super::*;

fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

fn checkpoint(samples: u64) -> Checkpoint {
    Checkpoint {
        t_ms: samples * 1000,
        samples,
        step_index: Some(1),
        distance_m: samples as f64 * 3.0,
        moving_ms: samples * 1000,
    }
}

fn batch(from: u64, n: u64) -> Batch {
    Batch {
        inputs: (from..from + n)
            .map(|t| (t * 1000, format!(r#"{{"type":"tick","t_ms":{}}}"#, t * 1000)))
            .collect(),
        ..Batch::default()
    }
}

fn new_run(id: &str) -> NewRun<'_> {
    NewRun {
        id,
        plan_id: "tempo-20",
        plan_json: "{}",
        persona: "stone",
        started_at_unix_ms: 1,
        session_json: "{}",
    }
}

#[test]
fn a_new_database_is_migrated_to_the_current_schema_in_wal_mode() {
    let (_dir, path) = temp("device.db");
    let store = Store::open(&path).expect("open");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    assert_eq!(store.integrity_check().expect("check"), "ok");
}

#[test]
fn every_earlier_schema_migrates_and_keeps_its_data() {
    // Version 0 is an empty file; each later version is what the migrations before it made,
    // with a run in it when it has a runs table.
    for version in 0..SCHEMA_VERSION {
        let (_dir, path) = temp("old.db");
        {
            let conn = Connection::open(&path).expect("open");
            for sql in MIGRATIONS.iter().take(version as usize) {
                conn.execute_batch(sql).expect("old schema");
            }
            conn.pragma_update(None, "user_version", version).expect("version");
            if version >= 1 {
                // A run recorded by the first schema, with a cached pack.
                conn.execute_batch(
                    "INSERT INTO runs (id, plan_id, plan_json, persona, started_at_unix_ms, state) \
                     VALUES ('old', 'p', '{}', 'jakes', 5, 'recording');
                     INSERT INTO uploads (run_id) VALUES ('old');
                     INSERT INTO samples VALUES ('old', 0, 0, '{\"type\":\"start\",\"t_ms\":0}');
                     INSERT INTO events (run_id, seq, event_json) VALUES ('old', 0, '{}');",
                )
                .expect("old rows");
                // Packs per persona in the first schema, per persona and language from the second.
                let pack = if version == 1 {
                    "INSERT INTO cached_packs VALUES ('jakes', 'v1', '/packs/jakes')"
                } else {
                    "INSERT INTO cached_packs VALUES ('jakes', 'en', 'v1', 'v1', '/packs/jakes')"
                };
                conn.execute_batch(pack).expect("old pack");
            }
        }
        let store = Store::open(&path).expect("migrates");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        assert_eq!(store.integrity_check().expect("check"), "ok");
        if version >= 1 {
            let runs = store.runs().expect("runs");
            assert_eq!((runs[0].id.as_str(), runs[0].samples, runs[0].finished), ("old", 1, false));
            assert_eq!(store.unfinished_run().expect("query").as_deref(), Some("old"));
            assert_eq!(store.setup("old").expect("setup").expect("some").session_json, "{}");
            let pack = store.cached_pack("jakes", "en").expect("pack").expect("kept");
            assert_eq!(pack.dir, PathBuf::from("/packs/jakes"));
        }
    }
    // Reopening a current database changes nothing and keeps the runs.
    let (_dir, path) = temp("device.db");
    let mut store = Store::open(&path).expect("open");
    store.create_run(&new_run("r1")).expect("run");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.runs().expect("runs").len(), 1);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let (_dir, path) = temp("future.db");
    {
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("version");
    }
    let e = Store::open(&path).expect_err("newer");
    assert!(e.to_string().contains("update the app"), "{e}");
    let conn = Connection::open(&path).expect("open");
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(v, SCHEMA_VERSION + 1);
}

#[test]
fn a_run_is_appended_in_batches_and_read_back_in_order() {
    let (_dir, path) = temp("device.db");
    let mut store = Store::open(&path).expect("open");
    store.create_run(&new_run("r1")).expect("run");
    store
        .append(
            "r1",
            &Batch {
                cues: vec![SpokenCue {
                    utterance_id: 1,
                    at_ms: 0,
                    kinds: "run_start".into(),
                    text: "Off we go".into(),
                }],
                ..batch(0, 3)
            },
            checkpoint(3),
        )
        .expect("append");
    store
        .append(
            "r1",
            &Batch {
                events: vec![StoredEvent {
                    t_ms: 5,
                    json: r#"{"event":"check_in","t_ms":5,"effort":6}"#.into(),
                }],
                ..batch(3, 2)
            },
            checkpoint(5),
        )
        .expect("append");
    let inputs = store.inputs("r1").expect("inputs");
    assert_eq!(inputs.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![0, 1000, 2000, 3000, 4000]);
    assert_eq!(store.checkpoint("r1").expect("checkpoint"), Some(checkpoint(5)));
    store.finish_run("r1", &finished(Some(6))).expect("finish");
    let runs = store.runs().expect("runs");
    assert_eq!((runs[0].finished, runs[0].samples, runs[0].effort), (true, 5, Some(6)));
    assert!(store.finish_run("nope", &finished(None)).is_err());
}

#[test]
fn a_failing_batch_stores_nothing_of_itself() {
    let (_dir, path) = temp("device.db");
    let mut store = Store::open(&path).expect("open");
    store.create_run(&new_run("r1")).expect("run");
    store.append("r1", &batch(0, 2), checkpoint(2)).expect("append");
    // A batch for a run that does not exist breaks the foreign key half-way: all of it is
    // rolled back, and the good run is as it was.
    assert!(store.append("ghost", &batch(2, 2), checkpoint(4)).is_err());
    assert_eq!(store.inputs("r1").expect("inputs").len(), 2);
    assert_eq!(store.inputs("ghost").expect("inputs").len(), 0);
    assert_eq!(store.checkpoint("r1").expect("checkpoint"), Some(checkpoint(2)));
}

#[test]
fn a_read_only_database_is_a_clear_error_and_keeps_what_it_has() {
    let (dir, path) = temp("device.db");
    let mut store = Store::open(&path).expect("open");
    store.create_run(&new_run("r1")).expect("run");
    drop(store);
    // Open read-only (as on a full or locked-down disk) and try to write.
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("read-only");
    let mut store = Store { path: path.clone(), conn };
    let e = store.append("r1", &batch(0, 1), checkpoint(1)).expect_err("read-only");
    assert!(e.to_string().contains("device.db"), "{e}");
    assert!(e.to_string().to_lowercase().contains("readonly") || e.to_string().contains("read-only"), "{e}");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.runs().expect("runs").len(), 1);
    drop(dir);
}

#[test]
fn a_run_log_leaves_the_phone_only_when_the_upload_is_confirmed() {
    let (_dir, path) = temp("device.db");
    let mut store = Store::open(&path).expect("open");
    store.create_run(&new_run("r1")).expect("run");
    store.append("r1", &batch(0, 5), checkpoint(5)).expect("append");
    store.finish_run("r1", &finished(None)).expect("finish");
    store.set_chunks_sent("r1", 3).expect("cursor");
    store.set_chunks_sent("r1", 1).expect("cursor never moves back");
    assert_eq!(store.chunks_sent("r1").expect("cursor"), 3);
    assert_eq!(store.log("r1").expect("log").inputs.len(), 5);
    assert!(!store.runs().expect("runs")[0].uploaded);
    store.confirm_uploaded("r1", 99).expect("confirm");
    let run = &store.runs().expect("runs")[0];
    assert!(run.uploaded && run.finished);
    assert_eq!(store.log("r1").expect("log"), RunLog::default());
    assert!(store.confirm_uploaded("ghost", 1).is_err());
}

/// A finished run's header with empty JSON figures.
fn finished(effort: Option<u8>) -> FinishedRun {
    FinishedRun { summary_json: "{}".to_owned(), analysis_json: "{}".to_owned(), effort }
}

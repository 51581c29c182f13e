//! The on-device store (DESIGN §7): everything a runner records, kept safe on the phone until the
//! server has confirmed it.
//!
//! SQLite through one writer connection in WAL mode; every write is a `BEGIN IMMEDIATE`
//! transaction, so a kill at any moment leaves either all of a batch or none of it. The schema is
//! versioned by `PRAGMA user_version` and migrated forward on open; a database from a newer
//! build is refused, never touched. Must not: delete a run's rows before its upload was
//! confirmed, or write outside a transaction.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

/// Schema migrations, in order: entry `i` takes a database from version `i` to `i + 1`.
const MIGRATIONS: [&str; 3] = [
    r#"
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    persona TEXT NOT NULL,
    started_at_unix_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('recording', 'finished')),
    summary_json TEXT,
    effort INTEGER CHECK (effort BETWEEN 1 AND 10)
);
-- Every engine input of a run, in order: what resume replays.
CREATE TABLE samples (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    input_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE cues_spoken (
    run_id TEXT NOT NULL REFERENCES runs(id),
    utterance_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    kinds TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (run_id, utterance_id)
) WITHOUT ROWID;
-- The engine's run log: feedback, check-in, heat, free-to-stop.
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    event_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    t_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    step_index INTEGER,
    distance_m REAL NOT NULL,
    moving_ms INTEGER NOT NULL
);
CREATE TABLE cached_plans (id TEXT PRIMARY KEY, etag TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE cached_packs (persona TEXT PRIMARY KEY, version TEXT NOT NULL, dir TEXT NOT NULL);
CREATE TABLE uploads (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    chunks_sent INTEGER NOT NULL DEFAULT 0,
    finalized INTEGER NOT NULL DEFAULT 0
);
"#,
    r#"
-- How to rebuild the engine on resume (profile, settings, context) and where the run's sensor
-- data came from (the CLI's recording file).
ALTER TABLE runs ADD COLUMN session_json TEXT NOT NULL DEFAULT '{}';
-- Events go into upload chunks by their run time.
ALTER TABLE events ADD COLUMN t_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN confirmed_at_unix_ms INTEGER;
-- Packs are per persona and language, with the server's ETag for If-None-Match.
CREATE TABLE cached_packs_v2 (
    persona TEXT NOT NULL,
    lang TEXT NOT NULL,
    version TEXT NOT NULL,
    etag TEXT NOT NULL,
    dir TEXT NOT NULL,
    PRIMARY KEY (persona, lang)
);
INSERT INTO cached_packs_v2 (persona, lang, version, etag, dir)
    SELECT persona, 'en', version, version, dir FROM cached_packs;
DROP TABLE cached_packs;
ALTER TABLE cached_packs_v2 RENAME TO cached_packs;
"#,
    r#"
-- The post-run analysis (splits, efficiency, the speed-HR fit, best efforts), kept when the
-- run's log rows leave the phone after upload: the history's trends and goals read it.
ALTER TABLE runs ADD COLUMN analysis_json TEXT;
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for the database lock before giving up (another process holding it).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What went wrong with the store, naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}{}", path.display(), advice(source))]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{}: schema version {found} is newer than this build's {SCHEMA_VERSION}: update the app (the data is left untouched)",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: i64 },
}

impl StoreError {
    /// The disk (or the store's quota) is full: nothing more can be written until space is freed.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Self::Sqlite { source, .. } if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull))
    }
}

/// What to do about the SQLite failures a runner's phone actually meets.
fn advice(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => {
            " (the disk is full: free some space; everything stored before this is kept)"
        }
        Some(rusqlite::ErrorCode::ReadOnly) => {
            " (the database is read-only: check the file's permissions; everything stored before this is kept)"
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            " (another process is writing this database: only one recorder may hold it)"
        }
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            " (this file is not a Pacenote database, or it is damaged)"
        }
        _ => "",
    }
}

/// A run to start storing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun<'a> {
    pub id: &'a str,
    pub plan_id: &'a str,
    pub plan_json: &'a str,
    pub persona: &'a str,
    pub started_at_unix_ms: u64,
    /// How to rebuild the engine on resume; opaque to the store.
    pub session_json: &'a str,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: String,
    pub plan_id: String,
    pub persona: String,
    pub started_at_unix_ms: u64,
    pub finished: bool,
    pub samples: u64,
    pub effort: Option<u8>,
    /// The server confirmed the whole run (its log rows are gone from the phone).
    pub uploaded: bool,
}

/// A finished run as the history reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedSummary {
    pub id: String,
    pub started_at_unix_ms: u64,
    pub effort: Option<u8>,
    /// The engine's summary at the finish, as stored (JSON).
    pub summary_json: Option<String>,
    /// The post-run analysis, as stored (JSON; none for runs finished before it was kept).
    pub analysis_json: Option<String>,
}

/// What a finished run leaves in its header: the engine's summary, the post-run analysis and
/// the check-in's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    pub summary_json: String,
    pub analysis_json: String,
    pub effort: Option<u8>,
}

/// A finished run brought back from the server (a new phone restoring the runner's history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredRun {
    pub id: String,
    pub plan_id: String,
    pub persona: String,
    pub started_at_unix_ms: u64,
    pub summary_json: Option<String>,
    pub analysis_json: Option<String>,
    pub effort: Option<u8>,
    pub restored_at_unix_ms: u64,
}

/// What resume needs besides the inputs: the plan and the engine's set-up.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSetup {
    pub plan_json: String,
    pub persona: String,
    pub session_json: String,
    pub summary_json: Option<String>,
    /// The post-run analysis of a finished run (JSON).
    pub analysis_json: Option<String>,
}

/// Where a run can be resumed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpoint {
    pub t_ms: u64,
    pub samples: u64,
    pub step_index: Option<u32>,
    pub distance_m: f64,
    pub moving_ms: u64,
}

/// A cue as spoken: the utterance it belonged to, when, its kinds and its words.
#[derive(Debug, Clone, PartialEq)]
pub struct SpokenCue {
    pub utterance_id: u64,
    pub at_ms: u64,
    pub kinds: String,
    pub text: String,
}

/// A log event with the run time it happened at (0 when it has none, such as the heat
/// adjustment made at the start).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub t_ms: u64,
    pub json: String,
}

/// One batch of a run's log: committed together with the checkpoint it leads to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Engine inputs, `(t_ms, input JSON)`, in the order the engine took them.
    pub inputs: Vec<(u64, String)>,
    pub cues: Vec<SpokenCue>,
    pub events: Vec<StoredEvent>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.cues.is_empty() && self.events.is_empty()
    }
}

/// A run's whole log, for upload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunLog {
    pub inputs: Vec<(u64, u64, String)>,
    pub cues: Vec<SpokenCue>,
    pub events: Vec<(u64, StoredEvent)>,
}

/// A cached plan: the server's ETag and the JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPlan {
    pub etag: String,
    pub json: String,
}

/// An installed voice pack.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPack {
    pub version: String,
    pub etag: String,
    pub dir: PathBuf,
}

/// The store: one writer connection.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
}

fn u64_to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn sql_to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // WAL: readers never block the writer, and a commit is one append to the log.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        // In WAL mode NORMAL is durable against application crashes (kill -9); FULL would also
        // survive power loss at the price of an fsync per commit.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        let mut store = Store { path: path.to_path_buf(), conn };
        store.migrate()?;
        store.repair_unreadable_inputs()?;
        Ok(store)
    }

    /// Drops the stored inputs of unfinished runs that do not load back — a reading whose
    /// number was NaN or infinite, stored as `null` by versions before inputs were checked at
    /// the boundary — each with an `input_dropped` event saying which and why. Without this
    /// such a run could never be resumed, finished or uploaded. Returns how many were dropped.
    ///
    /// Only inputs with a `null` where a required number goes are parsed (a fix without
    /// Doppler has `null`s of its own): opening a store with a run in progress stays cheap.
    fn repair_unreadable_inputs(&mut self) -> Result<u64, StoreError> {
        let suspects: Vec<(String, i64, i64, String)> = {
            let mut statement = self
                .conn
                .prepare(
                    "SELECT s.run_id, s.seq, s.t_ms, s.input_json FROM samples s JOIN runs r ON r.id = s.run_id \
                     WHERE r.state = 'recording' AND (s.input_json LIKE '%\"lat_deg\":null%' \
                        OR s.input_json LIKE '%\"lon_deg\":null%' \
                        OR s.input_json LIKE '%\"horizontal_accuracy_m\":null%' \
                        OR s.input_json LIKE '%\"bpm\":null%' \
                        OR s.input_json LIKE '%\"spm\":null%' \
                        OR (s.input_json LIKE '%\"type\":\"device_speed\"%' AND s.input_json LIKE '%\"speed_mps\":null%') \
                        OR (s.input_json LIKE '%\"type\":\"altitude\"%' AND s.input_json LIKE '%\"altitude_m\":null%'))",
                )
                .map_err(|e| self.err(e))?;
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?
        };
        let unreadable: Vec<(String, i64, i64, String)> = suspects
            .into_iter()
            .filter_map(|(run_id, seq, t_ms, json)| {
                let error = serde_json::from_str::<pacenote_core::engine::Input>(&json).err()?;
                Some((run_id, seq, t_ms, format!("stored input {seq} does not load: {error}")))
            })
            .collect();
        if unreadable.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            for (run_id, seq, t_ms, reason) in &unreadable {
                tx.execute("DELETE FROM samples WHERE run_id = ?1 AND seq = ?2", params![run_id, seq])?;
                let event = serde_json::json!({ "type": "input_dropped", "t_ms": t_ms, "seq": seq, "reason": reason });
                tx.execute(
                    "INSERT INTO events (run_id, seq, t_ms, event_json) \
                     VALUES (?1, (SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE run_id = ?1), ?2, ?3)",
                    params![run_id, t_ms, event.to_string()],
                )?;
            }
            Ok(())
        })?;
        Ok(unreadable.len() as u64)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: self.path.clone(), found });
        }
        self.write(|tx| {
            for (version, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", version as i64 + 1)?;
            }
            Ok(())
        })
    }

    /// Caps the database at `pages` pages (of 4 KB): an app's storage quota. Writes past it fail
    /// as a full disk does, and keep everything stored before.
    pub fn limit_pages(&self, pages: u64) -> Result<(), StoreError> {
        self.conn
            .pragma_update_and_check(None, "max_page_count", u64_to_sql(pages), |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// `PRAGMA integrity_check`: `ok`, or what SQLite found.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn.pragma_query_value(None, "integrity_check", |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Starts a run.
    pub fn create_run(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (id, plan_id, plan_json, persona, started_at_unix_ms, state, session_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'recording', ?6)",
                params![
                    run.id,
                    run.plan_id,
                    run.plan_json,
                    run.persona,
                    u64_to_sql(run.started_at_unix_ms),
                    run.session_json
                ],
            )?;
            tx.execute("INSERT INTO uploads (run_id) VALUES (?1)", params![run.id])?;
            Ok(())
        })
    }

    /// Appends a batch of engine inputs, cues spoken and log events, and moves the checkpoint,
    /// in one transaction: all of it is stored, or none.
    pub fn append(&mut self, run_id: &str, batch: &Batch, checkpoint: Checkpoint) -> Result<(), StoreError> {
        self.write(|tx| {
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM samples WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )?;
            let mut insert = tx.prepare_cached("INSERT INTO samples (run_id, seq, t_ms, input_json) VALUES (?1, ?2, ?3, ?4)")?;
            for (i, (t_ms, json)) in batch.inputs.iter().enumerate() {
                insert.execute(params![run_id, next + i as i64, u64_to_sql(*t_ms), json])?;
            }
            let mut cue = tx.prepare_cached(
                "INSERT OR REPLACE INTO cues_spoken (run_id, utterance_id, at_ms, kinds, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for c in &batch.cues {
                cue.execute(params![run_id, u64_to_sql(c.utterance_id), u64_to_sql(c.at_ms), c.kinds, c.text])?;
            }
            let first_event: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )?;
            let mut event =
                tx.prepare_cached("INSERT INTO events (run_id, seq, t_ms, event_json) VALUES (?1, ?2, ?3, ?4)")?;
            for (i, e) in batch.events.iter().enumerate() {
                event.execute(params![run_id, first_event + i as i64, u64_to_sql(e.t_ms), e.json])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO checkpoints (run_id, t_ms, samples, step_index, distance_m, moving_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run_id,
                    u64_to_sql(checkpoint.t_ms),
                    u64_to_sql(checkpoint.samples),
                    checkpoint.step_index,
                    checkpoint.distance_m,
                    u64_to_sql(checkpoint.moving_ms)
                ],
            )?;
            Ok(())
        })
    }

    /// Marks a run finished with its summary, analysis and check-in answer.
    pub fn finish_run(&mut self, run_id: &str, finished: &FinishedRun) -> Result<(), StoreError> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE runs SET state = 'finished', summary_json = ?2, analysis_json = ?3, effort = ?4 \
                 WHERE id = ?1",
                params![run_id, finished.summary_json, finished.analysis_json, finished.effort],
            )?;
            if changed == 0 { Err(rusqlite::Error::QueryReturnedNoRows) } else { Ok(()) }
        })
    }

    /// The stored inputs of a run, in order (what resume replays).
    pub fn inputs(&self, run_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self.log(run_id)?.inputs.into_iter().map(|(_, t, json)| (t, json)).collect())
    }

    /// A run's whole log: inputs with their sequence numbers, cues, events with theirs.
    pub fn log(&self, run_id: &str) -> Result<RunLog, StoreError> {
        let e = |source| self.err(source);
        let inputs = self
            .conn
            .prepare_cached("SELECT seq, t_ms, input_json FROM samples WHERE run_id = ?1 ORDER BY seq")
            .and_then(|mut stmt| {
                stmt.query_map(params![run_id], |r| {
                    Ok((sql_to_u64(r.get(0)?), sql_to_u64(r.get(1)?), r.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(e)?;
        let cues = self
            .conn
            .prepare_cached(
                "SELECT utterance_id, at_ms, kinds, text FROM cues_spoken WHERE run_id = ?1 ORDER BY utterance_id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![run_id], |r| {
                    Ok(SpokenCue {
                        utterance_id: sql_to_u64(r.get(0)?),
                        at_ms: sql_to_u64(r.get(1)?),
                        kinds: r.get(2)?,
                        text: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(e)?;
        let events = self
            .conn
            .prepare_cached("SELECT seq, t_ms, event_json FROM events WHERE run_id = ?1 ORDER BY seq")
            .and_then(|mut stmt| {
                stmt.query_map(params![run_id], |r| {
                    Ok((sql_to_u64(r.get(0)?), StoredEvent { t_ms: sql_to_u64(r.get(1)?), json: r.get(2)? }))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(e)?;
        Ok(RunLog { inputs, cues, events })
    }

    pub fn checkpoint(&self, run_id: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.conn
            .query_row(
                "SELECT t_ms, samples, step_index, distance_m, moving_ms FROM checkpoints WHERE run_id = ?1",
                params![run_id],
                |r| {
                    Ok(Checkpoint {
                        t_ms: sql_to_u64(r.get(0)?),
                        samples: sql_to_u64(r.get(1)?),
                        step_index: r.get(2)?,
                        distance_m: r.get(3)?,
                        moving_ms: sql_to_u64(r.get(4)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The plan and engine set-up a run started with.
    pub fn setup(&self, run_id: &str) -> Result<Option<RunSetup>, StoreError> {
        self.conn
            .query_row(
                "SELECT plan_json, persona, session_json, summary_json, analysis_json FROM runs WHERE id = ?1",
                params![run_id],
                |r| {
                    Ok(RunSetup {
                        plan_json: r.get(0)?,
                        persona: r.get(1)?,
                        session_json: r.get(2)?,
                        summary_json: r.get(3)?,
                        analysis_json: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<StoredRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.plan_id, r.persona, r.started_at_unix_ms, r.state, r.effort, \
                 (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id), \
                 COALESCE((SELECT u.finalized FROM uploads u WHERE u.run_id = r.id), 0) \
                 FROM runs r ORDER BY r.started_at_unix_ms, r.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredRun {
                    id: r.get(0)?,
                    plan_id: r.get(1)?,
                    persona: r.get(2)?,
                    started_at_unix_ms: sql_to_u64(r.get(3)?),
                    finished: r.get::<_, String>(4)? == "finished",
                    effort: r.get(5)?,
                    samples: sql_to_u64(r.get(6)?),
                    uploaded: r.get::<_, i64>(7)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every finished run's id, start, check-in and stored summary, oldest first: what the
    /// history needs, in one query (not each run's plan and set-up).
    pub fn finished_summaries(&self) -> Result<Vec<FinishedSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, started_at_unix_ms, effort, summary_json, analysis_json FROM runs \
                 WHERE state = 'finished' ORDER BY started_at_unix_ms, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FinishedSummary {
                    id: r.get(0)?,
                    started_at_unix_ms: sql_to_u64(r.get(1)?),
                    effort: r.get(2)?,
                    summary_json: r.get(3)?,
                    analysis_json: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The latest run still recording: the one an app relaunched after a kill resumes.
    pub fn unfinished_run(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE state = 'recording' ORDER BY started_at_unix_ms DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// How far a run's upload got: chunks the server confirmed holding, contiguously from 0.
    pub fn chunks_sent(&self, run_id: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT chunks_sent FROM uploads WHERE run_id = ?1", params![run_id], |r| r.get(0))
            .optional()
            .map(|v: Option<i64>| v.map_or(0, sql_to_u64))
            .map_err(|e| self.err(e))
    }

    /// Remembers the upload cursor (never moves it back).
    pub fn set_chunks_sent(&mut self, run_id: &str, chunks: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE uploads SET chunks_sent = MAX(chunks_sent, ?2) WHERE run_id = ?1",
                params![run_id, u64_to_sql(chunks)],
            )?;
            Ok(())
        })
    }

    /// The server confirmed the whole run: its log rows leave the phone (the run's header and
    /// summary stay, for the history screen). The only place run data is deleted.
    pub fn confirm_uploaded(&mut self, run_id: &str, at_unix_ms: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE uploads SET finalized = 1, confirmed_at_unix_ms = ?2 WHERE run_id = ?1",
                params![run_id, u64_to_sql(at_unix_ms)],
            )?;
            if changed == 0 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            for table in ["samples", "cues_spoken", "events", "checkpoints"] {
                tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), params![run_id])?;
            }
            Ok(())
        })
    }

    /// Stores a finished run the server holds, as a phone that uploaded it keeps it: its
    /// header, summary, analysis and check-in, marked uploaded, with no log rows. A run the
    /// store has already (by id) is left as it is: returns whether it was stored.
    pub fn restore_run(&mut self, run: &RestoredRun) -> Result<bool, StoreError> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO runs (id, plan_id, plan_json, persona, started_at_unix_ms, state, summary_json, analysis_json, effort) \
                 VALUES (?1, ?2, '', ?3, ?4, 'finished', ?5, ?6, ?7)",
                params![
                    run.id,
                    run.plan_id,
                    run.persona,
                    u64_to_sql(run.started_at_unix_ms),
                    run.summary_json,
                    run.analysis_json,
                    run.effort
                ],
            )?;
            if inserted == 1 {
                tx.execute(
                    "INSERT INTO uploads (run_id, finalized, confirmed_at_unix_ms) VALUES (?1, 1, ?2)",
                    params![run.id, u64_to_sql(run.restored_at_unix_ms)],
                )?;
            }
            Ok(inserted == 1)
        })
    }

    pub fn cached_plan(&self, id: &str) -> Result<Option<CachedPlan>, StoreError> {
        self.conn
            .query_row("SELECT etag, json FROM cached_plans WHERE id = ?1", params![id], |r| {
                Ok(CachedPlan { etag: r.get(0)?, json: r.get(1)? })
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn put_cached_plan(&mut self, id: &str, plan: &CachedPlan) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO cached_plans (id, etag, json) VALUES (?1, ?2, ?3)",
                params![id, plan.etag, plan.json],
            )?;
            Ok(())
        })
    }

    pub fn cached_pack(&self, persona: &str, lang: &str) -> Result<Option<CachedPack>, StoreError> {
        self.conn
            .query_row(
                "SELECT version, etag, dir FROM cached_packs WHERE persona = ?1 AND lang = ?2",
                params![persona, lang],
                |r| {
                    Ok(CachedPack {
                        version: r.get(0)?,
                        etag: r.get(1)?,
                        dir: PathBuf::from(r.get::<_, String>(2)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Points the persona's pack at a fully installed folder: the one atomic step of an install.
    pub fn put_cached_pack(
        &mut self,
        persona: &str,
        lang: &str,
        pack: &CachedPack,
    ) -> Result<(), StoreError> {
        let dir = pack.dir.to_string_lossy().into_owned();
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO cached_packs (persona, lang, version, etag, dir) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![persona, lang, pack.version, pack.etag, dir],
            )?;
            Ok(())
        })
    }

    /// Runs a write as one `BEGIN IMMEDIATE` transaction.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let out = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

//! The on-device store (DESIGN §7): everything a runner records, kept safe on the phone until the
//! server has confirmed it.
//!
//! SQLite through one writer connection in WAL mode; every write is a `BEGIN IMMEDIATE`
//! transaction, so a kill at any moment leaves either all of a batch or none of it. The schema is
//! versioned by `PRAGMA user_version` and migrated forward on open; a database from a newer
//! build is refused, never touched.
//!
//! This first increment of the offline issue holds the schema and the run log; recording,
//! resume, preload and upload build on it. Must not: delete a run's rows before its upload was
//! confirmed, or write outside a transaction.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

/// Schema migrations, in order: entry `i` takes a database from version `i` to `i + 1`.
const MIGRATIONS: [&str; 1] = [r#"
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
"#];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for the database lock before giving up (another process holding it).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What went wrong with the store, naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path}: schema version {found} is newer than this build's {SCHEMA_VERSION}: update the app (the data is left untouched)"
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: String,
    pub plan_id: String,
    pub persona: String,
    pub finished: bool,
    pub samples: u64,
    pub effort: Option<u8>,
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

/// The store: one writer connection.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
}

fn u64_to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
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
        Ok(store)
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
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
            tx.execute_batch(sql).map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
            tx.pragma_update(None, "user_version", version as i64 + 1)
                .map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        }
        tx.commit().map_err(|source| StoreError::Sqlite { path, source })
    }

    /// `PRAGMA integrity_check`: `ok`, or what SQLite found.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn.pragma_query_value(None, "integrity_check", |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Starts a run.
    pub fn create_run(
        &mut self,
        id: &str,
        plan_id: &str,
        plan_json: &str,
        persona: &str,
        started_at_unix_ms: u64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (id, plan_id, plan_json, persona, started_at_unix_ms, state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'recording')",
                params![id, plan_id, plan_json, persona, u64_to_sql(started_at_unix_ms)],
            )?;
            tx.execute("INSERT INTO uploads (run_id) VALUES (?1)", params![id])?;
            Ok(())
        })
    }

    /// Appends a batch of engine inputs (`(t_ms, input JSON)`), cues spoken and log events, and
    /// moves the checkpoint, in one transaction: all of it is stored, or none.
    pub fn append(
        &mut self,
        run_id: &str,
        inputs: &[(u64, String)],
        cues: &[(u64, u64, String, String)],
        events: &[String],
        checkpoint: Checkpoint,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM samples WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )?;
            let mut insert = tx.prepare_cached("INSERT INTO samples (run_id, seq, t_ms, input_json) VALUES (?1, ?2, ?3, ?4)")?;
            for (i, (t_ms, json)) in inputs.iter().enumerate() {
                insert.execute(params![run_id, next + i as i64, u64_to_sql(*t_ms), json])?;
            }
            let mut cue = tx.prepare_cached(
                "INSERT OR REPLACE INTO cues_spoken (run_id, utterance_id, at_ms, kinds, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (id, at_ms, kinds, text) in cues {
                cue.execute(params![run_id, u64_to_sql(*id), u64_to_sql(*at_ms), kinds, text])?;
            }
            let first_event: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )?;
            let mut event = tx.prepare_cached("INSERT INTO events (run_id, seq, event_json) VALUES (?1, ?2, ?3)")?;
            for (i, json) in events.iter().enumerate() {
                event.execute(params![run_id, first_event + i as i64, json])?;
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

    /// Marks a run finished with its summary and check-in answer.
    pub fn finish_run(
        &mut self,
        run_id: &str,
        summary_json: &str,
        effort: Option<u8>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE runs SET state = 'finished', summary_json = ?2, effort = ?3 WHERE id = ?1",
                params![run_id, summary_json, effort],
            )?;
            if changed == 0 { Err(rusqlite::Error::QueryReturnedNoRows) } else { Ok(()) }
        })
    }

    /// The stored inputs of a run, in order (what resume replays).
    pub fn inputs(&self, run_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT t_ms, input_json FROM samples WHERE run_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![run_id], |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn checkpoint(&self, run_id: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.conn
            .query_row(
                "SELECT t_ms, samples, step_index, distance_m, moving_ms FROM checkpoints WHERE run_id = ?1",
                params![run_id],
                |r| {
                    Ok(Checkpoint {
                        t_ms: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        samples: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        step_index: r.get(2)?,
                        distance_m: r.get(3)?,
                        moving_ms: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
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
                "SELECT r.id, r.plan_id, r.persona, r.state, r.effort, \
                 (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) \
                 FROM runs r ORDER BY r.started_at_unix_ms, r.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredRun {
                    id: r.get(0)?,
                    plan_id: r.get(1)?,
                    persona: r.get(2)?,
                    finished: r.get::<_, String>(3)? == "finished",
                    effort: r.get(4)?,
                    samples: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Runs a write as one `BEGIN IMMEDIATE` transaction.
    fn write(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        f(&tx).map_err(err)?;
        tx.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests;

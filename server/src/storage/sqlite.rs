//! The embedded SQLite backend: the reference server's zero-set-up default, one process on one
//! machine (one connection behind a mutex). Must not: be shared by several server processes
//! (use PostgreSQL for that); open a database written by a newer schema.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use pacenote_sync::wire::{Chunk, FinalizeClaim, FinalizeReply, RunDownload, RunHeader, sha256_hex};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    ChunkPut, HeaderStep, HeldChunk, ServerRun, Storage, StorageError, assemble_download, chunk_ranges,
    chunk_step, contiguous_count, finalize_verdict, from_sql, header_step, internal, no_such_run,
    parse_header, repeated_in_another_chunk, to_sql, token_not_users,
};

/// The schema by version (`PRAGMA user_version`): entry `n` takes a database from version `n`
/// to `n + 1`. Version 1 is the schema of the first server, which had no version: its
/// statements are `IF NOT EXISTS`, so such a database is adopted as it is.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name),
    header_json TEXT NOT NULL,
    finalized INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks (
    run_id TEXT NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    digest TEXT NOT NULL,
    body BLOB NOT NULL,
    samples INTEGER NOT NULL,
    cues INTEGER NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    input_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cues (
    run_id TEXT NOT NULL REFERENCES runs(id),
    utterance_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    kinds TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (run_id, utterance_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    event_json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"#,
    // Version 2: a chunk is one row — its body holds its entries, and the ranges of their
    // numbers find a chunk that repeats another's — instead of a row per sample, cue and
    // event (thousands of rows a run, and most of a chunk's write time). The ranges come from
    // the rows being dropped; 60000 is a chunk's minute in ms (wire::CHUNK_MS).
    r#"
ALTER TABLE chunks ADD COLUMN sample_first INTEGER;
ALTER TABLE chunks ADD COLUMN sample_last INTEGER;
ALTER TABLE chunks ADD COLUMN cue_first INTEGER;
ALTER TABLE chunks ADD COLUMN cue_last INTEGER;
ALTER TABLE chunks ADD COLUMN event_first INTEGER;
ALTER TABLE chunks ADD COLUMN event_last INTEGER;
UPDATE chunks SET
    sample_first = (SELECT MIN(seq) FROM samples s WHERE s.run_id = chunks.run_id AND s.t_ms / 60000 = chunks.idx),
    sample_last = (SELECT MAX(seq) FROM samples s WHERE s.run_id = chunks.run_id AND s.t_ms / 60000 = chunks.idx),
    cue_first = (SELECT MIN(utterance_id) FROM cues c WHERE c.run_id = chunks.run_id AND c.at_ms / 60000 = chunks.idx),
    cue_last = (SELECT MAX(utterance_id) FROM cues c WHERE c.run_id = chunks.run_id AND c.at_ms / 60000 = chunks.idx),
    event_first = (SELECT MIN(seq) FROM events e WHERE e.run_id = chunks.run_id AND e.t_ms / 60000 = chunks.idx),
    event_last = (SELECT MAX(seq) FROM events e WHERE e.run_id = chunks.run_id AND e.t_ms / 60000 = chunks.idx);
DROP TABLE samples;
DROP TABLE cues;
DROP TABLE events;
"#,
    // Version 3: a run is keyed by its user and its id — one runner's ids are their own, and
    // nobody can take an id another will use (a run id was owned by whoever sent it first).
    r#"
CREATE TABLE runs_v3 (
    user TEXT NOT NULL REFERENCES users(name),
    id TEXT NOT NULL,
    header_json TEXT NOT NULL,
    finalized INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user, id)
) WITHOUT ROWID;
INSERT INTO runs_v3 (user, id, header_json, finalized) SELECT user, id, header_json, finalized FROM runs;
CREATE TABLE chunks_v3 (
    user TEXT NOT NULL,
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    digest TEXT NOT NULL,
    body BLOB NOT NULL,
    samples INTEGER NOT NULL,
    cues INTEGER NOT NULL,
    events INTEGER NOT NULL,
    sample_first INTEGER,
    sample_last INTEGER,
    cue_first INTEGER,
    cue_last INTEGER,
    event_first INTEGER,
    event_last INTEGER,
    PRIMARY KEY (user, run_id, idx),
    FOREIGN KEY (user, run_id) REFERENCES runs_v3 (user, id)
) WITHOUT ROWID;
INSERT INTO chunks_v3 SELECT r.user, c.run_id, c.idx, c.digest, c.body, c.samples, c.cues, c.events,
    c.sample_first, c.sample_last, c.cue_first, c.cue_last, c.event_first, c.event_last
    FROM chunks c JOIN runs r ON r.id = c.run_id;
DROP TABLE chunks;
DROP TABLE runs;
ALTER TABLE runs_v3 RENAME TO runs;
ALTER TABLE chunks_v3 RENAME TO chunks;
"#,
];

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        internal(e)
    }
}

/// Storage calls in flight on the one connection (see `concurrent_calls`).
const SQLITE_CALLS_IN_FLIGHT: usize = 4;

/// Embedded SQLite: one connection behind a mutex (the reference server is one process).
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Opens (creating) the database file; `:memory:` for a throwaway server. A database of a
    /// newer schema than this server knows is refused untouched.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StorageError::Internal(format!(
                "the database's schema is version {version}, newer than this server's {known}: \
                 run a newer pacenote (nothing was changed)"
            )));
        }
        for migration in &MIGRATIONS[from_sql(version) as usize..] {
            tx.execute_batch(migration)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn =
            self.conn.lock().map_err(|_| StorageError::Internal("a storage call panicked".into()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Whether this user's run is finalized; 404 when it is not theirs (or does not exist).
fn owned(tx: &rusqlite::Transaction<'_>, user: &str, run_id: &str) -> Result<bool, StorageError> {
    let finalized: Option<bool> = tx
        .query_row("SELECT finalized FROM runs WHERE id = ?1 AND user = ?2", params![run_id, user], |r| {
            r.get(0)
        })
        .optional()?;
    finalized.ok_or_else(|| no_such_run(run_id))
}

/// The run's chunks, index → digest.
fn held_chunks(
    tx: &rusqlite::Transaction<'_>,
    user: &str,
    run_id: &str,
) -> Result<BTreeMap<u64, HeldChunk>, StorageError> {
    let mut stmt = tx.prepare_cached(
        "SELECT idx, digest, samples, cues, events FROM chunks WHERE user = ?1 AND run_id = ?2",
    )?;
    let held = stmt
        .query_map(params![user, run_id], |r| {
            Ok((from_sql(r.get(0)?), HeldChunk::new(r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })?
        .collect::<Result<_, _>>()?;
    Ok(held)
}

impl Storage for SqliteStorage {
    fn add_user(&self, user: &str, token: &str) -> Result<(), StorageError> {
        self.with(|tx| {
            tx.execute(
                "INSERT INTO users (name, token_sha256) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET token_sha256 = excluded.token_sha256",
                params![user, sha256_hex(token.as_bytes())],
            )
            .map_err(|e| {
                StorageError::Conflict(format!("user {user}: {e} (is the token used by another user?)"))
            })?;
            Ok(())
        })
    }

    fn ping(&self) -> Result<(), StorageError> {
        self.with(|tx| Ok(tx.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    /// One connection serves one call at a time; with a few calls in flight, the others decode
    /// their chunks (outside the connection's lock) and are ready the moment it is free (with
    /// one, the bench's SQLite server lost a third of its chunks a second). The rest queue in
    /// the server, in order.
    fn concurrent_calls(&self) -> usize {
        SQLITE_CALLS_IN_FLIGHT
    }

    fn user_exists(&self, user: &str) -> Result<bool, StorageError> {
        self.with(|tx| {
            Ok(tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", params![user], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    fn revoke_token(&self, user: &str) -> Result<bool, StorageError> {
        // The column stays NOT NULL and UNIQUE: a revoked user's is a value no token hashes to
        // (a SHA-256 is 64 hex digits; this is not).
        self.with(|tx| {
            let changed = tx.execute(
                "UPDATE users SET token_sha256 = 'revoked:' || name WHERE name = ?1",
                params![user],
            )?;
            Ok(changed > 0)
        })
    }

    fn user_for_token(&self, token: &str) -> Result<Option<String>, StorageError> {
        self.with(|tx| {
            Ok(tx
                .query_row(
                    "SELECT name FROM users WHERE token_sha256 = ?1",
                    params![sha256_hex(token.as_bytes())],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    fn put_run(&self, user: &str, run_id: &str, header: &RunHeader) -> Result<(), StorageError> {
        let json = serde_json::to_string(header).map_err(internal)?;
        self.with(|tx| {
            let held: Option<(bool, String)> = tx
                .query_row(
                    "SELECT finalized, header_json FROM runs WHERE user = ?1 AND id = ?2",
                    params![user, run_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match header_step(held.as_ref().map(|(f, j)| (*f, j.as_str())), run_id, &json)? {
                HeaderStep::Insert => tx.execute(
                    "INSERT INTO runs (id, user, header_json) VALUES (?1, ?2, ?3)",
                    params![run_id, user, json],
                )?,
                HeaderStep::Update => tx.execute(
                    "UPDATE runs SET header_json = ?3 WHERE user = ?1 AND id = ?2",
                    params![user, run_id, json],
                )?,
                HeaderStep::Keep => 0,
            };
            Ok(())
        })
    }

    fn put_chunk(
        &self,
        user: &str,
        token_sha256: &str,
        run_id: &str,
        chunk: &Chunk,
        digest: &str,
        body: &[u8],
    ) -> Result<ChunkPut, StorageError> {
        self.with(|tx| {
            let token_holds = tx
                .prepare_cached("SELECT 1 FROM users WHERE name = ?1 AND token_sha256 = ?2")?
                .exists(params![user, token_sha256])?;
            if !token_holds {
                return Err(token_not_users());
            }
            let finalized = owned(tx, user, run_id)?;
            let held: Option<String> = tx
                .query_row(
                    "SELECT digest FROM chunks WHERE user = ?1 AND run_id = ?2 AND idx = ?3",
                    params![user, run_id, to_sql(chunk.index)],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(answer) = chunk_step(held.as_deref(), finalized, run_id, chunk.index, digest)? {
                return Ok(answer);
            }
            let [s0, s1, c0, c1, e0, e1] = chunk_ranges(chunk);
            let overlap: Option<(i64, i64)> = tx
                .prepare_cached(
                    "SELECT idx, CASE WHEN sample_first <= ?3 AND sample_last >= ?2 THEN 0 \
                     WHEN cue_first <= ?5 AND cue_last >= ?4 THEN 1 ELSE 2 END FROM chunks \
                     WHERE user = ?8 AND run_id = ?1 AND ((sample_first <= ?3 AND sample_last >= ?2) \
                     OR (cue_first <= ?5 AND cue_last >= ?4) OR (event_first <= ?7 AND event_last >= ?6)) LIMIT 1",
                )?
                .query_row(params![run_id, s0, s1, c0, c1, e0, e1, user], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((other, kind)) = overlap {
                return Err(repeated_in_another_chunk(chunk, kind as usize, other));
            }
            tx.prepare_cached(
                "INSERT INTO chunks (run_id, idx, digest, body, samples, cues, events, sample_first, sample_last, \
                 cue_first, cue_last, event_first, event_last, user) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                run_id,
                to_sql(chunk.index),
                digest,
                body,
                chunk.samples.len() as i64,
                chunk.cues.len() as i64,
                chunk.events.len() as i64,
                s0,
                s1,
                c0,
                c1,
                e0,
                e1,
                user
            ])?;
            Ok(ChunkPut::Stored)
        })
    }

    fn cursor(&self, user: &str, run_id: &str) -> Result<u64, StorageError> {
        self.with(|tx| {
            owned(tx, user, run_id)?;
            Ok(contiguous_count(held_chunks(tx, user, run_id)?.into_keys()))
        })
    }

    fn finalize(
        &self,
        user: &str,
        run_id: &str,
        claim: &FinalizeClaim,
    ) -> Result<FinalizeReply, StorageError> {
        self.with(|tx| {
            owned(tx, user, run_id)?;
            let reply = finalize_verdict(&held_chunks(tx, user, run_id)?, claim)?;
            if reply.confirmed {
                tx.execute(
                    "UPDATE runs SET finalized = 1 WHERE user = ?1 AND id = ?2",
                    params![user, run_id],
                )?;
            }
            Ok(reply)
        })
    }

    fn runs_page(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ServerRun>, StorageError> {
        self.with(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT r.id, r.header_json, r.finalized, \
                 (SELECT COUNT(*) FROM chunks c WHERE c.user = r.user AND c.run_id = r.id), \
                 (SELECT COALESCE(SUM(c.samples), 0) FROM chunks c WHERE c.user = r.user AND c.run_id = r.id) \
                 FROM runs r WHERE r.user = ?1 AND r.id > ?2 ORDER BY r.id LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![user, after.unwrap_or_default(), to_sql(limit as u64)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, header, finalized, chunks, samples)| {
                    Ok(ServerRun {
                        header: parse_header(&header)?,
                        id,
                        finalized,
                        chunks: from_sql(chunks),
                        samples: from_sql(samples),
                    })
                })
                .collect()
        })
    }

    fn run_download(&self, user: &str, run_id: &str) -> Result<RunDownload, StorageError> {
        self.with(|tx| {
            let (header, finalized): (String, bool) = tx
                .query_row(
                    "SELECT header_json, finalized FROM runs WHERE id = ?1 AND user = ?2",
                    params![run_id, user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| no_such_run(run_id))?;
            let mut stmt = tx.prepare_cached(
                "SELECT idx, body FROM chunks WHERE user = ?1 AND run_id = ?2 ORDER BY idx",
            )?;
            let bodies = stmt
                .query_map(params![user, run_id], |r| Ok((from_sql(r.get(0)?), r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            assemble_download(run_id, parse_header(&header)?, finalized, bodies)
        })
    }
}

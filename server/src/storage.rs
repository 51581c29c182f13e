//! Where the server keeps users and runs: a trait, so that PostgreSQL can follow the embedded
//! SQLite of the reference server (DESIGN §7). Duplicates are dropped by primary keys — a
//! chunk is keyed by run and index, a sample by run and sequence number — so any number of
//! stateless server nodes could share one database. Must not: let one user see or change
//! another's runs; accept a chunk that changes what was already stored.

use std::path::Path;
use std::sync::Mutex;

use pacenote_sync::wire::{Chunk, FinalizeClaim, FinalizeReply, RunHeader, run_digest, sha256_hex};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// What a storage call can fail with, as the HTTP layer maps it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// 404: no such run for this user (another user's run looks the same).
    #[error("{0}")]
    NotFound(String),
    /// 409: the request contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    /// 500.
    #[error("storage: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Whether a chunk was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkPut {
    Stored,
    /// The same chunk (same digest) was held already: a retry or a duplicate delivery.
    AlreadyHeld,
}

/// A run as the server holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRun {
    pub id: String,
    pub header: RunHeader,
    pub finalized: bool,
    pub chunks: u64,
    pub samples: u64,
}

/// The storage behind the server.
pub trait Storage: Send + Sync + 'static {
    /// Registers a user with a bearer token (stored as its SHA-256).
    fn add_user(&self, user: &str, token: &str) -> Result<(), StorageError>;
    fn user_for_token(&self, token: &str) -> Result<Option<String>, StorageError>;
    /// Whether the database answers (for a load balancer's health check).
    fn ping(&self) -> Result<(), StorageError>;
    /// Whether `user` exists (with a token or revoked).
    fn user_exists(&self, user: &str) -> Result<bool, StorageError>;
    /// Takes `user`'s token away (their runs stay); `false` when there is no such user.
    fn revoke_token(&self, user: &str) -> Result<bool, StorageError>;
    /// Creates or updates a run's header. A run id is owned by the user who first sent it.
    fn put_run(&self, user: &str, run_id: &str, header: &RunHeader) -> Result<(), StorageError>;
    /// Stores chunk `chunk.index` (with the digest of its JSON and its compressed body).
    fn put_chunk(
        &self,
        user: &str,
        run_id: &str,
        chunk: &Chunk,
        digest: &str,
        body: &[u8],
    ) -> Result<ChunkPut, StorageError>;
    /// How many chunks are held contiguously from chunk 0.
    fn cursor(&self, user: &str, run_id: &str) -> Result<u64, StorageError>;
    /// Confirms the run when the server holds exactly what the client claims.
    fn finalize(
        &self,
        user: &str,
        run_id: &str,
        claim: &FinalizeClaim,
    ) -> Result<FinalizeReply, StorageError>;
    /// The user's runs.
    fn runs(&self, user: &str) -> Result<Vec<ServerRun>, StorageError>;
    /// A run's samples in order: `(seq, t_ms, input JSON)`.
    fn samples(&self, user: &str, run_id: &str) -> Result<Vec<(u64, u64, String)>, StorageError>;
}

const SCHEMA: &str = r#"
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
"#;

fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Embedded SQLite: one connection behind a mutex (the reference server is one process).
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Opens (creating) the database file; `:memory:` for a throwaway server.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
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

/// The run, if it is this user's; 404 otherwise (whether or not someone else has it).
fn owned(tx: &rusqlite::Transaction<'_>, user: &str, run_id: &str) -> Result<bool, StorageError> {
    let finalized: Option<i64> = tx
        .query_row("SELECT finalized FROM runs WHERE id = ?1 AND user = ?2", params![run_id, user], |r| {
            r.get(0)
        })
        .optional()?;
    finalized.map(|f| f != 0).ok_or_else(|| {
        StorageError::NotFound(format!("no run {run_id}: send its header (PUT /v1/runs/{run_id}) first"))
    })
}

fn contiguous(tx: &rusqlite::Transaction<'_>, run_id: &str) -> Result<Vec<(u64, String)>, StorageError> {
    let mut stmt = tx.prepare_cached("SELECT idx, digest FROM chunks WHERE run_id = ?1 ORDER BY idx")?;
    let held = stmt
        .query_map(params![run_id], |r| Ok((from_sql(r.get(0)?), r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(held.into_iter().enumerate().take_while(|(i, (idx, _))| *i as u64 == *idx).map(|(_, c)| c).collect())
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
        let json = serde_json::to_string(header).map_err(|e| StorageError::Internal(e.to_string()))?;
        self.with(|tx| {
            let held: Option<(String, bool, String)> = tx
                .query_row(
                    "SELECT user, finalized, header_json FROM runs WHERE id = ?1",
                    params![run_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match held {
                None => {
                    tx.execute(
                        "INSERT INTO runs (id, user, header_json) VALUES (?1, ?2, ?3)",
                        params![run_id, user, json],
                    )?;
                }
                // A finalized run is what the phone deleted its copy for: the same header again
                // (a retry) is fine, another is refused.
                Some((owner, true, held_json)) if owner == user => {
                    if held_json != json {
                        return Err(StorageError::Conflict(format!(
                            "run {run_id} is finalized: its header no longer changes"
                        )));
                    }
                }
                Some((owner, false, _)) if owner == user => {
                    tx.execute("UPDATE runs SET header_json = ?2 WHERE id = ?1", params![run_id, json])?;
                }
                Some(_) => {
                    return Err(StorageError::Conflict(format!("run id {run_id} is taken: pick a new id")));
                }
            }
            Ok(())
        })
    }

    fn put_chunk(
        &self,
        user: &str,
        run_id: &str,
        chunk: &Chunk,
        digest: &str,
        body: &[u8],
    ) -> Result<ChunkPut, StorageError> {
        self.with(|tx| {
            let finalized = owned(tx, user, run_id)?;
            let held: Option<String> = tx
                .query_row(
                    "SELECT digest FROM chunks WHERE run_id = ?1 AND idx = ?2",
                    params![run_id, to_sql(chunk.index)],
                    |r| r.get(0),
                )
                .optional()?;
            match held {
                Some(d) if d == digest => return Ok(ChunkPut::AlreadyHeld),
                Some(_) => {
                    return Err(StorageError::Conflict(format!(
                        "chunk {} of run {run_id} is held with different content: chunks never change",
                        chunk.index
                    )));
                }
                None if finalized => {
                    return Err(StorageError::Conflict(format!("run {run_id} is finalized: it takes no new chunks")));
                }
                None => {}
            }
            tx.execute(
                "INSERT INTO chunks (run_id, idx, digest, body, samples, cues, events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run_id,
                    to_sql(chunk.index),
                    digest,
                    body,
                    chunk.samples.len() as i64,
                    chunk.cues.len() as i64,
                    chunk.events.len() as i64
                ],
            )?;
            let conflict = |what: &str, e: rusqlite::Error| {
                StorageError::Conflict(format!("chunk {} repeats a {what} held in another chunk: {e}", chunk.index))
            };
            for s in &chunk.samples {
                tx.execute(
                    "INSERT INTO samples (run_id, seq, t_ms, input_json) VALUES (?1, ?2, ?3, ?4)",
                    params![run_id, to_sql(s.seq), to_sql(s.t_ms), s.input.get()],
                )
                .map_err(|e| conflict("sample", e))?;
            }
            for c in &chunk.cues {
                tx.execute(
                    "INSERT INTO cues (run_id, utterance_id, at_ms, kinds, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![run_id, to_sql(c.utterance_id), to_sql(c.at_ms), c.kinds, c.text],
                )
                .map_err(|e| conflict("cue", e))?;
            }
            for e in &chunk.events {
                tx.execute(
                    "INSERT INTO events (run_id, seq, t_ms, event_json) VALUES (?1, ?2, ?3, ?4)",
                    params![run_id, to_sql(e.seq), to_sql(e.t_ms), e.event.to_string()],
                )
                .map_err(|err| conflict("event", err))?;
            }
            Ok(ChunkPut::Stored)
        })
    }

    fn cursor(&self, user: &str, run_id: &str) -> Result<u64, StorageError> {
        self.with(|tx| {
            owned(tx, user, run_id)?;
            Ok(contiguous(tx, run_id)?.len() as u64)
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
            let mut stmt = tx.prepare_cached("SELECT idx FROM chunks WHERE run_id = ?1")?;
            let held: std::collections::BTreeSet<u64> =
                stmt.query_map(params![run_id], |r| Ok(from_sql(r.get(0)?)))?.collect::<Result<_, _>>()?;
            let missing: Vec<u64> = (0..claim.chunks).filter(|i| !held.contains(i)).collect();
            if !missing.is_empty() {
                return Ok(FinalizeReply {
                    confirmed: false,
                    message: format!("{} of {} chunks are missing: send them, then finalize again", missing.len(), claim.chunks),
                    missing,
                });
            }
            if let Some(extra) = held.iter().find(|i| **i >= claim.chunks) {
                return Err(StorageError::Conflict(format!(
                    "the server holds chunk {extra} but the claim says {} chunks",
                    claim.chunks
                )));
            }
            let digests = contiguous(tx, run_id)?;
            let digest = run_digest(digests.iter().map(|(_, d)| d.as_str()));
            let (samples, cues, events): (i64, i64, i64) = tx.query_row(
                "SELECT COALESCE(SUM(samples), 0), COALESCE(SUM(cues), 0), COALESCE(SUM(events), 0) FROM chunks WHERE run_id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let held_counts = (from_sql(samples), from_sql(cues), from_sql(events));
            if held_counts != (claim.samples, claim.cues, claim.events) || digest != claim.digest {
                return Err(StorageError::Conflict(format!(
                    "the server holds {} samples, {} cues, {} events (digest {digest}); the claim is {} samples, {} cues, {} events (digest {})",
                    held_counts.0, held_counts.1, held_counts.2, claim.samples, claim.cues, claim.events, claim.digest
                )));
            }
            tx.execute("UPDATE runs SET finalized = 1 WHERE id = ?1", params![run_id])?;
            Ok(FinalizeReply { confirmed: true, missing: Vec::new(), message: "the whole run is held".into() })
        })
    }

    fn runs(&self, user: &str) -> Result<Vec<ServerRun>, StorageError> {
        self.with(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT r.id, r.header_json, r.finalized, \
                 (SELECT COUNT(*) FROM chunks c WHERE c.run_id = r.id), \
                 (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id) \
                 FROM runs r WHERE r.user = ?1 ORDER BY r.id",
            )?;
            let rows = stmt
                .query_map(params![user], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, header, finalized, chunks, samples)| {
                    Ok(ServerRun {
                        header: serde_json::from_str(&header)
                            .map_err(|e| StorageError::Internal(e.to_string()))?,
                        id,
                        finalized: finalized != 0,
                        chunks: from_sql(chunks),
                        samples: from_sql(samples),
                    })
                })
                .collect()
        })
    }

    fn samples(&self, user: &str, run_id: &str) -> Result<Vec<(u64, u64, String)>, StorageError> {
        self.with(|tx| {
            owned(tx, user, run_id)?;
            let mut stmt = tx
                .prepare_cached("SELECT seq, t_ms, input_json FROM samples WHERE run_id = ?1 ORDER BY seq")?;
            let rows = stmt
                .query_map(params![run_id], |r| Ok((from_sql(r.get(0)?), from_sql(r.get(1)?), r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

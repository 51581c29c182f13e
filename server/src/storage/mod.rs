//! Where the server keeps users and runs: a trait with two backends, the embedded SQLite of the
//! single-process reference server ([`SqliteStorage`]) and PostgreSQL for several stateless
//! instances over one database ([`PostgresStorage`]) (DESIGN §7). Duplicates are dropped by
//! primary keys — a chunk is keyed by run and index, a sample by run and sequence number — and
//! a run's writes are serialised by the database (a transaction holding the run), never by
//! process memory, so any instance can take any request. The decisions both backends share
//! (what a header, a chunk or a finalize claim does to what is held) live here, once.
//!
//! Must not: let one user see or change another's runs; accept a chunk that changes what was
//! already stored; confirm a run the database does not hold in full.

mod pg;
mod sqlite;

use std::collections::BTreeMap;

use pacenote_sync::wire::{
    Chunk, FinalizeClaim, FinalizeReply, RunDownload, RunHeader, RunListing, WireCue, WireEvent, WireSample,
    run_digest,
};

pub use pg::{DEFAULT_MAX_CONNECTIONS, PostgresStorage};
pub use sqlite::SqliteStorage;

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

/// Whether a chunk was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkPut {
    Stored,
    /// The same chunk (same digest) was held already: a retry or a duplicate delivery.
    AlreadyHeld,
}

/// A run as the server holds it (as `GET /v1/runs` lists it).
pub type ServerRun = RunListing;

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
    /// Up to `limit` of the user's runs in id order, after the id `after` (from the first
    /// when `None`).
    fn runs_page(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ServerRun>, StorageError>;
    /// The user's run whole: header, samples, cues and events in order.
    fn run_download(&self, user: &str, run_id: &str) -> Result<RunDownload, StorageError>;

    /// All the user's runs, in id order.
    fn runs(&self, user: &str) -> Result<Vec<ServerRun>, StorageError> {
        const PAGE: usize = 1000;
        let mut all: Vec<ServerRun> = Vec::new();
        loop {
            let page = self.runs_page(user, all.last().map(|r| r.id.as_str()), PAGE)?;
            let last_page = page.len() < PAGE;
            all.extend(page);
            if last_page {
                return Ok(all);
            }
        }
    }

    /// A run's samples in order: `(seq, t_ms, input JSON)`.
    fn samples(&self, user: &str, run_id: &str) -> Result<Vec<(u64, u64, String)>, StorageError> {
        Ok(self
            .run_download(user, run_id)?
            .samples
            .into_iter()
            .map(|s| (s.seq, s.t_ms, s.input.get().to_owned()))
            .collect())
    }
}

/// The 404 for a run that is not this user's (whether or not someone else has it).
fn no_such_run(run_id: &str) -> StorageError {
    StorageError::NotFound(format!("no run {run_id}: send its header (PUT /v1/runs/{run_id}) first"))
}

/// What a run header does, given the run as held: `(owner, finalized, header JSON)`.
#[derive(Debug, PartialEq, Eq)]
enum HeaderStep {
    Insert,
    Update,
    /// The same header again on a finalized run: a retry, nothing to write.
    Keep,
}

fn header_step(
    held: Option<(&str, bool, &str)>,
    user: &str,
    run_id: &str,
    json: &str,
) -> Result<HeaderStep, StorageError> {
    match held {
        None => Ok(HeaderStep::Insert),
        // A finalized run is what the phone deleted its copy for: the same header again (a
        // retry) is fine, another is refused.
        Some((owner, true, held_json)) if owner == user => {
            if held_json == json {
                Ok(HeaderStep::Keep)
            } else {
                Err(StorageError::Conflict(format!(
                    "run {run_id} is finalized: its header no longer changes"
                )))
            }
        }
        Some((owner, false, _)) if owner == user => Ok(HeaderStep::Update),
        Some(_) => Err(StorageError::Conflict(format!("run id {run_id} is taken: pick a new id"))),
    }
}

/// What a chunk does, given the digest held at its index and whether the run is finalized:
/// `None` to store it.
fn chunk_step(
    held_digest: Option<&str>,
    finalized: bool,
    run_id: &str,
    index: u64,
    digest: &str,
) -> Result<Option<ChunkPut>, StorageError> {
    match held_digest {
        Some(d) if d == digest => Ok(Some(ChunkPut::AlreadyHeld)),
        Some(_) => Err(StorageError::Conflict(format!(
            "chunk {index} of run {run_id} is held with different content: chunks never change"
        ))),
        None if finalized => {
            Err(StorageError::Conflict(format!("run {run_id} is finalized: it takes no new chunks")))
        }
        None => Ok(None),
    }
}

/// The conflict when a chunk repeats a sample, cue or event another chunk holds.
fn repeated_in_another_chunk(chunk: &Chunk, what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Conflict(format!("chunk {} repeats a {what} held in another chunk: {e}", chunk.index))
}

/// How many chunks are held contiguously from chunk 0, from the held indices in order.
fn contiguous_count(held: impl IntoIterator<Item = u64>) -> u64 {
    held.into_iter().enumerate().take_while(|(i, idx)| *i as u64 == *idx).count() as u64
}

/// Samples, cues and events held, summed over a run's chunks.
type Counts = (u64, u64, u64);

/// The answer to a finalize claim, given the held chunks (index → digest) and their counts. A
/// confirmed reply means the caller marks the run finalized.
fn finalize_verdict(
    held: &BTreeMap<u64, String>,
    counts: Counts,
    claim: &FinalizeClaim,
) -> Result<FinalizeReply, StorageError> {
    let missing: Vec<u64> = (0..claim.chunks).filter(|i| !held.contains_key(i)).collect();
    if !missing.is_empty() {
        return Ok(FinalizeReply {
            confirmed: false,
            message: format!(
                "{} of {} chunks are missing: send them, then finalize again",
                missing.len(),
                claim.chunks
            ),
            missing,
        });
    }
    if let Some(extra) = held.keys().find(|i| **i >= claim.chunks) {
        return Err(StorageError::Conflict(format!(
            "the server holds chunk {extra} but the claim says {} chunks",
            claim.chunks
        )));
    }
    // Every chunk 0..claim.chunks is held and nothing beyond: the map is the contiguous run.
    let digest = run_digest(held.values().map(String::as_str));
    if counts != (claim.samples, claim.cues, claim.events) || digest != claim.digest {
        return Err(StorageError::Conflict(format!(
            "the server holds {} samples, {} cues, {} events (digest {digest}); the claim is {} samples, {} cues, {} events (digest {})",
            counts.0, counts.1, counts.2, claim.samples, claim.cues, claim.events, claim.digest
        )));
    }
    Ok(FinalizeReply { confirmed: true, missing: Vec::new(), message: "the whole run is held".into() })
}

/// A stored input back as a wire sample (its JSON was checked when its chunk arrived).
fn wire_sample(seq: i64, t_ms: i64, input_json: String) -> Result<WireSample, StorageError> {
    Ok(WireSample {
        seq: from_sql(seq),
        t_ms: from_sql(t_ms),
        input: serde_json::value::RawValue::from_string(input_json).map_err(internal)?,
    })
}

fn wire_cue(utterance_id: i64, at_ms: i64, kinds: String, text: String) -> WireCue {
    WireCue { utterance_id: from_sql(utterance_id), at_ms: from_sql(at_ms), kinds, text }
}

fn wire_event(seq: i64, t_ms: i64, json: &str) -> Result<WireEvent, StorageError> {
    Ok(WireEvent {
        seq: from_sql(seq),
        t_ms: from_sql(t_ms),
        event: serde_json::from_str(json).map_err(internal)?,
    })
}

fn parse_header(json: &str) -> Result<RunHeader, StorageError> {
    serde_json::from_str(json).map_err(internal)
}

/// Integers go to SQL as i64 (neither database has an unsigned 64-bit type).
fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn internal(e: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pacenote_sync::wire::{WireSample, encode_chunk};

    use super::*;
    use crate::test_backends::{Backend, TestDatabase};

    crate::on_both_backends!(
        one_chunk_sent_by_many_at_once_is_stored_once,
        a_newer_schema_is_refused_untouched,
        a_token_belongs_to_one_user,
    );

    fn header() -> RunHeader {
        serde_json::from_str(r#"{"plan_id":"p","persona":"stone","started_at_unix_ms":1}"#).expect("header")
    }

    fn chunk(index: u64, seqs: std::ops::Range<u64>) -> (Chunk, String, Vec<u8>) {
        let chunk = Chunk {
            index,
            samples: seqs
                .map(|seq| WireSample {
                    seq,
                    t_ms: seq * 1000,
                    input: serde_json::value::RawValue::from_string(format!(
                        r#"{{"type":"tick","t_ms":{}}}"#,
                        seq * 1000
                    ))
                    .expect("raw"),
                })
                .collect(),
            cues: vec![],
            events: vec![],
        };
        let encoded = encode_chunk(&chunk).expect("encode");
        (chunk, encoded.digest, encoded.body)
    }

    /// Eight requests carrying the same chunk at once (retries racing on two instances): one
    /// stores it, the rest see it held, and its samples are held once.
    fn one_chunk_sent_by_many_at_once_is_stored_once(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let db = TestDatabase::new(backend, dir.path());
        let storage = db.open();
        storage.add_user("alice", "a").expect("user");
        storage.put_run("alice", "r1", &header()).expect("run");
        let (c, digest, body) = chunk(0, 0..60);
        const SENDERS: usize = 8;
        let together = std::sync::Barrier::new(SENDERS);
        let answers: Vec<ChunkPut> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..SENDERS)
                .map(|_| {
                    // Each on its own connection (its own instance, for PostgreSQL), all at once.
                    let storage = db.open();
                    let (c, digest, body, together) = (&c, &digest, &body, &together);
                    scope.spawn(move || {
                        storage.ping().expect("ping");
                        together.wait();
                        storage.put_chunk("alice", "r1", c, digest, body).expect("put")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(answers.iter().filter(|a| **a == ChunkPut::Stored).count(), 1, "{answers:?}");
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 60);
        assert_eq!(storage.cursor("alice", "r1").expect("cursor"), 1);
        // A chunk repeating another chunk's sample changes nothing.
        let (overlap, digest, body) = chunk(1, 59..70);
        assert!(matches!(
            storage.put_chunk("alice", "r1", &overlap, &digest, &body),
            Err(StorageError::Conflict(m)) if m.contains("repeats a sample")
        ));
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 60);
        assert_eq!(storage.cursor("alice", "r1").expect("cursor"), 1);
    }

    /// A database a newer server migrated is not opened, and not changed.
    fn a_newer_schema_is_refused_untouched(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let db = TestDatabase::new(backend, dir.path());
        db.open().add_user("alice", "a").expect("user");
        let future = match &db {
            TestDatabase::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open");
                conn.pragma_update(None, "user_version", 99).expect("version");
                Box::new(move || {
                    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).expect("v")
                }) as Box<dyn Fn() -> i64>
            }
            TestDatabase::Postgres(url) => {
                let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect");
                client.execute("UPDATE schema_version SET version = 99", &[]).expect("version");
                let client = std::sync::Mutex::new(client);
                Box::new(move || {
                    let v: i32 = client
                        .lock()
                        .expect("lock")
                        .query_one("SELECT version FROM schema_version", &[])
                        .expect("v")
                        .get(0);
                    i64::from(v)
                })
            }
        };
        let refused = match &db {
            TestDatabase::Sqlite(path) => SqliteStorage::open(path).map(|_| ()),
            TestDatabase::Postgres(url) => PostgresStorage::connect(url, 1).map(|_| ()),
        };
        let message = refused.expect_err("refused").to_string();
        assert!(message.contains("version 99, newer than this server's"), "{message}");
        assert_eq!(future(), 99, "the version is left as it was");
    }

    fn a_token_belongs_to_one_user(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let storage: Arc<dyn Storage> = TestDatabase::new(backend, dir.path()).open();
        storage.add_user("alice", "same").expect("alice");
        assert!(matches!(storage.add_user("bob", "same"), Err(StorageError::Conflict(_))));
        assert_eq!(storage.user_for_token("same").expect("q").as_deref(), Some("alice"));
        storage.add_user("alice", "rotated").expect("rotate");
        assert_eq!(storage.user_for_token("same").expect("q"), None);
        assert!(storage.revoke_token("alice").expect("revoke"));
        assert_eq!(storage.user_for_token("rotated").expect("q"), None);
        assert!(storage.user_exists("alice").expect("q"));
        assert!(!storage.revoke_token("nobody").expect("revoke"));
    }

    #[test]
    fn the_cursor_counts_chunks_held_from_the_first() {
        assert_eq!(contiguous_count([0, 1, 2, 4]), 3);
        assert_eq!(contiguous_count([1, 2]), 0);
        assert_eq!(contiguous_count([]), 0);
    }
}

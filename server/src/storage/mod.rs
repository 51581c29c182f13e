//! Where the server keeps users and runs: a trait with two backends, the embedded SQLite of the
//! single-process reference server ([`SqliteStorage`]) and PostgreSQL for several stateless
//! instances over one database ([`PostgresStorage`]) (DESIGN §7). A chunk is kept as one row:
//! its compressed body as the phone sent it (digest-checked), with the ranges of sample, cue
//! and event numbers it holds; the body is decoded again only when a run is downloaded. One row
//! per minute, not one per sample, is what lets a database take thousands of phones. Duplicates
//! are dropped by primary keys — a chunk is keyed by user, run and index — and
//! a run's writes are serialised by the database (a transaction holding the run), never by
//! process memory, so any instance can take any request. The decisions both backends share
//! (what a header, a chunk or a finalize claim does to what is held) live here, once.
//!
//! Must not: let one user see or change another's runs; accept a chunk that changes what was
//! already stored; confirm a run the database does not hold in full.

mod pg;
pub(crate) mod sqlite;

use std::collections::BTreeMap;

use pacenote_sync::wire::{
    Chunk, FinalizeClaim, FinalizeReply, RunDownload, RunHeader, RunListing, run_digest,
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
    /// 401: the token the write came with is not (or no longer) the user's.
    #[error("{0}")]
    Unauthorized(String),
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
    /// How many calls this storage serves at once (its connections); the server queues the
    /// rest in arrival order.
    fn concurrent_calls(&self) -> usize;
    /// Whether `user` exists (with a token or revoked).
    fn user_exists(&self, user: &str) -> Result<bool, StorageError>;
    /// Takes `user`'s token away (their runs stay); `false` when there is no such user.
    fn revoke_token(&self, user: &str) -> Result<bool, StorageError>;
    /// Creates or updates the user's run's header (run ids are per user).
    fn put_run(&self, user: &str, run_id: &str, header: &RunHeader) -> Result<(), StorageError>;
    /// Stores chunk `chunk.index` (with the digest of its JSON and its compressed body), if
    /// `token_sha256` is still `user`'s token: checked in the write's own statement or
    /// transaction, so a server may take the user from its cache of tokens (the chunk is the
    /// one request a phone sends by the hundred) and a token revoked or rotated a moment
    /// before still writes nothing ([`StorageError::Unauthorized`]).
    fn put_chunk(
        &self,
        user: &str,
        token_sha256: &str,
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

/// What a request with a token that is no user's (or no longer) is told.
pub const UNKNOWN_TOKEN: &str = "unknown token: ask for a new one";

/// The 401 for a write whose token is not (or no longer) the user's.
fn token_not_users() -> StorageError {
    StorageError::Unauthorized(UNKNOWN_TOKEN.into())
}

/// The 404 for a run that is not this user's (whether or not someone else has it).
fn no_such_run(run_id: &str) -> StorageError {
    StorageError::NotFound(format!("no run {run_id}: send its header (PUT /v1/runs/{run_id}) first"))
}

/// What a run header does, given this user's run of that id as held: `(finalized, header
/// JSON)`. Run ids are the user's own (runs are keyed by user and id), so nobody can take an id
/// another runner's phone will use.
#[derive(Debug, PartialEq, Eq)]
enum HeaderStep {
    Insert,
    Update,
    /// The same header again on a finalized run: a retry, nothing to write.
    Keep,
}

fn header_step(held: Option<(bool, &str)>, run_id: &str, json: &str) -> Result<HeaderStep, StorageError> {
    match held {
        None => Ok(HeaderStep::Insert),
        // A finalized run is what the phone deleted its copy for: the same header again (a
        // retry) is fine, another is refused.
        Some((true, held_json)) if held_json == json => Ok(HeaderStep::Keep),
        Some((true, _)) => {
            Err(StorageError::Conflict(format!("run {run_id} is finalized: its header no longer changes")))
        }
        Some((false, _)) => Ok(HeaderStep::Update),
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

/// The first and last numbers of a chunk's samples, cues and events (`None` for none), in the
/// order of the chunk columns `sample_first, sample_last, cue_first, cue_last, event_first,
/// event_last`: two chunks of a run whose ranges of one kind overlap repeat an entry (a client
/// bug), and the second is refused.
fn chunk_ranges(chunk: &Chunk) -> [Option<i64>; 6] {
    let range = |numbers: &mut dyn Iterator<Item = u64>| {
        numbers.fold((None, None), |(lo, hi): (Option<i64>, Option<i64>), n| {
            let n = to_sql(n);
            (Some(lo.map_or(n, |lo| lo.min(n))), Some(hi.map_or(n, |hi| hi.max(n))))
        })
    };
    let (s0, s1) = range(&mut chunk.samples.iter().map(|s| s.seq));
    let (c0, c1) = range(&mut chunk.cues.iter().map(|c| c.utterance_id));
    let (e0, e1) = range(&mut chunk.events.iter().map(|e| e.seq));
    [s0, s1, c0, c1, e0, e1]
}

/// What [`chunk_ranges`] names each range.
const RANGE_KINDS: [&str; 3] = ["sample", "cue", "event"];

/// The conflict when a chunk repeats a sample, cue or event another chunk holds.
fn repeated_in_another_chunk(chunk: &Chunk, kind: usize, other: i64) -> StorageError {
    StorageError::Conflict(format!(
        "chunk {} repeats a {} held in chunk {other}: each entry goes in one chunk only",
        chunk.index,
        RANGE_KINDS.get(kind).copied().unwrap_or("entry")
    ))
}

/// A run whole from its held chunk bodies (index, body in either encoding), in index order.
fn assemble_download(
    id: &str,
    header: RunHeader,
    finalized: bool,
    bodies: Vec<(u64, Vec<u8>)>,
) -> Result<RunDownload, StorageError> {
    let mut run = RunDownload {
        id: id.to_owned(),
        header,
        finalized,
        samples: Vec::new(),
        cues: Vec::new(),
        events: Vec::new(),
    };
    for (index, body) in bodies {
        let (chunk, _) = pacenote_sync::wire::decode_chunk(index, &body)
            .map_err(|e| internal(format!("held chunk {index} of run {id} does not decode: {e}")))?;
        run.samples.extend(chunk.samples);
        run.cues.extend(chunk.cues);
        run.events.extend(chunk.events);
    }
    run.samples.sort_by_key(|s| s.seq);
    run.cues.sort_by_key(|c| c.utterance_id);
    run.events.sort_by_key(|e| e.seq);
    Ok(run)
}

/// How many chunks are held contiguously from chunk 0, from the held indices in order.
fn contiguous_count(held: impl IntoIterator<Item = u64>) -> u64 {
    held.into_iter().enumerate().take_while(|(i, idx)| *i as u64 == *idx).count() as u64
}

/// A held chunk as the cursor and a finalize read it: its digest and its samples, cues and
/// events.
struct HeldChunk {
    digest: String,
    counts: (u64, u64, u64),
}

impl HeldChunk {
    fn new(digest: String, samples: i64, cues: i64, events: i64) -> Self {
        Self { digest, counts: (from_sql(samples), from_sql(cues), from_sql(events)) }
    }
}

/// The answer to a finalize claim, given the run's held chunks by index. A confirmed reply
/// means the caller marks the run finalized.
fn finalize_verdict(
    held: &BTreeMap<u64, HeldChunk>,
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
    let digest = run_digest(held.values().map(|c| c.digest.as_str()));
    let counts =
        held.values().fold((0, 0, 0), |(s, c, e), h| (s + h.counts.0, c + h.counts.1, e + h.counts.2));
    if counts != (claim.samples, claim.cues, claim.events) || digest != claim.digest {
        return Err(StorageError::Conflict(format!(
            "the server holds {} samples, {} cues, {} events (digest {digest}); the claim is {} samples, {} cues, {} events (digest {})",
            counts.0, counts.1, counts.2, claim.samples, claim.cues, claim.events, claim.digest
        )));
    }
    Ok(FinalizeReply { confirmed: true, missing: Vec::new(), message: "the whole run is held".into() })
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
pub(crate) mod tests {
    use std::sync::Arc;

    use pacenote_sync::wire::{WireCue, WireSample, encode_chunk, sha256_hex};

    use super::*;
    use crate::test_backends::{Backend, TestDatabase};

    crate::on_both_backends!(
        one_chunk_sent_by_many_at_once_is_stored_once,
        a_newer_schema_is_refused_untouched,
        a_token_belongs_to_one_user,
        a_finalized_run_never_holds_a_chunk_beyond_its_claim,
        a_chunk_overlapping_held_entries_anyhow_is_refused_even_racing,
        a_chunk_filling_a_gap_still_guards_the_entries_after_it,
    );

    fn header() -> RunHeader {
        serde_json::from_str(r#"{"plan_id":"p","persona":"stone","started_at_unix_ms":1}"#).expect("header")
    }

    /// A database on `backend` where user alice (token "a") has started run r1; the folder
    /// holding it lives as long as the first value.
    fn alice_with_run_r1(backend: Backend) -> (tempfile::TempDir, TestDatabase, Arc<dyn Storage>) {
        let dir = tempfile::tempdir().expect("dir");
        let db = TestDatabase::new(backend, dir.path());
        let storage = db.open();
        storage.add_user("alice", "a").expect("user");
        storage.put_run("alice", "r1", &header()).expect("run");
        (dir, db, storage)
    }

    /// Chunk `index` holding tick samples `seqs` (sample `seq` at `seq` seconds), with its
    /// digest and gzip body.
    pub(crate) fn chunk(index: u64, seqs: std::ops::Range<u64>) -> (Chunk, String, Vec<u8>) {
        timed_chunk(index, seqs, |_, seq| seq * 1000)
    }

    /// Chunk `index` holding tick samples `seqs`, the `k`-th numbered `seq` at `t_ms(k, seq)`,
    /// with its digest and body.
    fn timed_chunk(
        index: u64,
        seqs: std::ops::Range<u64>,
        t_ms: impl Fn(u64, u64) -> u64,
    ) -> (Chunk, String, Vec<u8>) {
        let chunk = Chunk {
            index,
            samples: seqs
                .enumerate()
                .map(|(k, seq)| {
                    let t_ms = t_ms(k as u64, seq);
                    let input = format!(r#"{{"type":"tick","t_ms":{t_ms}}}"#);
                    WireSample {
                        seq,
                        t_ms,
                        input: serde_json::value::RawValue::from_string(input).expect("raw"),
                    }
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
        let (_dir, db, storage) = alice_with_run_r1(backend);
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
                        storage.put_chunk("alice", &sha256_hex(b"a"), "r1", c, digest, body).expect("put")
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
            storage.put_chunk("alice", &sha256_hex(b"a"), "r1", &overlap, &digest, &body),
            Err(StorageError::Conflict(m)) if m.contains("repeats a sample")
        ));
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 60);
        assert_eq!(storage.cursor("alice", "r1").expect("cursor"), 1);
    }

    /// A chunk is refused whichever way its samples overlap held chunks (the end of one, the
    /// start of the next across a gap, inside one, covering several), and fits a gap exactly;
    /// chunks of one run that all overlap each other, sent at once on their own connections,
    /// store exactly one.
    fn a_chunk_overlapping_held_entries_anyhow_is_refused_even_racing(backend: Backend) {
        let (_dir, db, storage) = alice_with_run_r1(backend);
        let token = sha256_hex(b"a");
        // Chunk `index` holding samples numbered `seqs`, a millisecond apart in its own minute.
        let numbered =
            |index: u64, seqs: std::ops::Range<u64>| timed_chunk(index, seqs, |k, _| index * 60_000 + k);
        let put = |index: u64, seqs: std::ops::Range<u64>| {
            let (c, digest, body) = numbered(index, seqs);
            storage.put_chunk("alice", &token, "r1", &c, &digest, &body)
        };
        assert_eq!(put(0, 0..60).expect("chunk 0"), ChunkPut::Stored);
        assert_eq!(put(2, 100..110).expect("chunk 2"), ChunkPut::Stored);
        // (samples, the chunks it repeats: the message names one of them)
        let overlapping: [(std::ops::Range<u64>, &[u64]); 7] = [
            (109..120, &[2]),
            (50..70, &[0]),
            (95..105, &[2]),
            (105..106, &[2]),
            (0..200, &[0, 2]),
            (59..101, &[0, 2]),
            (61..101, &[2]),
        ];
        for (seqs, held_in) in overlapping {
            let refused = put(1, seqs.clone());
            assert!(
                matches!(&refused, Err(StorageError::Conflict(m))
                    if held_in.iter().any(|c| m.contains(&format!("held in chunk {c}:")))),
                "{seqs:?}: {refused:?}"
            );
        }
        assert_eq!(put(1, 60..100).expect("the gap"), ChunkPut::Stored);
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 110);

        const SENDERS: u64 = 8;
        for round in 0..20u64 {
            let run = format!("race{round}");
            storage.put_run("alice", &run, &header()).expect("run");
            let together = std::sync::Barrier::new(SENDERS as usize);
            let answers: Vec<Result<ChunkPut, StorageError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..SENDERS)
                    .map(|i| {
                        let storage = db.open();
                        let (run, token, together, numbered) = (&run, &token, &together, &numbered);
                        scope.spawn(move || {
                            let (c, digest, body) = numbered(i, 10 * i..10 * i + 100);
                            storage.ping().expect("ping");
                            together.wait();
                            storage.put_chunk("alice", token, run, &c, &digest, &body)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("thread")).collect()
            });
            let stored = answers.iter().filter(|a| matches!(a, Ok(ChunkPut::Stored))).count();
            let refused = answers.iter().filter(|a| matches!(a, Err(StorageError::Conflict(_)))).count();
            assert_eq!((stored, refused), (1, SENDERS as usize - 1), "round {round}: {answers:?}");
            assert_eq!(storage.samples("alice", &run).expect("samples").len(), 100);
        }
    }

    /// A chunk whose cue fills a gap (so it is checked against every held chunk, not only
    /// against the run's highest numbers) but whose samples run past the held ones counts for
    /// the chunks after it: one repeating its samples is refused, the next one is stored.
    fn a_chunk_filling_a_gap_still_guards_the_entries_after_it(backend: Backend) {
        let (_dir, _db, storage) = alice_with_run_r1(backend);
        let token = sha256_hex(b"a");
        let put = |index: u64, seqs: std::ops::Range<u64>, cue: Option<u64>| {
            let (mut c, ..) = chunk(index, seqs);
            c.cues.extend(cue.map(|utterance_id| WireCue {
                utterance_id,
                at_ms: index * 60_000 + 500,
                kinds: "pace".into(),
                text: "Ease off.".into(),
            }));
            let encoded = encode_chunk(&c).expect("encode");
            storage.put_chunk("alice", &token, "r1", &c, &encoded.digest, &encoded.body)
        };
        assert_eq!(put(0, 0..60, Some(0)).expect("chunk 0"), ChunkPut::Stored);
        assert_eq!(put(1, 60..120, Some(5)).expect("chunk 1"), ChunkPut::Stored);
        assert_eq!(put(2, 120..180, Some(3)).expect("chunk 2, its cue in the gap"), ChunkPut::Stored);
        let refused = put(3, 170..240, None);
        assert!(
            matches!(&refused, Err(StorageError::Conflict(m)) if m.contains("repeats a sample held in chunk 2")),
            "{refused:?}"
        );
        assert_eq!(put(3, 180..240, None).expect("chunk 3"), ChunkPut::Stored);
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 240);
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

    /// A finalize and a late chunk racing on two connections: one wins, never both (a run
    /// confirmed with one chunk must not then hold two).
    fn a_finalized_run_never_holds_a_chunk_beyond_its_claim(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let db = TestDatabase::new(backend, dir.path());
        let storage = db.open();
        storage.add_user("alice", "a").expect("user");
        for round in 0..20 {
            let run = format!("r{round}");
            storage.put_run("alice", &run, &header()).expect("run");
            let (first, digest, body) = chunk(0, 0..60);
            storage.put_chunk("alice", &sha256_hex(b"a"), &run, &first, &digest, &body).expect("chunk 0");
            let claim = FinalizeClaim {
                chunks: 1,
                samples: 60,
                cues: 0,
                events: 0,
                digest: run_digest([digest.as_str()]),
            };
            let (late, late_digest, late_body) = chunk(1, 60..120);
            let (finalizer, sender) = (db.open(), db.open());
            let together = std::sync::Barrier::new(2);
            let (finalized, stored) = std::thread::scope(|scope| {
                let f = scope.spawn(|| {
                    together.wait();
                    finalizer.finalize("alice", &run, &claim).is_ok_and(|r| r.confirmed)
                });
                let c = scope.spawn(|| {
                    together.wait();
                    sender
                        .put_chunk("alice", &sha256_hex(b"a"), &run, &late, &late_digest, &late_body)
                        .is_ok()
                });
                (f.join().expect("finalize"), c.join().expect("chunk"))
            });
            let held = storage.runs("alice").expect("runs").into_iter().find(|r| r.id == run).expect("run");
            assert!(finalized != stored, "round {round}: finalized {finalized}, late chunk stored {stored}");
            assert_eq!(
                (held.finalized, held.chunks),
                (finalized, if stored { 2 } else { 1 }),
                "round {round}"
            );
        }
    }

    fn a_token_belongs_to_one_user(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let storage: Arc<dyn Storage> = TestDatabase::new(backend, dir.path()).open();
        storage.add_user("alice", "same").expect("alice");
        assert!(matches!(storage.add_user("bob", "same"), Err(StorageError::Conflict(_))));
        assert_eq!(storage.user_for_token("same").expect("q").as_deref(), Some("alice"));
        storage.put_run("alice", "r1", &header()).expect("run");
        let write = |token: &str, index: u64| {
            let (c, digest, body) = chunk(index, index * 60..index * 60 + 60);
            storage.put_chunk("alice", &sha256_hex(token.as_bytes()), "r1", &c, &digest, &body)
        };
        assert_eq!(write("same", 0).expect("chunk 0"), ChunkPut::Stored);
        // A chunk's write checks the token itself (a server may have the user from a cache):
        // neither another user's token nor a rotated or revoked one writes anything.
        storage.add_user("bob", "bobs").expect("bob");
        assert!(matches!(write("bobs", 1), Err(StorageError::Unauthorized(_))));
        storage.add_user("alice", "rotated").expect("rotate");
        assert_eq!(storage.user_for_token("same").expect("q"), None);
        assert!(matches!(write("same", 1), Err(StorageError::Unauthorized(_))));
        // Even a retry of a chunk held already is told so only with a valid token.
        assert!(matches!(write("same", 0), Err(StorageError::Unauthorized(_))));
        assert_eq!(write("rotated", 1).expect("chunk 1"), ChunkPut::Stored);
        assert!(storage.revoke_token("alice").expect("revoke"));
        assert_eq!(storage.user_for_token("rotated").expect("q"), None);
        assert!(matches!(write("rotated", 2), Err(StorageError::Unauthorized(_))));
        assert_eq!(storage.cursor("alice", "r1").expect("cursor"), 2);
        assert!(storage.user_exists("alice").expect("q"));
        assert!(!storage.revoke_token("nobody").expect("revoke"));
    }

    /// A server database of the first schema (a row per sample, cue and event) opens as one
    /// row per chunk: the runs read back the same, and the migrated ranges still refuse a
    /// chunk that repeats a held sample.
    #[test]
    fn a_first_schema_database_is_migrated_with_its_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("old.db");
        let (c, digest, body) = chunk(0, 0..60);
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            conn.execute_batch(sqlite::MIGRATIONS[0]).expect("first schema");
            conn.execute("INSERT INTO users VALUES ('alice', 'x')", []).expect("user");
            let header = serde_json::to_string(&header()).expect("json");
            conn.execute("INSERT INTO runs VALUES ('r1', 'alice', ?1, 0)", [header]).expect("run");
            conn.execute(
                "INSERT INTO chunks VALUES ('r1', 0, ?1, ?2, 60, 0, 0)",
                rusqlite::params![digest, body],
            )
            .expect("chunk");
            for s in &c.samples {
                conn.execute(
                    "INSERT INTO samples VALUES ('r1', ?1, ?2, ?3)",
                    rusqlite::params![s.seq as i64, s.t_ms as i64, s.input.get()],
                )
                .expect("sample");
            }
        }
        let storage = SqliteStorage::open(&path).expect("migrated");
        let held = storage.samples("alice", "r1").expect("samples");
        let sent: Vec<(u64, u64, String)> =
            c.samples.iter().map(|s| (s.seq, s.t_ms, s.input.get().to_owned())).collect();
        assert_eq!(held, sent);
        a_migrated_run_refuses_a_repeat_and_takes_the_next(&storage);
        assert_eq!(storage.runs("alice").expect("runs")[0].samples, 70);
    }

    /// After a migration, alice's run `r1` holding chunk 0 (samples 0..60, token `x`): a chunk
    /// repeating its last sample is refused, the next one stored.
    pub(crate) fn a_migrated_run_refuses_a_repeat_and_takes_the_next(storage: &dyn Storage) {
        let (overlap, digest, body) = chunk(1, 59..70);
        assert!(matches!(
            storage.put_chunk("alice", "x", "r1", &overlap, &digest, &body),
            Err(StorageError::Conflict(m)) if m.contains("repeats a sample held in chunk 0")
        ));
        let (next, digest, body) = chunk(1, 60..70);
        assert_eq!(
            storage.put_chunk("alice", "x", "r1", &next, &digest, &body).expect("next"),
            ChunkPut::Stored
        );
    }

    #[test]
    fn the_cursor_counts_chunks_held_from_the_first() {
        assert_eq!(contiguous_count([0, 1, 2, 4]), 3);
        assert_eq!(contiguous_count([1, 2]), 0);
        assert_eq!(contiguous_count([]), 0);
    }
}

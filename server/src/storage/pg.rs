//! The PostgreSQL backend: several stateless `pacenote serve` instances over one database.
//! Every write that depends on what is held takes the run's row lock (`SELECT ... FOR
//! UPDATE`, or an `UPDATE` of that row checked against its newest version) first, so two
//! instances given the same run's chunks, header or finalize at once act one after the other;
//! duplicates end in primary keys (`ON CONFLICT`), never in process memory. Calls are blocking
//! (the server runs them on its storage threads) over a small pool of connections.
//!
//! Must not: hold a connection across requests in a broken state (a closed one is dropped);
//! change a database whose schema is newer than this server's; log a connection string's
//! password.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use pacenote_sync::wire::{Chunk, FinalizeClaim, FinalizeReply, RunDownload, RunHeader, sha256_hex};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use super::{
    ChunkPut, HeaderStep, HeldChunk, ServerRun, Storage, StorageError, assemble_download, chunk_ranges,
    chunk_step, contiguous_count, finalize_verdict, from_sql, header_step, internal, no_such_run,
    parse_header, repeated_in_another_chunk, to_sql, token_not_users,
};

/// The schema by version (table `schema_version`): entry `n` takes a database from version
/// `n` to `n + 1`. Migrations run at start under an advisory lock, so instances starting
/// together apply each once.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE);
-- A run is keyed by its user and its id: a runner's ids are their own.
CREATE TABLE runs (
    user_name TEXT NOT NULL REFERENCES users(name),
    id TEXT NOT NULL,
    header_json TEXT NOT NULL,
    finalized BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_name, id)
);
-- A chunk is one row: its body (as the phone sent it) holds its entries; the ranges of their
-- numbers find a chunk that repeats another's.
CREATE TABLE chunks (
    user_name TEXT NOT NULL,
    run_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    digest TEXT NOT NULL,
    body BYTEA NOT NULL,
    samples BIGINT NOT NULL,
    cues BIGINT NOT NULL,
    events BIGINT NOT NULL,
    sample_first BIGINT,
    sample_last BIGINT,
    cue_first BIGINT,
    cue_last BIGINT,
    event_first BIGINT,
    event_last BIGINT,
    PRIMARY KEY (user_name, run_id, idx),
    FOREIGN KEY (user_name, run_id) REFERENCES runs (user_name, id)
);
-- A body is compressed already and a few kB: kept in the row (no TOAST table, no second write, no
-- compression attempted on compressed bytes) up to a page.
ALTER TABLE chunks ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE chunks SET (toast_tuple_target = 8160);
"#,
    r#"
-- A chunk is written by one function call (one round trip, two statements): the run's row lock
-- (with the token's check and the run unfinalized), then — a statement of its own, reading a fresh
-- snapshot, so it sees every chunk committed by whoever held the lock before — the insert, unless
-- a chunk holds its index or, for some kind of entry, the held chunk that starts last at or before
-- the new chunk's end reaches its start (one index probe, where a scan over all the run's chunks
-- grew with the run). That probe is exact because a run's held ranges stay disjoint: every chunk
-- is checked and written under its run's lock. FALSE says nothing was written; the caller then
-- reads why.
CREATE INDEX chunks_sample_start ON chunks (user_name, run_id, sample_first) INCLUDE (sample_last)
    WHERE sample_first IS NOT NULL;
CREATE INDEX chunks_cue_start ON chunks (user_name, run_id, cue_first) INCLUDE (cue_last)
    WHERE cue_first IS NOT NULL;
CREATE INDEX chunks_event_start ON chunks (user_name, run_id, event_first) INCLUDE (event_last)
    WHERE event_first IS NOT NULL;
-- Every chunk is written under its run's lock, after finding the run, and runs are never deleted:
-- the foreign key's own check (a second lookup and lock of that row, as long again as the rest of
-- the write) adds nothing.
ALTER TABLE chunks DROP CONSTRAINT chunks_user_name_run_id_fkey;
CREATE FUNCTION put_chunk(p_user TEXT, p_token_sha256 TEXT, p_run_id TEXT, p_idx BIGINT,
    p_digest TEXT, p_body BYTEA, p_samples BIGINT, p_cues BIGINT, p_events BIGINT,
    p_s0 BIGINT, p_s1 BIGINT, p_c0 BIGINT, p_c1 BIGINT, p_e0 BIGINT, p_e1 BIGINT)
RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM runs r JOIN users u ON u.name = r.user_name
        WHERE r.user_name = p_user AND r.id = p_run_id AND u.token_sha256 = p_token_sha256
        AND NOT r.finalized FOR UPDATE OF r;
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    INSERT INTO chunks (user_name, run_id, idx, digest, body, samples, cues, events,
        sample_first, sample_last, cue_first, cue_last, event_first, event_last)
    SELECT p_user, p_run_id, p_idx, p_digest, p_body, p_samples, p_cues, p_events,
        p_s0, p_s1, p_c0, p_c1, p_e0, p_e1
    WHERE NOT EXISTS (SELECT 1 FROM (SELECT c.sample_last FROM chunks c
            WHERE c.user_name = p_user AND c.run_id = p_run_id AND c.sample_first <= p_s1
            ORDER BY c.sample_first DESC LIMIT 1) p WHERE p.sample_last >= p_s0)
        AND NOT EXISTS (SELECT 1 FROM (SELECT c.cue_last FROM chunks c
            WHERE c.user_name = p_user AND c.run_id = p_run_id AND c.cue_first <= p_c1
            ORDER BY c.cue_first DESC LIMIT 1) p WHERE p.cue_last >= p_c0)
        AND NOT EXISTS (SELECT 1 FROM (SELECT c.event_last FROM chunks c
            WHERE c.user_name = p_user AND c.run_id = p_run_id AND c.event_first <= p_e1
            ORDER BY c.event_first DESC LIMIT 1) p WHERE p.event_last >= p_e0)
    ON CONFLICT (user_name, run_id, idx) DO NOTHING;
    RETURN FOUND;
END
$$;
"#,
    r#"
-- A run keeps the highest sample, cue and event number its chunks hold (NULL: none). A phone sends
-- its chunks in order, so nearly every chunk's entries are all numbered past those: then it is
-- checked and written by one statement, no probe — the run's row is updated (so locked) only if
-- its newest version still says so (PostgreSQL re-reads a row changed by a writer it waited for,
-- before updating it), and the insert takes its place. The marks may stand above what is held
-- (raised for a chunk whose index turned out taken), never below: every write raises them under
-- the run's lock. Any other chunk — a gap filled, a repeat, a retry — takes the second version's
-- way (lock, then probe) and raises the marks after its insert.
ALTER TABLE runs ADD COLUMN sample_max BIGINT, ADD COLUMN cue_max BIGINT, ADD COLUMN event_max BIGINT;
UPDATE runs r SET sample_max = held.s, cue_max = held.c, event_max = held.e
    FROM (SELECT user_name, run_id, MAX(sample_last) AS s, MAX(cue_last) AS c, MAX(event_last) AS e
          FROM chunks GROUP BY user_name, run_id) held
    WHERE held.user_name = r.user_name AND held.run_id = r.id;
-- A run's row is now rewritten at every chunk: room on its page lets the new version stay there
-- (a HOT update: no new index entry, pruned in passing).
ALTER TABLE runs SET (fillfactor = 70);
-- The second version's write (the run's row lock, then the probe and the insert) stays for the
-- chunks the one statement does not take; the lock it takes lasts until the caller commits.
ALTER FUNCTION put_chunk(TEXT, TEXT, TEXT, BIGINT, TEXT, BYTEA, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT,
    BIGINT, BIGINT, BIGINT, BIGINT) RENAME TO put_chunk_locked;
CREATE FUNCTION put_chunk(p_user TEXT, p_token_sha256 TEXT, p_run_id TEXT, p_idx BIGINT,
    p_digest TEXT, p_body BYTEA, p_samples BIGINT, p_cues BIGINT, p_events BIGINT,
    p_s0 BIGINT, p_s1 BIGINT, p_c0 BIGINT, p_c1 BIGINT, p_e0 BIGINT, p_e1 BIGINT)
RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    WITH run AS (UPDATE runs r SET sample_max = GREATEST(r.sample_max, p_s1),
            cue_max = GREATEST(r.cue_max, p_c1), event_max = GREATEST(r.event_max, p_e1)
        WHERE r.user_name = p_user AND r.id = p_run_id AND NOT r.finalized
            AND (p_s0 IS NULL OR r.sample_max IS NULL OR r.sample_max < p_s0)
            AND (p_c0 IS NULL OR r.cue_max IS NULL OR r.cue_max < p_c0)
            AND (p_e0 IS NULL OR r.event_max IS NULL OR r.event_max < p_e0)
            AND EXISTS (SELECT 1 FROM users u WHERE u.name = p_user AND u.token_sha256 = p_token_sha256)
        RETURNING 1)
    INSERT INTO chunks (user_name, run_id, idx, digest, body, samples, cues, events,
        sample_first, sample_last, cue_first, cue_last, event_first, event_last)
    SELECT p_user, p_run_id, p_idx, p_digest, p_body, p_samples, p_cues, p_events,
        p_s0, p_s1, p_c0, p_c1, p_e0, p_e1 FROM run
    ON CONFLICT (user_name, run_id, idx) DO NOTHING;
    IF FOUND THEN
        RETURN TRUE;
    END IF;
    IF NOT put_chunk_locked(p_user, p_token_sha256, p_run_id, p_idx, p_digest, p_body, p_samples,
            p_cues, p_events, p_s0, p_s1, p_c0, p_c1, p_e0, p_e1) THEN
        RETURN FALSE;
    END IF;
    UPDATE runs SET sample_max = GREATEST(sample_max, p_s1), cue_max = GREATEST(cue_max, p_c1),
        event_max = GREATEST(event_max, p_e1)
        WHERE user_name = p_user AND id = p_run_id;
    RETURN TRUE;
END
$$;
"#,
];

/// The advisory lock migrations run under (any constant; "pacenote" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x7061_6365_6e6f_7465;
/// Connections one instance opens at most (each PostgreSQL connection is a server process); a
/// call holds one only while it talks to the database.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// Storage calls in flight per core of the machine (see `concurrent_calls`). A chunk's call
/// decodes the chunk first (CPU) and then waits on the database (a round trip), so a core
/// keeps two busy; `bench server` (PostgreSQL × 2, 128 phones) measured 2 and 3 a core alike.
const PG_CALLS_PER_CORE: usize = 2;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A transaction that meets a serialisation failure or a deadlock is run again this often.
const RETRIES_ON_CONTENTION: usize = 3;

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        // The server's own message (with its detail) says more than the client's summary.
        match e.as_db_error() {
            Some(db) => internal(format!("{}: {}", db.code().code(), db.message())),
            None => internal(e),
        }
    }
}

/// A pooled connection with the statements it has prepared (a statement is parsed and planned
/// once per connection, not at every call: half the round trips of a chunk).
struct Connection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// A transaction whose queries are prepared once per connection.
struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

/// `sql` prepared on this connection, once.
fn prepared(
    client: &mut impl GenericClient,
    statements: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = client.prepare(sql)?;
    statements.insert(sql, statement.clone());
    Ok(statement)
}

impl Tx<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        prepared(&mut self.tx, self.statements, sql)
    }

    fn query(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    fn query_opt(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }

    fn query_one(&mut self, sql: &'static str, params: &Params<'_>) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    fn execute(&mut self, sql: &'static str, params: &Params<'_>) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }
}

/// PostgreSQL behind a small connection pool.
pub struct PostgresStorage {
    config: postgres::Config,
    idle: Mutex<Pool>,
    freed: Condvar,
}

struct Pool {
    idle: Vec<Connection>,
    open: usize,
    max: usize,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it may hold a password.
        f.debug_struct("PostgresStorage").field("hosts", &self.config.get_hosts()).finish_non_exhaustive()
    }
}

impl Drop for PostgresStorage {
    /// A `postgres::Client` closes itself by blocking on its own runtime, which panics when
    /// the storage is dropped inside another runtime (a server stopping drops its state on
    /// its async thread): the idle connections are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = match self.idle.get_mut() {
            Ok(pool) => std::mem::take(&mut pool.idle),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().idle),
        };
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// A connection string without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!(
                "{}{user}{}{}",
                &url[..scheme + 3],
                if userinfo.contains(':') { ":***" } else { "" },
                &url[at..]
            )
        }
        _ => url.to_owned(),
    }
}

impl PostgresStorage {
    /// Connects to `url` (`postgresql://user[:password]@host[:port]/database`, or key=value
    /// pairs) and brings the schema up to date; a schema newer than this server's is refused
    /// untouched.
    pub fn connect(url: &str, max_connections: usize) -> Result<Self, StorageError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| internal(format!("the database URL {} is not valid: {e}", redacted(url))))?;
        config.connect_timeout(CONNECT_TIMEOUT).application_name("pacenote-serve");
        let storage = Self {
            config,
            idle: Mutex::new(Pool { idle: Vec::new(), open: 0, max: max_connections.max(1) }),
            freed: Condvar::new(),
        };
        let mut client = storage
            .config
            .connect(NoTls)
            .map_err(|e| internal(format!("cannot reach the database {}: {e}", redacted(url))))?;
        migrate(&mut client)?;
        storage.put_back(Connection { client, statements: HashMap::new() });
        Ok(storage)
    }

    fn take(&self) -> Result<Connection, StorageError> {
        let poisoned = || StorageError::Internal("a storage call panicked".into());
        let mut pool = self.idle.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(client) = pool.idle.pop() {
                return Ok(client);
            }
            if pool.open < pool.max {
                pool.open += 1;
                drop(pool);
                return self
                    .config
                    .connect(NoTls)
                    .map(|client| Connection { client, statements: HashMap::new() })
                    .map_err(|e| {
                        if let Ok(mut pool) = self.idle.lock() {
                            pool.open -= 1;
                        }
                        self.freed.notify_one();
                        internal(format!("cannot reach the database: {e}"))
                    });
            }
            pool = self.freed.wait(pool).map_err(|_| poisoned())?;
        }
    }

    fn put_back(&self, connection: Connection) {
        if let Ok(mut pool) = self.idle.lock() {
            if pool.open == 0 {
                pool.open = 1; // the connection `connect` opened before the pool counted it
            }
            if connection.client.is_closed() {
                pool.open -= 1;
            } else {
                pool.idle.push(connection);
            }
        }
        self.freed.notify_one();
    }

    /// One statement on its own (autocommit: one round trip, no BEGIN and COMMIT).
    fn once<T>(
        &self,
        sql: &'static str,
        params: &Params<'_>,
        read: impl FnOnce(Vec<Row>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut connection = self.take()?;
        let rows = (|| {
            let Connection { client, statements } = &mut connection;
            let statement = prepared(client, statements, sql)?;
            client.query(&statement, params)
        })();
        self.put_back(connection);
        read(rows?)
    }

    /// Runs `f` in a transaction on a pooled connection, again on a serialisation failure or
    /// a deadlock (another instance's transaction won).
    fn with<T>(&self, mut f: impl FnMut(&mut Tx<'_>) -> Result<T, TxError>) -> Result<T, StorageError> {
        let mut connection = self.take()?;
        let mut attempt = 0;
        let out = loop {
            attempt += 1;
            let result = (|| -> Result<T, TxError> {
                let Connection { client, statements } = &mut connection;
                let mut tx = Tx { tx: client.transaction()?, statements };
                let out = f(&mut tx)?;
                tx.tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(Contended) if attempt <= RETRIES_ON_CONTENTION => continue,
                Err(Failed(e)) => break Err(e),
                Err(Contended) => break Err(stayed_contended()),
                Ok(out) => break Ok(out),
            }
        };
        self.put_back(connection);
        out
    }
}

/// A write that met another instance's every time it was tried.
fn stayed_contended() -> StorageError {
    internal("the database stayed contended: try again")
}

/// How a transaction failed: contended (run it again) or for good.
enum TxError {
    Contended,
    Failed(StorageError),
}
use TxError::{Contended, Failed};

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        Failed(e)
    }
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
                Contended
            }
            _ => Failed(e.into()),
        }
    }
}

fn migrate(client: &mut Client) -> Result<(), StorageError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let version: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?.get(0);
    let known = MIGRATIONS.len() as i32;
    if version > known {
        return Err(StorageError::Internal(format!(
            "the database's schema is version {version}, newer than this server's {known}: \
             run a newer pacenote (nothing was changed)"
        )));
    }
    for migration in &MIGRATIONS[version as usize..] {
        tx.batch_execute(migration)?;
    }
    tx.execute("DELETE FROM schema_version", &[])?;
    tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&known])?;
    tx.commit()?;
    Ok(())
}

/// Whether this user's run is finalized, holding the run's row lock until the transaction
/// ends; 404 when it is not theirs (or does not exist).
fn lock_owned(tx: &mut Tx<'_>, user: &str, run_id: &str) -> Result<bool, TxError> {
    let row = tx.query_opt(
        "SELECT finalized FROM runs WHERE id = $1 AND user_name = $2 FOR UPDATE",
        &[&run_id, &user],
    )?;
    Ok(row.map(|r| r.get(0)).ok_or_else(|| no_such_run(run_id))?)
}

fn held_chunks(tx: &mut Tx<'_>, user: &str, run_id: &str) -> Result<BTreeMap<u64, HeldChunk>, TxError> {
    Ok(tx
        .query(
            "SELECT idx, digest, samples, cues, events FROM chunks WHERE user_name = $1 AND run_id = $2",
            &[&user, &run_id],
        )?
        .into_iter()
        .map(|r| (from_sql(r.get(0)), HeldChunk::new(r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect())
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl Storage for PostgresStorage {
    fn add_user(&self, user: &str, token: &str) -> Result<(), StorageError> {
        let hash = sha256_hex(token.as_bytes());
        self.with(|tx| {
            tx.execute(
                "INSERT INTO users (name, token_sha256) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256",
                &[&user, &hash],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Failed(StorageError::Conflict(format!("user {user}: the token is used by another user")))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn ping(&self) -> Result<(), StorageError> {
        self.with(|tx| {
            tx.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    /// Two calls a core, within the pool: more only contend for the same cores (each call
    /// is a database process at work), and the queue in the server is fair where the
    /// processes' contention is not.
    fn concurrent_calls(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let connections = self.idle.lock().map_or(1, |pool| pool.max);
        (PG_CALLS_PER_CORE * cores).min(connections)
    }

    fn user_exists(&self, user: &str) -> Result<bool, StorageError> {
        self.with(|tx| Ok(tx.query_opt("SELECT 1 FROM users WHERE name = $1", &[&user])?.is_some()))
    }

    fn revoke_token(&self, user: &str) -> Result<bool, StorageError> {
        // As in SQLite: a value no token hashes to keeps the column NOT NULL and UNIQUE.
        self.with(|tx| {
            Ok(tx.execute("UPDATE users SET token_sha256 = 'revoked:' || name WHERE name = $1", &[&user])?
                > 0)
        })
    }

    fn user_for_token(&self, token: &str) -> Result<Option<String>, StorageError> {
        let hash = sha256_hex(token.as_bytes());
        self.once("SELECT name FROM users WHERE token_sha256 = $1", &[&hash], |rows| {
            Ok(rows.first().map(|r| r.get(0)))
        })
    }

    fn put_run(&self, user: &str, run_id: &str, header: &RunHeader) -> Result<(), StorageError> {
        let json = serde_json::to_string(header).map_err(internal)?;
        self.with(|tx| {
            // Two instances creating the same run at once: one inserts, the other waits for it
            // and then reads what it wrote.
            let inserted = tx.execute(
                "INSERT INTO runs (id, user_name, header_json) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_name, id) DO NOTHING",
                &[&run_id, &user, &json],
            )?;
            if inserted == 1 {
                return Ok(());
            }
            let row = tx.query_one(
                "SELECT finalized, header_json FROM runs WHERE user_name = $1 AND id = $2 FOR UPDATE",
                &[&user, &run_id],
            )?;
            let (finalized, held): (bool, String) = (row.get(0), row.get(1));
            match header_step(Some((finalized, &held)), run_id, &json)? {
                HeaderStep::Update => {
                    tx.execute(
                        "UPDATE runs SET header_json = $3 WHERE user_name = $1 AND id = $2",
                        &[&user, &run_id, &json],
                    )?;
                }
                HeaderStep::Insert | HeaderStep::Keep => {}
            }
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
        let index = to_sql(chunk.index);
        let [s0, s1, c0, c1, e0, e1] = chunk_ranges(chunk);
        let counts = [chunk.samples.len() as i64, chunk.cues.len() as i64, chunk.events.len() as i64];
        let params: [&(dyn ToSql + Sync); 15] = [
            &user,
            &token_sha256,
            &run_id,
            &index,
            &digest,
            &body,
            &counts[0],
            &counts[1],
            &counts[2],
            &s0,
            &s1,
            &c0,
            &c1,
            &e0,
            &e1,
        ];
        // One call, one round trip, autocommitted: the function checks and writes under the
        // run's lock (see the schema's second and third versions). When it did not, one read
        // says why; a state that gives no reason (changed between the two) is tried again.
        for _ in 0..=RETRIES_ON_CONTENTION {
            let stored = self.once(
                "SELECT put_chunk($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                &params,
                |rows| {
                    rows.first()
                        .map(|r| r.get::<_, bool>(0))
                        .ok_or_else(|| internal("put_chunk returned no row"))
                },
            )?;
            if stored {
                return Ok(ChunkPut::Stored);
            }
            let why = self.once(
                "SELECT EXISTS (SELECT 1 FROM users WHERE name = $1 AND token_sha256 = $2), \
                 (SELECT finalized FROM runs WHERE user_name = $1 AND id = $3), \
                 (SELECT digest FROM chunks WHERE user_name = $1 AND run_id = $3 AND idx = $4), o.idx, o.kind \
                 FROM (SELECT 1) AS one LEFT JOIN LATERAL ( \
                     SELECT idx, CASE WHEN sample_first <= $6 AND sample_last >= $5 THEN 0 \
                     WHEN cue_first <= $8 AND cue_last >= $7 THEN 1 ELSE 2 END AS kind FROM chunks \
                     WHERE user_name = $1 AND run_id = $3 AND idx <> $4 AND ((sample_first <= $6 AND sample_last >= $5) \
                     OR (cue_first <= $8 AND cue_last >= $7) OR (event_first <= $10 AND event_last >= $9)) LIMIT 1 \
                 ) o ON TRUE",
                &[&user, &token_sha256, &run_id, &index, &s0, &s1, &c0, &c1, &e0, &e1],
                |mut rows| rows.pop().ok_or_else(|| internal("the refused chunk's reason query returned no row")),
            )?;
            if !why.get::<_, bool>(0) {
                return Err(token_not_users());
            }
            let Some(finalized) = why.get::<_, Option<bool>>(1) else {
                return Err(no_such_run(run_id));
            };
            let held: Option<String> = why.get(2);
            if let Some(answer) = chunk_step(held.as_deref(), finalized, run_id, chunk.index, digest)? {
                return Ok(answer);
            }
            if let Some(other) = why.get::<_, Option<i64>>(3) {
                let kind: i32 = why.get(4);
                return Err(repeated_in_another_chunk(chunk, kind as usize, other));
            }
        }
        Err(stayed_contended())
    }

    fn cursor(&self, user: &str, run_id: &str) -> Result<u64, StorageError> {
        self.with(|tx| {
            let row =
                tx.query_opt("SELECT 1 FROM runs WHERE id = $1 AND user_name = $2", &[&run_id, &user])?;
            row.ok_or_else(|| no_such_run(run_id))?;
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
            lock_owned(tx, user, run_id)?;
            let reply = finalize_verdict(&held_chunks(tx, user, run_id)?, claim)?;
            if reply.confirmed {
                tx.execute(
                    "UPDATE runs SET finalized = TRUE WHERE user_name = $1 AND id = $2",
                    &[&user, &run_id],
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
        let (after, limit) = (after.unwrap_or_default(), to_sql(limit as u64));
        self.with(|tx| {
            let rows = tx.query(
                "SELECT r.id, r.header_json, r.finalized, \
                 (SELECT COUNT(*) FROM chunks c WHERE c.user_name = r.user_name AND c.run_id = r.id), \
                 (SELECT COALESCE(SUM(c.samples), 0)::BIGINT FROM chunks c \
                  WHERE c.user_name = r.user_name AND c.run_id = r.id) \
                 FROM runs r WHERE r.user_name = $1 AND r.id > $2 ORDER BY r.id LIMIT $3",
                &[&user, &after, &limit],
            )?;
            let runs = rows
                .into_iter()
                .map(|r| {
                    Ok(ServerRun {
                        header: parse_header(r.get(1))?,
                        id: r.get(0),
                        finalized: r.get(2),
                        chunks: from_sql(r.get(3)),
                        samples: from_sql(r.get(4)),
                    })
                })
                .collect::<Result<_, StorageError>>()?;
            Ok(runs)
        })
    }

    fn run_download(&self, user: &str, run_id: &str) -> Result<RunDownload, StorageError> {
        self.with(|tx| {
            let run = tx
                .query_opt(
                    "SELECT header_json, finalized FROM runs WHERE id = $1 AND user_name = $2",
                    &[&run_id, &user],
                )?
                .ok_or_else(|| no_such_run(run_id))?;
            let bodies = tx
                .query(
                    "SELECT idx, body FROM chunks WHERE user_name = $1 AND run_id = $2 ORDER BY idx",
                    &[&user, &run_id],
                )?
                .into_iter()
                .map(|r| (from_sql(r.get(0)), r.get(1)))
                .collect();
            Ok(assemble_download(run_id, parse_header(run.get(0))?, run.get(1), bodies)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;
    use crate::storage::tests::{a_migrated_run_refuses_a_repeat_and_takes_the_next, chunk};
    use crate::test_backends::{Backend, TestDatabase};

    /// A database of the first schema (a scan found repeated entries, a foreign key tied chunks
    /// to runs) opens at the newest: its chunks are kept (and count in its run's highest
    /// numbers) and the new check refuses a chunk repeating one of them.
    #[test]
    fn a_first_schema_database_is_migrated_with_its_chunks() {
        let dir = tempfile::tempdir().expect("dir");
        let TestDatabase::Postgres(url) = TestDatabase::new(Backend::Postgres, dir.path()) else {
            unreachable!("asked for PostgreSQL")
        };
        let (c, digest, body) = chunk(0, 0..60);
        {
            let mut client = Client::connect(&url, NoTls).expect("connect");
            client.batch_execute(MIGRATIONS[0]).expect("first schema");
            client
                .batch_execute(
                    "CREATE TABLE schema_version (version INTEGER NOT NULL); \
                     INSERT INTO schema_version VALUES (1); \
                     INSERT INTO users VALUES ('alice', 'x'); \
                     INSERT INTO runs (user_name, id, header_json) VALUES \
                     ('alice', 'r1', '{\"plan_id\":\"p\",\"persona\":\"stone\",\"started_at_unix_ms\":1}')",
                )
                .expect("a run");
            let [s0, s1, ..] = chunk_ranges(&c);
            client
                .execute(
                    "INSERT INTO chunks (user_name, run_id, idx, digest, body, samples, cues, events, \
                     sample_first, sample_last) VALUES ('alice', 'r1', 0, $1, $2, 60, 0, 0, $3, $4)",
                    &[&digest, &body, &s0, &s1],
                )
                .expect("a chunk");
        }
        let storage = PostgresStorage::connect(&url, 2).expect("migrated");
        let mut client = Client::connect(&url, NoTls).expect("connect");
        let version: i32 = client.query_one("SELECT version FROM schema_version", &[]).expect("v").get(0);
        assert_eq!(version as usize, MIGRATIONS.len());
        assert_eq!(storage.samples("alice", "r1").expect("samples").len(), 60);
        a_migrated_run_refuses_a_repeat_and_takes_the_next(&storage);
        assert_eq!(storage.cursor("alice", "r1").expect("cursor"), 2);
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redacted("postgresql://app:s3cret@db.example:5432/pn"),
            "postgresql://app:***@db.example:5432/pn"
        );
        assert_eq!(redacted("postgresql://app@db/pn"), "postgresql://app@db/pn");
        assert_eq!(redacted("host=db user=app"), "host=db user=app");
    }
}

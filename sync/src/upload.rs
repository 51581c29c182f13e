//! Uploading finished runs (DESIGN §7): header, then one-minute chunks from the server's
//! cursor (the chunk URL is the idempotency key, so a retry or a duplicate delivery can never
//! store anything twice), then a finalize with counts and a digest. Only when the server
//! confirms the whole run do its log rows leave the phone.
//!
//! [`Syncer::sync_now`] is single-flight: callers that arrive while a pass runs wait for it
//! and share its report, so it is safe to call from a connectivity callback, a timer and a
//! button at once. Must not: delete before a confirmed finalize; hold the store's lock across
//! a network request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use crate::client::{Cancel, Client, HttpResponse, Method, RequestError, Traffic};
use crate::store::{Store, StoreError, StoredRun};
use crate::wire::{
    ChunkEncoding, Cursor, EncodedChunk, FinalizeClaim, FinalizeReply, RunHeader, chunks_of, encode_chunk,
    encode_chunk_as, run_digest,
};

/// After a failed pass the next one waits (full jitter) up to this base, doubled per failure...
const PASS_BACKOFF_BASE: Duration = Duration::from_secs(30);
/// ...and never more than this: a phone that was offline all day still syncs within the hour.
const PASS_BACKOFF_CAP: Duration = Duration::from_secs(60 * 60);
/// Finalize rounds per run in one pass (each resends what the server says is missing).
const FINALIZE_ROUNDS: usize = 3;

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The host said there is no connection: nothing was tried.
    pub offline: bool,
    /// Runs the server confirmed in this pass.
    pub runs_uploaded: u64,
    /// Finished runs still waiting for the server.
    pub runs_pending: u64,
    pub chunks_sent: u64,
    /// Chunks the server already held (a retry after a lost answer).
    pub chunks_already_held: u64,
    pub requests: u64,
    pub retries: u64,
    pub bytes_sent: u64,
    /// Why the pass stopped short, if it did.
    pub stopped: Option<SyncStop>,
}

/// Why a pass stopped short: what the app can do about it differs for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncStop {
    /// The server could not be reached, was overloaded or asked to wait (`server_wait`, when it
    /// named one): the pass ends and the next is scheduled ([`Syncer::next_sync_at`]).
    #[error("{reason}")]
    TryLater { reason: String, server_wait: Option<Duration> },
    /// The token was refused: nothing will upload until the app signs the runner in again.
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// The server refused one run (the others went on); it stays on the phone, and is tried
    /// again next pass.
    #[error("run {run_id}: {reason}")]
    RunRefused { run_id: String, reason: String },
    /// The phone's own store failed (a full disk, a broken file).
    #[error("the store: {reason}")]
    Store { reason: String },
    /// The app cancelled the pass: what was confirmed stays confirmed, the rest waits for the
    /// next pass (no back-off: nothing failed).
    #[error("cancelled by the app")]
    Cancelled,
}

#[derive(Debug, Default)]
struct Flight {
    running: bool,
    generation: u64,
    last: SyncReport,
    failures: u32,
    next_at: Option<SystemTime>,
}

/// Syncs a store's finished runs with the server.
#[derive(Debug)]
pub struct Syncer {
    store: Arc<Mutex<Store>>,
    client: Client,
    online: AtomicBool,
    flight: Mutex<Flight>,
    landed: Condvar,
}

/// Why a run's upload stopped.
enum Stop {
    /// Give up on the pass (unreachable server, refused token, a failing store).
    Pass(SyncStop),
    /// Give up on this run for now (the server refused it), go on with the others.
    Run(String),
}

impl From<RequestError> for Stop {
    fn from(e: RequestError) -> Self {
        Stop::Pass(match e {
            RequestError::TryLater { message, wait } => {
                SyncStop::TryLater { reason: message, server_wait: wait }
            }
            RequestError::Unauthorized(reason) => SyncStop::Unauthorized { reason },
            RequestError::Cancelled => SyncStop::Cancelled,
        })
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Pass(SyncStop::Store { reason: e.to_string() })
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Clears the in-flight mark even if a pass panics, so that later callers are never stuck.
struct Landing<'a> {
    syncer: &'a Syncer,
    report: Option<SyncReport>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let report = self.report.take().unwrap_or_else(|| SyncReport {
            stopped: Some(SyncStop::TryLater {
                reason: "the sync pass failed unexpectedly".into(),
                server_wait: None,
            }),
            ..SyncReport::default()
        });
        let mut flight = self.syncer.flight.lock().unwrap_or_else(|p| p.into_inner());
        let failed = report.stopped.is_some() || report.runs_pending > 0;
        if report.offline || matches!(report.stopped, Some(SyncStop::Cancelled)) {
            // No attempt was made: nothing to back off from; sync when the host says online.
        } else if failed {
            flight.failures = flight.failures.saturating_add(1);
            let wait = self.syncer.client.jitter(PASS_BACKOFF_BASE, PASS_BACKOFF_CAP, flight.failures);
            // Never sooner than the server asked.
            let asked = match &report.stopped {
                Some(SyncStop::TryLater { server_wait: Some(w), .. }) => *w,
                _ => Duration::ZERO,
            };
            flight.next_at = Some(SystemTime::now() + wait.max(asked).max(Duration::from_secs(1)));
        } else {
            flight.failures = 0;
            flight.next_at = None;
        }
        flight.running = false;
        flight.generation += 1;
        flight.last = report;
        drop(flight);
        self.syncer.landed.notify_all();
    }
}

impl Syncer {
    pub fn new(store: Arc<Mutex<Store>>, client: Client) -> Self {
        Self {
            store,
            client,
            online: AtomicBool::new(true),
            flight: Mutex::new(Flight::default()),
            landed: Condvar::new(),
        }
    }

    /// The host reports connectivity; offline passes try nothing.
    pub fn set_connectivity(&self, online: bool) {
        self.online.store(online, Ordering::SeqCst);
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    /// When the host should call [`Self::sync_now`] again after a failed pass (`None`: nothing
    /// is waiting, or call when connectivity returns).
    pub fn next_sync_at(&self) -> Option<SystemTime> {
        self.flight.lock().map(|f| f.next_at).unwrap_or(None)
    }

    /// Uploads every finished run the server has not confirmed. Single-flight: a caller that
    /// arrives during a pass waits for it and gets its report.
    pub fn sync_now(&self) -> SyncReport {
        self.sync_now_cancellable(&Cancel::new())
    }

    /// [`Self::sync_now`], stopping before the next request once `cancel` is set (the pass that
    /// `cancel` started; a caller that waits for another's pass waits for it whole).
    pub fn sync_now_cancellable(&self, cancel: &Cancel) -> SyncReport {
        {
            let mut flight = self.flight.lock().unwrap_or_else(|p| p.into_inner());
            if flight.running {
                let generation = flight.generation;
                while flight.generation == generation {
                    flight = self.landed.wait(flight).unwrap_or_else(|p| p.into_inner());
                }
                return flight.last.clone();
            }
            flight.running = true;
        }
        let mut landing = Landing { syncer: self, report: None };
        landing.report = Some(self.pass(cancel));
        let report = landing.report.clone().unwrap_or_default();
        drop(landing);
        report
    }

    fn pass(&self, cancel: &Cancel) -> SyncReport {
        let mut report = SyncReport::default();
        if !self.is_online() {
            report.offline = true;
            return report;
        }
        let runs =
            match self.lock().and_then(|s| s.runs().map_err(|e| SyncStop::Store { reason: e.to_string() })) {
                Ok(runs) => runs,
                Err(e) => {
                    report.stopped = Some(e);
                    return report;
                }
            };
        let mut traffic = Traffic::cancellable(cancel.clone());
        let pending: Vec<StoredRun> = runs.into_iter().filter(|r| r.finished && !r.uploaded).collect();
        report.runs_pending = pending.len() as u64;
        for run in &pending {
            match self.upload_run(run, &mut report, &mut traffic) {
                Ok(()) => {
                    report.runs_uploaded += 1;
                    report.runs_pending -= 1;
                }
                Err(Stop::Run(reason)) => {
                    report.stopped = Some(SyncStop::RunRefused { run_id: run.id.clone(), reason });
                }
                Err(Stop::Pass(e)) => {
                    report.stopped = Some(e);
                    break;
                }
            }
        }
        report.requests = traffic.requests;
        report.retries = traffic.retries;
        report.bytes_sent = traffic.bytes_sent;
        report
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, SyncStop> {
        self.store
            .lock()
            .map_err(|_| SyncStop::Store { reason: "the store's lock was poisoned by a panic".to_owned() })
    }

    fn upload_run(
        &self,
        run: &StoredRun,
        report: &mut SyncReport,
        traffic: &mut Traffic,
    ) -> Result<(), Stop> {
        let (setup, log) = {
            let store = self.lock().map_err(Stop::Pass)?;
            (store.setup(&run.id)?, store.log(&run.id)?)
        };
        let parsed =
            |json: Option<String>| json.and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok());
        let (summary, analysis) = match setup {
            Some(s) => (parsed(s.summary_json), parsed(s.analysis_json)),
            None => (None, None),
        };
        let header = RunHeader {
            plan_id: run.plan_id.clone(),
            persona: run.persona.clone(),
            started_at_unix_ms: run.started_at_unix_ms,
            summary,
            effort: run.effort,
            analysis,
        };
        let parts = chunks_of(&log).map_err(Stop::Run)?;
        // The chunks hold their own copy (kept for a fall-back to gzip JSON); a 4-hour log is
        // megabytes a phone need not hold twice while the upload runs.
        drop(log);
        let run_path = format!("/v1/runs/{}", run.id);
        let json = [("Content-Type", "application/json")];
        let header_body = serde_json::to_vec(&header).map_err(|e| Stop::Run(e.to_string()))?;
        let put =
            self.client.send(&self.client.request(Method::Put, &run_path, &json, header_body), traffic)?;
        if !put.is_success() {
            return Err(Stop::Run(format!(
                "the server refused the header: {} {}",
                put.status,
                put.message()
            )));
        }
        let cursor = self.client.send(
            &self.client.request(Method::Get, &format!("{run_path}/cursor"), &[], Vec::new()),
            traffic,
        )?;
        let cursor: Cursor = if cursor.is_success() {
            serde_json::from_slice(&cursor.body).map_err(|e| {
                Stop::Pass(SyncStop::TryLater {
                    reason: format!("the server's cursor is not valid: {e}"),
                    server_wait: None,
                })
            })?
        } else {
            return Err(Stop::Run(format!(
                "the server refused the cursor: {} {}",
                cursor.status,
                cursor.message()
            )));
        };
        // The compact encoding only to a server whose cursor offers it (DESIGN §7).
        let encoding = cursor.chunk_encoding();
        let mut chunks = parts
            .iter()
            .map(|c| encode_chunk_as(c, encoding))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Stop::Run)?;
        let claim = FinalizeClaim {
            chunks: chunks.len() as u64,
            samples: chunks.iter().map(|c| c.samples).sum(),
            cues: chunks.iter().map(|c| c.cues).sum(),
            events: chunks.iter().map(|c| c.events).sum(),
            digest: run_digest(chunks.iter().map(|c| c.digest.as_str())),
        };
        let mut to_send: Vec<u64> = (cursor.contiguous_chunks.min(claim.chunks)..claim.chunks).collect();
        for _ in 0..FINALIZE_ROUNDS {
            for index in &to_send {
                let i = *index as usize;
                let mut put = self.put_chunk(&run_path, &chunks[i], traffic)?;
                if chunks[i].encoding == ChunkEncoding::Columnar && matches!(put.status, 400 | 415) {
                    // An instance that does not take the columnar encoding (an old one in a
                    // rolling upgrade, behind the one whose cursor offered it): this run goes
                    // on in gzip JSON, which every server takes. Same chunks, same digests.
                    for chunk in &mut chunks {
                        if chunk.encoding == ChunkEncoding::Columnar {
                            *chunk = encode_chunk(&parts[chunk.index as usize]).map_err(Stop::Run)?;
                        }
                    }
                    put = self.put_chunk(&run_path, &chunks[i], traffic)?;
                }
                match put.status {
                    201 => report.chunks_sent += 1,
                    200 => report.chunks_already_held += 1,
                    status => {
                        return Err(Stop::Run(format!(
                            "the server refused chunk {index}: {status} {}",
                            put.message()
                        )));
                    }
                }
                self.lock().map_err(Stop::Pass)?.set_chunks_sent(&run.id, index + 1)?;
            }
            let body = serde_json::to_vec(&claim).map_err(|e| Stop::Run(e.to_string()))?;
            let done = self.client.send(
                &self.client.request(Method::Post, &format!("{run_path}/finalize"), &json, body),
                traffic,
            )?;
            let reply: Option<FinalizeReply> = serde_json::from_slice(&done.body).ok();
            match reply {
                Some(reply) if done.status == 200 && reply.confirmed => {
                    // The only deletion of run data, after the server said it holds it all.
                    self.lock().map_err(Stop::Pass)?.confirm_uploaded(&run.id, now_unix_ms())?;
                    return Ok(());
                }
                Some(reply) if !reply.missing.is_empty() => {
                    to_send = reply.missing.into_iter().filter(|i| *i < claim.chunks).collect();
                }
                _ => {
                    return Err(Stop::Run(format!(
                        "the server did not confirm the run: {} {}",
                        done.status,
                        done.message()
                    )));
                }
            }
        }
        Err(Stop::Run("the server still misses chunks after several rounds".into()))
    }

    /// `PUT` one chunk, with the headers of its encoding.
    fn put_chunk(
        &self,
        run_path: &str,
        chunk: &EncodedChunk,
        traffic: &mut Traffic,
    ) -> Result<HttpResponse, Stop> {
        Ok(self.client.send(
            &self.client.request(
                Method::Put,
                &format!("{run_path}/chunks/{}", chunk.index),
                chunk.encoding.headers(),
                chunk.body.clone(),
            ),
            traffic,
        )?)
    }
}

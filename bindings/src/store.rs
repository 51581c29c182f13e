//! The offline half of the library (DESIGN §7, §8): the on-device store, runs recorded into it
//! (written on a writer thread, never on the thread that feeds the engine) and resumed after a
//! kill, preload of plans and packs, and sync through the host's HTTP stack.
//!
//! Threads: [`Pacenote::sync_now`] and [`Pacenote::preload`] are async; their work runs on the
//! library's one tokio runtime (its blocking pool), which calls the host's [`HttpTransport`]
//! from there. Must not: write the store on a feed call's thread; run two sync passes at once.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use pacenote_sync::client::{Cancel, Client, RetryPolicy, Traffic, Transport};
use pacenote_sync::preload;
use pacenote_sync::recorder::Journal;
use pacenote_sync::upload::Syncer;
use pacenote_sync::{Batch, Checkpoint, FinishedRun, Store};

use pacenote_core::persona::{NEUTRAL_PERSONA, Wording};

use crate::error::{PacenoteError, guarded};
use crate::session::{CueListener, Engine, RunOptions, RunSession, SessionSetupArgs, WeekSoFar};
use crate::transport::{HostTransport, HttpTransport};

/// The database file inside the app's data folder.
const DB_FILE: &str = "pacenote.db";
/// Installed voice packs, inside the app's data folder.
const PACKS_DIR: &str = "packs";

/// The library's one tokio runtime (for the async calls; built on first use).
fn runtime() -> Result<&'static tokio::runtime::Runtime, PacenoteError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pacenote")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PacenoteError::Internal { reason: format!("no runtime: {e}") })
}

/// Runs `f` on the runtime's blocking pool and awaits it from whatever executor polls. `f` is
/// given a [`Cancel`] that is set when the awaiting future is dropped before it is done (a
/// Kotlin coroutine cancelled: uniffi drops the Rust future) or when `also` is cancelled (Swift,
/// whose tasks do not drop it: `withTaskCancellationHandler` calls `Cancellation.cancel`).
async fn off_thread<T: Send + 'static>(
    also: Option<Arc<Cancellation>>,
    f: impl FnOnce(Cancel) -> Result<T, PacenoteError> + Send + 'static,
) -> Result<T, PacenoteError> {
    /// Sets the flag when the future is dropped unfinished.
    struct CancelOnDrop(Option<Cancel>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(cancel) = self.0.take() {
                cancel.cancel();
            }
        }
    }
    let cancel = also.map_or_else(Cancel::new, |c| c.0.clone());
    let mut guard = CancelOnDrop(Some(cancel.clone()));
    let done = runtime()?
        .spawn_blocking(move || guarded(|| f(cancel)))
        .await
        .map_err(|e| PacenoteError::Internal { reason: format!("a background task failed: {e}") });
    guard.0 = None;
    done?
}

/// A "stop" the app hands to [`Pacenote::sync_now`] and [`Pacenote::preload`]: once cancelled,
/// no further request is sent (checked before each one and during waits between retries). In
/// Kotlin, cancelling the coroutine is enough; in Swift, cancel this from the task's
/// cancellation handler.
#[derive(Debug, Default, uniffi::Object)]
pub struct Cancellation(Cancel);

#[uniffi::export]
impl Cancellation {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

// ---- the writer thread ------------------------------------------------------------------

enum Write {
    Append { run_id: String, batch: Batch, checkpoint: Checkpoint },
    Finish { run_id: String, finished: FinishedRun },
    Barrier(mpsc::SyncSender<()>),
}

/// Hands a run's batches to the thread that writes the store.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Write>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Writer {
    fn spawn(store: Arc<Mutex<Store>>) -> Result<Self, PacenoteError> {
        let (tx, rx) = mpsc::channel::<Write>();
        let last_error = Arc::new(Mutex::new(None));
        let errors = last_error.clone();
        std::thread::Builder::new()
            .name("pacenote-store".into())
            .spawn(move || write_loop(&store, &rx, &errors))
            .map_err(|e| PacenoteError::Internal { reason: format!("no writer thread: {e}") })?;
        Ok(Self { tx, last_error })
    }

    /// Queues whatever the journal holds.
    pub fn append(&self, journal: &mut Journal) {
        if let Some((batch, checkpoint)) = journal.flush() {
            let _ = self.tx.send(Write::Append { run_id: journal.run_id().to_owned(), batch, checkpoint });
        }
    }

    /// Queues the rest and marks the run finished with its summary.
    pub fn finish(&self, journal: &mut Journal) {
        self.append(journal);
        match journal.finished() {
            Ok(finished) => {
                let _ = self.tx.send(Write::Finish { run_id: journal.run_id().to_owned(), finished });
            }
            Err(e) => tracing::error!(error = %e, "the run's summary could not be written"),
        }
    }

    /// Waits until everything queued so far is written.
    fn barrier(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.tx.send(Write::Barrier(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

fn write_loop(store: &Mutex<Store>, rx: &mpsc::Receiver<Write>, errors: &Mutex<Option<String>>) {
    // Batches the store refused (a full disk), kept and written ahead of the next one.
    let mut refused: std::collections::HashMap<String, Batch> = std::collections::HashMap::new();
    for write in rx {
        let Ok(mut store) = store.lock() else { return };
        let result = match write {
            Write::Append { run_id, mut batch, checkpoint } => {
                if let Some(mut earlier) = refused.remove(&run_id) {
                    earlier.inputs.append(&mut batch.inputs);
                    earlier.cues.append(&mut batch.cues);
                    earlier.events.append(&mut batch.events);
                    batch = earlier;
                }
                store.append(&run_id, &batch, checkpoint).inspect_err(|_| {
                    refused.insert(run_id, batch);
                })
            }
            Write::Finish { run_id, finished } => store.finish_run(&run_id, &finished),
            Write::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let mut last = errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(()) => *last = None,
            Err(e) => {
                tracing::error!(error = %e, "the store refused a write; it is kept and retried");
                *last = Some(e.to_string());
            }
        }
    }
}

// ---- records ----------------------------------------------------------------------------

/// Where a resumed run picked up.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct ResumePoint {
    /// The run clock reached: continue feeding from here.
    pub t_ms: u64,
    /// The plan step the run is in.
    pub step_index: Option<u32>,
    pub distance_m: f64,
    pub moving_time_s: f64,
    /// Stored inputs the engine took again.
    pub inputs_replayed: u64,
}

/// What a sync pass did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// How the pass ended, and what to do next.
    pub outcome: SyncOutcome,
    pub runs_uploaded: u64,
    pub runs_pending: u64,
    pub chunks_sent: u64,
    pub chunks_already_held: u64,
    pub requests: u64,
    pub retries: u64,
    pub bytes_sent: u64,
}

/// How a sync pass ended: each asks something different of the app.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncOutcome {
    /// Every finished run is on the server (or there was none to send).
    Done,
    /// The host said it is offline: nothing was tried. Sync when it is back online.
    Offline,
    /// The server could not be reached, was busy or asked to wait: sync again at
    /// `retry_at_unix_ms` (never sooner than the server asked).
    RetryAt { retry_at_unix_ms: u64, reason: String },
    /// The token was refused: nothing uploads until the runner signs in again.
    Unauthorized { reason: String },
    /// The server refused this run (the others went on): it stays on the phone and is tried
    /// again at `retry_at_unix_ms`; `reason` is the server's.
    RunRefused { run_id: String, reason: String, retry_at_unix_ms: u64 },
    /// The phone's store failed (a full disk, a broken file); nothing was lost.
    StoreFailed { reason: String },
    /// The app cancelled the pass: nothing more was sent; call again when it suits.
    Cancelled,
}

/// What a preload fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PreloadReport {
    pub plan_unchanged: bool,
    /// The pack, and the plan's note clips in its voice, were already current.
    pub pack_unchanged: bool,
    pub files_downloaded: u64,
    pub bytes_downloaded: u64,
}

/// What a history restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RestoreReport {
    /// Runs the server listed for this runner.
    pub listed: u64,
    /// Finished runs stored on this phone now.
    pub restored: u64,
    /// Runs this phone had already (restoring again stores nothing twice).
    pub already_here: u64,
    /// Runs still uploading from another phone: a later restore brings them.
    pub not_finalized: u64,
}

/// Whether a run can start with no signal, and if not, what is missing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfflineReadiness {
    pub ready: bool,
    pub missing: Vec<String>,
}

/// A run in the store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoredRunInfo {
    pub id: String,
    pub plan_id: String,
    pub persona: String,
    pub started_at_unix_ms: u64,
    pub finished: bool,
    /// The server confirmed it (its log has left the phone).
    pub uploaded: bool,
    pub samples: u64,
    pub effort: Option<u8>,
}

// ---- the handle -------------------------------------------------------------------------

/// The app's Pacenote: the store in `data_dir`, the server it syncs with, the host's HTTP
/// stack. Open one per app (opening does file I/O: not on the main thread).
#[derive(uniffi::Object)]
pub struct Pacenote {
    store: Arc<Mutex<Store>>,
    writer: Writer,
    syncer: Arc<Syncer>,
    preloader: Arc<Client>,
    packs_dir: PathBuf,
}

impl std::fmt::Debug for Pacenote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacenote").field("packs_dir", &self.packs_dir).finish_non_exhaustive()
    }
}

pub(crate) fn now_unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A run id no other phone will pick: the start time and a random suffix.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_unix_ms());
    format!("run-{}-{:016x}", now_unix_ms(), h.finish())
}

impl Pacenote {
    /// The finished runs of the store as `read` takes them (`pacenote_sync::history`), once
    /// every queued write is in; runs whose summary does not load are logged and left out.
    pub(crate) fn history<T>(
        &self,
        read: impl FnOnce(&Store) -> Result<(Vec<T>, Vec<String>), pacenote_sync::StoreError>,
    ) -> Result<Vec<T>, PacenoteError> {
        self.writer.barrier();
        let (runs, left_out) = read(&*self.lock()?)?;
        if !left_out.is_empty() {
            tracing::warn!(?left_out, "runs whose summary does not load are left out of the history");
        }
        Ok(runs)
    }
}

#[uniffi::export]
impl Pacenote {
    /// Opens (creating, migrating) the store in `data_dir`; syncs with `server_url` (e.g.
    /// `https://sync.example.com`) as the user of `token`, through `transport`.
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        server_url: String,
        token: Option<String>,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, PacenoteError> {
        guarded(|| {
            let dir = PathBuf::from(&data_dir);
            std::fs::create_dir_all(&dir).map_err(|e| PacenoteError::store(format!("{data_dir}: {e}")))?;
            let store = Arc::new(Mutex::new(Store::open(&dir.join(DB_FILE))?));
            let transport: Arc<dyn Transport> = Arc::new(HostTransport(transport));
            let sync_client =
                Client::new(&server_url, token.clone(), transport.clone(), RetryPolicy::default());
            let preloader = Arc::new(Client::new(&server_url, token, transport, RetryPolicy::default()));
            tracing::info!(data_dir, server_url, "store opened");
            Ok(Arc::new(Self {
                writer: Writer::spawn(store.clone())?,
                syncer: Arc::new(Syncer::new(store.clone(), sync_client)),
                store,
                preloader,
                packs_dir: dir.join(PACKS_DIR),
            }))
        })
    }

    /// Starts a run set up by `options` that is recorded into the store as it goes (every
    /// second; a kill loses at most the last one); `listener` hears every utterance. Without
    /// `options.week`, the week so far and the streak are counted from the store.
    pub fn start_run(
        &self,
        mut options: RunOptions,
        listener: Arc<dyn CueListener>,
    ) -> Result<Arc<RunSession>, PacenoteError> {
        guarded(|| {
            let started_at_unix_ms = options.started_at_unix_ms;
            if options.celebrate_week && options.week.is_none() {
                options.week = Some(self.week_so_far(options.runs_per_week, options.utc_offset_minutes)?);
            }
            let setup = SessionSetupArgs(options).build()?;
            let journal = {
                let mut store = self.lock()?;
                Journal::start(
                    &mut store,
                    &new_run_id(),
                    &setup.plan,
                    setup.wording.name(),
                    &setup.engine,
                    started_at_unix_ms.unwrap_or_else(now_unix_ms),
                )?
            };
            let engine = Engine::Recorded { journal, writer: self.writer.clone() };
            Ok(RunSession::with_engine(engine, setup.wording, listener, None))
        })
    }

    /// The run a killed app left unfinished, rebuilt at the step, distance and time it
    /// reached (see [`RunSession::resumed_at`]); `None` when there is none.
    pub fn resume_run(
        &self,
        listener: Arc<dyn CueListener>,
    ) -> Result<Option<Arc<RunSession>>, PacenoteError> {
        guarded(|| {
            self.writer.barrier();
            let mut store = self.lock()?;
            let Some(run_id) = store.unfinished_run()? else { return Ok(None) };
            let persona = store.setup(&run_id)?.map(|s| s.persona).unwrap_or_default();
            let (journal, resumed) = Journal::resume(&store, &run_id)?;
            if journal.session().is_finished() && journal.session().summary().effort.is_some() {
                // Killed after the check-in was stored and before the run was marked finished:
                // the run is whole; it is stored as finished and there is nothing to resume.
                store.finish_run(&run_id, &journal.finished()?)?;
                return Ok(None);
            }
            drop(store);
            let engine = Engine::Recorded { journal, writer: self.writer.clone() };
            Ok(Some(RunSession::with_engine(
                engine,
                // The resumed run goes on in the words it started in.
                Wording::named_in(&persona, resumed.lang)?,
                listener,
                Some((&resumed).into()),
            )))
        })
    }

    /// Every run in the store, oldest first.
    pub fn runs(&self) -> Result<Vec<StoredRunInfo>, PacenoteError> {
        guarded(|| {
            self.writer.barrier();
            let runs = self.lock()?.runs()?;
            Ok(runs.into_iter().map(StoredRunInfo::from).collect())
        })
    }

    /// This week's runs against `runs_planned` and the streak in weeks, from the finished runs
    /// in the store, each on the runner's own day (`utc_offset_minutes` east of UTC: the
    /// phone's time zone now). Pass it as `week` when a run starts, for the celebration at
    /// its finish.
    pub fn week_so_far(
        &self,
        runs_planned: u32,
        utc_offset_minutes: i32,
    ) -> Result<WeekSoFar, PacenoteError> {
        guarded(|| {
            use pacenote_core::coaching::goals::{WeeklyPlan, local_day, process_status};
            let offset_s = utc_offset_minutes.saturating_mul(60);
            let runs = self.history(|store| pacenote_sync::history::completed_runs(store, offset_s))?;
            let today = local_day(now_unix_ms(), offset_s).ok_or_else(|| {
                PacenoteError::invalid_input(format!("utc_offset_minutes {utc_offset_minutes}"))
            })?;
            let plan = (runs_planned > 0).then_some(WeeklyPlan { runs_per_week: runs_planned });
            let status = process_status(&runs, plan, today);
            Ok(WeekSoFar {
                runs_done: status.this_week.done,
                runs_planned,
                streak_weeks: status.streak_weeks,
            })
        })
    }

    /// SQLite's own check of the store file (after every queued write is done): `ok`, or what
    /// it found. For diagnostics, and for the kill tests.
    pub fn check_store(&self) -> Result<String, PacenoteError> {
        guarded(|| {
            self.writer.barrier();
            Ok(self.lock()?.integrity_check()?)
        })
    }

    /// The last write the store refused (a full disk), while it is still being retried.
    pub fn store_error(&self) -> Option<String> {
        self.writer.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// The host reports connectivity; offline, a sync pass tries nothing.
    pub fn set_connectivity(&self, online: bool) {
        self.syncer.set_connectivity(online);
    }

    /// When to call [`Pacenote::sync_now`] again after a failed pass (Unix ms), or `None`.
    pub fn next_sync_at_ms(&self) -> Option<u64> {
        self.syncer
            .next_sync_at()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64)
    }

    /// Uploads every finished run the server has not confirmed. Single-flight: calls that
    /// arrive during a pass wait for it and get its report. Safe to call any number of times.
    /// Cancelled (the coroutine, or `cancellation`), the pass sends nothing more and reports
    /// [`SyncOutcome::Cancelled`]; what the server confirmed stays confirmed.
    #[uniffi::method(default(cancellation))]
    pub async fn sync_now(
        self: Arc<Self>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<SyncReport, PacenoteError> {
        off_thread(cancellation, move |cancel| {
            self.writer.barrier();
            let report = self.syncer.sync_now_cancellable(&cancel);
            let retry_at_unix_ms = self.next_sync_at_ms().unwrap_or_else(now_unix_ms);
            Ok(SyncReport::of_pass(report, retry_at_unix_ms))
        })
        .await
    }

    /// Downloads a plan and a persona's pack (by content hash: nothing twice) for offline use.
    /// Cancelled (the coroutine, or `cancellation`), it sends nothing more and fails with
    /// [`PacenoteError::Cancelled`]; files already verified stay (the next preload skips them).
    #[uniffi::method(default(cancellation))]
    pub async fn preload(
        self: Arc<Self>,
        plan_id: String,
        persona: String,
        lang: String,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<PreloadReport, PacenoteError> {
        off_thread(cancellation, move |cancel| {
            let mut traffic = Traffic::cancellable(cancel);
            let plan = preload::preload_plan(&self.preloader, &self.store, &plan_id, &mut traffic)?;
            let (pack, notes) = if persona == NEUTRAL_PERSONA {
                let nothing = preload::Preloaded { unchanged: true, ..Default::default() };
                (nothing, nothing)
            } else {
                let pack = preload::preload_pack(
                    &self.preloader,
                    &self.store,
                    &persona,
                    &lang,
                    &self.packs_dir,
                    &mut traffic,
                )?;
                // The plan's notes in the persona's voice, into the pack just installed.
                let notes = preload::preload_notes(
                    &self.preloader,
                    &self.store,
                    &plan_id,
                    &persona,
                    &lang,
                    &self.packs_dir,
                    &mut traffic,
                )?;
                (pack, notes)
            };
            Ok(PreloadReport {
                plan_unchanged: plan.unchanged,
                pack_unchanged: pack.unchanged && notes.unchanged,
                files_downloaded: plan.files_downloaded + pack.files_downloaded + notes.files_downloaded,
                bytes_downloaded: plan.bytes_downloaded + pack.bytes_downloaded + notes.bytes_downloaded,
            })
        })
        .await
    }

    /// Brings the runner's finished runs back from the server (a new phone, a reinstall): each
    /// is stored as an uploaded run is kept — summary, analysis, check-in — so the history,
    /// week, streak, trends and goals read as on the old phone. Runs already here are left as
    /// they are; calling it again stores nothing twice. Cancelled, it sends nothing more and
    /// fails with [`PacenoteError::Cancelled`]; runs stored so far stay.
    #[uniffi::method(default(cancellation))]
    pub async fn restore_history(
        self: Arc<Self>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<RestoreReport, PacenoteError> {
        off_thread(cancellation, move |cancel| {
            self.writer.barrier();
            let mut traffic = Traffic::cancellable(cancel);
            let done = pacenote_sync::restore::restore_history(&self.preloader, &self.store, &mut traffic)?;
            Ok(RestoreReport {
                listed: done.listed,
                restored: done.restored,
                already_here: done.already_here,
                not_finalized: done.not_finalized,
            })
        })
        .await
    }

    /// Whether a run of `plan_id` coached by `persona` can start with no signal (the plan is
    /// stored, the pack installed and every clip matches its hash).
    pub fn is_ready_offline(
        &self,
        plan_id: String,
        persona: String,
        lang: String,
    ) -> Result<OfflineReadiness, PacenoteError> {
        guarded(|| Ok(preload::is_ready_offline(&*self.lock()?, &plan_id, &persona, &lang)?.into()))
    }

    /// A preloaded plan's JSON, to start a run with.
    pub fn cached_plan_json(&self, plan_id: String) -> Result<Option<String>, PacenoteError> {
        guarded(|| Ok(self.lock()?.cached_plan(&plan_id)?.map(|p| p.json)))
    }

    /// The folder of a persona's installed pack (manifest.json and its clips), for the player.
    pub fn pack_dir(&self, persona: String, lang: String) -> Result<Option<String>, PacenoteError> {
        guarded(|| {
            Ok(self.lock()?.cached_pack(&persona, &lang)?.map(|p| p.dir.to_string_lossy().into_owned()))
        })
    }
}

impl Drop for Pacenote {
    /// Closing the handle writes everything queued before it returns.
    fn drop(&mut self) {
        self.writer.barrier();
    }
}

impl Pacenote {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Store>, PacenoteError> {
        self.store
            .lock()
            .map_err(|_| PacenoteError::Internal { reason: "the store's lock was poisoned".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coaching::SummaryOptions;
    use crate::session::Utterance;
    use crate::transport::{HttpHeader, HttpRequest, HttpResponse, TransportFailure};
    use pacenote_core::coaching::goals::{GoalMeasure, GoalTier};
    use pacenote_core::sensor::LocationFix;
    use pacenote_server::content::Content;
    use pacenote_server::storage::{SqliteStorage, Storage};
    use pacenote_server::{AppState, RunningServer};
    use pacenote_sync::client::{self, Transport};

    /// The host's HTTP stack, played by the Rust transport.
    struct RustHttp(client::UreqTransport);
    impl HttpTransport for RustHttp {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
            let method = match request.method.as_str() {
                "GET" => client::Method::Get,
                "PUT" => client::Method::Put,
                _ => client::Method::Post,
            };
            let r = Transport::send(
                &self.0,
                &client::HttpRequest {
                    method,
                    url: request.url,
                    headers: request.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                    body: request.body,
                },
            )
            .map_err(|e| TransportFailure::NoConnection { reason: e.to_string() })?;
            Ok(HttpResponse {
                status: r.status,
                headers: r.headers.into_iter().map(|(name, value)| HttpHeader { name, value }).collect(),
                body: r.body,
            })
        }
    }

    #[derive(Default)]
    struct Count(Mutex<u64>);
    impl CueListener for Count {
        fn on_utterance(&self, _: Utterance) {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        }
    }

    fn server(dir: &std::path::Path) -> (RunningServer, Arc<SqliteStorage>) {
        let storage = Arc::new(SqliteStorage::open(&dir.join("server.db")).expect("server db"));
        storage.add_user("runner", "t0ken").expect("user");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut content = Content::default();
        content.add_plans(&root.join("core/plans")).expect("plans");
        content.add_packs(&root.join("audio/packs")).expect("packs");
        let state = AppState::new(storage.clone(), Arc::new(content)).expect("threads");
        (RunningServer::start("127.0.0.1:0".parse().expect("addr"), state).expect("server"), storage)
    }

    fn open(dir: &std::path::Path, server: &RunningServer) -> Arc<Pacenote> {
        let http = Arc::new(RustHttp(client::UreqTransport::new(std::time::Duration::from_secs(5))));
        Pacenote::open(
            dir.to_string_lossy().into_owned(),
            format!("http://{}", server.addr),
            Some("t0ken".into()),
            http,
        )
        .expect("opens")
    }

    fn fix(s: u64) -> LocationFix {
        LocationFix {
            t_ms: s * 1000,
            lat_deg: 0.0,
            lon_deg: s as f64 * 3.0 / 111_320.0,
            horizontal_accuracy_m: 5.0,
            speed_mps: Some(3.0),
            speed_accuracy_mps: None,
            altitude_m: None,
        }
    }

    /// Awaits a future as a host's executor would (not the library's runtime).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("rt").block_on(f)
    }

    /// A slow network: every request takes 100 ms, and they are counted.
    struct SlowHttp(RustHttp, std::sync::atomic::AtomicU64);
    impl HttpTransport for SlowHttp {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(100));
            self.0.send(request)
        }
    }

    #[test]
    fn a_cancelled_sync_or_preload_sends_nothing_more() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().expect("dir");
        let (server, storage) = server(dir.path());
        let http = Arc::new(SlowHttp(
            RustHttp(client::UreqTransport::new(std::time::Duration::from_secs(5))),
            Default::default(),
        ));
        let app = Pacenote::open(
            dir.path().join("app").to_string_lossy().into_owned(),
            format!("http://{}", server.addr),
            Some("t0ken".into()),
            http.clone(),
        )
        .expect("opens");
        let plan = include_str!("../../core/plans/tempo-20.json");
        // Three finished runs of ten minutes: a whole pass is some 30 requests of 100 ms.
        for _ in 0..3 {
            let run = app.start_run(RunOptions::plan(plan), Arc::new(Count::default())).expect("run");
            run.start(0).expect("start");
            for s in 1..=600 {
                run.location(fix(s)).expect("fix");
            }
            run.finish(600_001).expect("finish");
            run.save().expect("saved");
        }
        // The coroutine is cancelled (its future dropped) a third of a second in.
        let rt = tokio::runtime::Builder::new_multi_thread().enable_time().build().expect("rt");
        let pass = rt.spawn(app.clone().sync_now(None));
        std::thread::sleep(std::time::Duration::from_millis(350));
        pass.abort();
        let at_cancel = http.1.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let after = http.1.load(Ordering::SeqCst);
        assert!(after <= at_cancel + 1, "{at_cancel} requests at the cancel, {after} a second later");
        assert!(app.runs().expect("runs").iter().any(|r| !r.uploaded), "the pass did not run to its end");
        // Not a failure: no back-off, and the next pass finishes the job.
        assert_eq!(app.next_sync_at_ms(), None);
        let report = block_on(app.clone().sync_now(None)).expect("sync");
        assert_eq!(report.outcome, SyncOutcome::Done, "{report:?}");
        assert_eq!(storage.runs("runner").expect("server runs").iter().filter(|r| r.finalized).count(), 3);
        // Swift's way: a Cancellation cancelled by the task's handler; a cancelled preload fails
        // typed, having sent nothing.
        let stop = Cancellation::new();
        stop.cancel();
        let before = http.1.load(Ordering::SeqCst);
        let preload =
            block_on(app.clone().preload("tempo-20".into(), "stone".into(), "en".into(), Some(stop)));
        assert!(matches!(preload, Err(PacenoteError::Cancelled)), "{preload:?}");
        assert_eq!(http.1.load(Ordering::SeqCst), before);
    }

    /// Keeps what was said.
    #[derive(Default)]
    struct Said(Mutex<Vec<String>>);
    impl CueListener for Said {
        fn on_utterance(&self, u: Utterance) {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(u.text);
        }
    }

    #[test]
    fn a_run_resumed_after_a_kill_goes_on_in_its_language() {
        let dir = tempfile::tempdir().expect("dir");
        let (server, _) = server(dir.path());
        let app = open(&dir.path().join("app"), &server);
        let plan = include_str!("../../core/plans/tempo-20.json");
        let options = RunOptions { persona: "stone".into(), lang: "fr".into(), ..RunOptions::plan(plan) };
        let run = app.start_run(options, Arc::new(Said::default())).expect("run");
        run.start(0).expect("start");
        for s in 1..=60 {
            run.location(fix(s)).expect("fix");
        }
        drop(run);
        drop(app);
        let app = open(&dir.path().join("app"), &server);
        let said = Arc::new(Said::default());
        let run = app.resume_run(said.clone()).expect("resume").expect("an unfinished run");
        run.finish(61_000).expect("finish");
        let french =
            pacenote_core::persona::Persona::bundled_in("stone", pacenote_core::speech::Language::Fr)
                .expect("stone");
        let finish = french.variants(pacenote_core::cue::CueKind::RunFinish);
        let heard = said.0.lock().expect("lock").clone();
        assert!(
            heard
                .iter()
                .any(|text| finish.iter().any(|line| text.contains(line.split('{').next().unwrap_or(line)))),
            "the resumed run finishes in French: {heard:?}"
        );
    }

    #[test]
    fn preload_record_resume_and_sync_through_the_api() {
        let dir = tempfile::tempdir().expect("dir");
        let (server, storage) = server(dir.path());
        let app = open(&dir.path().join("app"), &server);

        let ready = app.is_ready_offline("tempo-20".into(), "jenna".into(), "en".into()).expect("ready");
        assert!(!ready.ready && ready.missing.len() == 2, "{ready:?}");
        let report = block_on(app.clone().preload("tempo-20".into(), "jenna".into(), "en".into(), None))
            .expect("preload");
        assert!(report.files_downloaded > 100, "{report:?}");
        assert!(app.is_ready_offline("tempo-20".into(), "jenna".into(), "en".into()).expect("ready").ready);
        let plan = app.cached_plan_json("tempo-20".into()).expect("plan").expect("cached");

        let heard = Arc::new(Count::default());
        let options = RunOptions { persona: "jenna".into(), ..RunOptions::plan(plan) };
        let run = app.start_run(options, heard.clone()).expect("run");
        run.start(0).expect("start");
        for s in 1..=400 {
            run.location(fix(s)).expect("fix");
            run.tick(s * 1000).expect("tick");
        }
        let step = run.summary().steps_completed;
        // The app is killed: the session is let go of; a new app opens the same folder.
        drop(run);
        drop(app);
        let app = open(&dir.path().join("app"), &server);
        let run = app.resume_run(heard.clone()).expect("resume").expect("an unfinished run");
        let at = run.resumed_at().expect("resumed");
        assert_eq!(at.t_ms, 400_000);
        assert_eq!(run.summary().steps_completed, step);
        assert!((at.distance_m - 1200.0).abs() < 60.0, "{at:?}");
        for s in 401..=600 {
            run.location(fix(s)).expect("fix");
            run.tick(s * 1000).expect("tick");
        }
        run.finish(600_001).expect("finish");
        run.check_in(605_000, 6).expect("check-in");
        let (distance_m, moving_time_s) = (run.summary().distance_m, run.summary().moving_time_s);
        assert!(*heard.0.lock().expect("lock") > 3);

        app.set_connectivity(false);
        let offline = block_on(app.clone().sync_now(None)).expect("sync");
        assert!(offline.outcome == SyncOutcome::Offline && offline.runs_uploaded == 0);
        app.set_connectivity(true);
        let report = block_on(app.clone().sync_now(None)).expect("sync");
        assert_eq!((report.runs_uploaded, &report.outcome), (1, &SyncOutcome::Done), "{report:?}");
        assert!(app.next_sync_at_ms().is_none());
        let runs = app.runs().expect("runs");
        assert!(runs[0].uploaded && runs[0].finished && runs[0].effort == Some(6), "{runs:?}");
        // The uploaded run still counts for the week (its header and summary stay): ten
        // minutes of moving time, today.
        let week = app.week_so_far(3, 0).expect("week");
        assert_eq!((week.runs_done, week.runs_planned, week.streak_weeks), (1, 3, 1), "{week:?}");
        let held = storage.runs("runner").expect("server runs");
        assert!(held[0].finalized && held[0].samples >= 1200, "{held:?}");
        assert!(app.resume_run(heard).expect("resume").is_none());

        // The post-run summary outlives the log's upload: it was stored at the finish, and it
        // says the distance and time the run itself said.
        let goal = |deadline: &str| crate::coaching::Goal {
            tier: GoalTier::Process,
            what: "three runs a week".into(),
            target: None,
            deadline: Some(deadline.into()),
            measure: Some(GoalMeasure::RunsPerWeek { runs: 3 }),
        };
        let options = |goals| SummaryOptions {
            run_id: None,
            reference_hr_bpm: None,
            runs_per_week: 3,
            goals,
            utc_offset_minutes: 0,
        };
        let summary = app.run_summary(options(vec![goal("2030-01-01")])).expect("a summary");
        assert_eq!(summary.run_id, runs[0].id);
        assert!((summary.run.distance_m - distance_m).abs() < 1e-9, "{summary:?}");
        assert!((summary.run.moving_time_s - moving_time_s).abs() < 1e-9, "{summary:?}");
        assert_eq!(summary.run.splits.len(), (distance_m / 1000.0) as usize);
        assert_eq!((summary.week.runs_done, summary.trend.runs_before), (1, 0));
        assert_eq!(summary.goals[0].words, "1 of 3 runs this week");
        // No heart rate: no efficiency and no pace at a heart rate, not a guess.
        assert_eq!(summary.run.efficiency_factor, None);
        assert!(app.pace_trend(None, 0).expect("trend").points.is_empty());
        assert!(matches!(
            app.run_summary(options(vec![goal("next spring")])),
            Err(PacenoteError::InvalidInput { .. })
        ));
    }
}

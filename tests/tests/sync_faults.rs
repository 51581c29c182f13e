//! Sync under a bad network (DESIGN §11): the real server on loopback behind a fault-injecting
//! proxy that drops connections mid-body, loses answers after the server acted, answers 500 or
//! 503 with Retry-After, hangs past the client's timeout and delivers requests twice; servers
//! restart between passes. Over random fault schedules, once the faults clear the server holds
//! exactly the client's runs — no sample twice, none missing — and no run left the phone before
//! the server confirmed it. On PostgreSQL the same holds for two server instances over one
//! database taking requests alternately, with restarts of either, and for eight phones syncing
//! at once through them.

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pacenote_core::engine::Input;
use pacenote_core::plan::Plan;
use pacenote_core::sensor::{HeartRateReading, LocationFix};
use pacenote_server::content::Content;
use pacenote_server::storage::Storage;
use pacenote_server::test_backends::{Backend, TestDatabase};
use pacenote_server::{AppState, RunningServer};
use pacenote_sync::Store;
use pacenote_sync::client::{Client, RetryPolicy, UreqTransport};
use pacenote_sync::recorder::{Recorder, SessionSetup};
use pacenote_sync::upload::{SyncReport, SyncStop, Syncer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

pacenote_server::on_both_backends!(
    under_random_fault_schedules_the_server_ends_with_exactly_the_clients_runs,
    each_fault_alone_on_every_kind_of_request_is_survived,
    retry_after_is_honoured_and_a_long_one_ends_the_pass,
    sync_now_is_single_flight_however_many_callers,
    a_run_stays_on_the_phone_until_a_finalize_answer_arrives,
    a_fleet_part_way_through_an_upgrade_takes_every_run,
);

const TOKEN: &str = "runner-token";
/// Under random faults the client gives up on a request after this long; a hanging proxy
/// waits longer. (A slow machine only adds spurious timeouts, which the protocol must survive.)
const CLIENT_TIMEOUT: Duration = Duration::from_millis(400);
const HANG: Duration = Duration::from_millis(600);
/// Tests that count deliveries use a timeout no loaded machine reaches, so that every retry
/// they see is one they caused.
const PATIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// Forward it and its answer.
    Pass,
    /// Forward half the body, then cut both connections.
    DropMidBody,
    /// Forward it, let the server act, then cut the client off without its answer.
    DropAnswer,
    /// Answer 500 without forwarding.
    ServerError,
    /// Answer 503 with `Retry-After: N` without forwarding.
    Unavailable(u8),
    /// Hold the connection past the client's timeout, then cut it.
    Hang,
    /// Deliver it to the server twice; the client gets the second answer.
    Duplicate,
}

/// An HTTP/1.1 proxy that handles one request per connection and applies the next fault; with
/// several upstreams (server instances) it sends each request to the next one in turn, as a
/// round-robin load balancer does.
struct Proxy {
    addr: SocketAddr,
    upstreams: Arc<Mutex<(Vec<SocketAddr>, usize)>>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    /// Requests that reached the server, by "METHOD path".
    delivered: Arc<Mutex<BTreeMap<String, u64>>>,
    /// A standing fault for every request whose line contains the text.
    targeted: Arc<Mutex<Option<(String, Fault)>>>,
    stop: Arc<AtomicBool>,
}

fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// The head with `Connection: close` (one request per upstream connection).
fn closing(head: &str) -> String {
    let mut out: Vec<&str> =
        head.trim_end().lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    out.push("Connection: close");
    format!("{}\r\n\r\n", out.join("\r\n"))
}

fn forward(upstream: SocketAddr, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)).ok()?;
    server.write_all(closing(head).as_bytes()).ok()?;
    server.write_all(body).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;
    Some(answer)
}

impl Proxy {
    fn start(upstreams: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        listener.set_nonblocking(true).expect("nonblocking");
        let proxy = Proxy {
            addr: listener.local_addr().expect("addr"),
            upstreams: Arc::new(Mutex::new((upstreams, 0))),
            faults: Arc::new(Mutex::new(VecDeque::new())),
            delivered: Arc::new(Mutex::new(BTreeMap::new())),
            targeted: Arc::new(Mutex::new(None)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (upstreams, faults, delivered, stop) =
            (proxy.upstreams.clone(), proxy.faults.clone(), proxy.delivered.clone(), proxy.stop.clone());
        let targeted = proxy.targeted.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let upstream = {
                            let mut u = upstreams.lock().expect("lock");
                            u.1 = u.1.wrapping_add(1);
                            u.0[u.1 % u.0.len()]
                        };
                        let (faults, delivered, targeted) =
                            (faults.clone(), delivered.clone(), targeted.clone());
                        std::thread::spawn(move || handle(conn, upstream, &faults, &delivered, &targeted));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        proxy
    }

    fn inject(&self, faults: &[Fault]) {
        self.faults.lock().expect("lock").extend(faults.iter().copied());
    }

    fn clear(&self) {
        self.faults.lock().expect("lock").clear();
    }

    fn point_at(&self, upstreams: Vec<SocketAddr>) {
        self.upstreams.lock().expect("lock").0 = upstreams;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn handle(
    mut conn: TcpStream,
    upstream: SocketAddr,
    faults: &Mutex<VecDeque<Fault>>,
    delivered: &Mutex<BTreeMap<String, u64>>,
    targeted: &Mutex<Option<(String, Fault)>>,
) {
    let _ = conn.set_nonblocking(false);
    let Some((head, body)) = read_request(&mut conn) else { return };
    let line: String =
        head.lines().next().unwrap_or_default().rsplitn(2, ' ').last().unwrap_or_default().to_owned();
    let standing = targeted.lock().expect("lock").clone().filter(|(text, _)| line.contains(text.as_str()));
    let fault = match standing {
        Some((_, fault)) => fault,
        None => faults.lock().expect("lock").pop_front().unwrap_or(Fault::Pass),
    };
    let count = |n: u64| *delivered.lock().expect("lock").entry(line.clone()).or_default() += n;
    let canned = |status: &str, extra: &str| {
        let body = r#"{"error":"injected fault"}"#;
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match fault {
        Fault::Pass => {
            if let Some(answer) = forward(upstream, &head, &body) {
                count(1);
                let _ = conn.write_all(&answer);
            }
        }
        Fault::DropMidBody => {
            if let Ok(mut server) = TcpStream::connect(upstream) {
                let _ = server.write_all(closing(&head).as_bytes());
                let _ = server.write_all(&body[..body.len() / 2]);
                let _ = server.shutdown(std::net::Shutdown::Both);
            }
        }
        Fault::DropAnswer => {
            if forward(upstream, &head, &body).is_some() {
                count(1);
            }
        }
        Fault::ServerError => {
            let _ = conn.write_all(canned("500 Internal Server Error", "").as_bytes());
        }
        Fault::Unavailable(seconds) => {
            let _ = conn.write_all(
                canned("503 Service Unavailable", &format!("retry-after: {seconds}\r\n")).as_bytes(),
            );
        }
        Fault::Hang => std::thread::sleep(HANG),
        Fault::Duplicate => {
            let first = forward(upstream, &head, &body);
            let second = forward(upstream, &head, &body);
            count(u64::from(first.is_some()) + u64::from(second.is_some()));
            if let Some(answer) = second.or(first) {
                let _ = conn.write_all(&answer);
            }
        }
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// The server: one or more instances over one database, each restartable on the same data.
struct Server {
    db: TestDatabase,
    instances: Vec<Option<RunningServer>>,
    /// Which instances take gzip JSON chunks only (a fleet part-way through an upgrade).
    gzip_only: Vec<bool>,
    storage: Arc<dyn Storage>,
}

impl Server {
    fn start(dir: &Path, backend: Backend) -> Self {
        Self::start_instances(dir, backend, 1)
    }

    /// `n` instances, each with its own storage (its own connection pool on PostgreSQL): they
    /// share nothing but the database.
    fn start_instances(dir: &Path, backend: Backend, n: usize) -> Self {
        Self::start_fleet(dir, backend, vec![false; n])
    }

    /// One instance per entry of `gzip_only`, old (gzip JSON chunks only) where it holds.
    fn start_fleet(dir: &Path, backend: Backend, gzip_only: Vec<bool>) -> Self {
        let db = TestDatabase::new(backend, dir);
        let instances = gzip_only.iter().map(|old| Some(Self::boot(&db, *old))).collect();
        let storage = db.open();
        storage.add_user("runner", TOKEN).expect("user");
        Server { db, instances, gzip_only, storage }
    }

    fn boot(db: &TestDatabase, gzip_only: bool) -> RunningServer {
        // No rate limit: these tests count deliveries, and eight phones share one user.
        let mut state =
            AppState::with_rate_limit(db.open(), Arc::new(Content::default()), None).expect("threads");
        if gzip_only {
            state = state.gzip_json_chunks_only();
        }
        RunningServer::start("127.0.0.1:0".parse().expect("addr"), state).expect("server starts")
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.instances.iter().map(|i| i.as_ref().expect("running").addr).collect()
    }

    /// Stops instance `which` (in-flight requests finish) and starts a new one on the same
    /// data; returns every instance's address.
    fn restart(&mut self, which: usize) -> Vec<SocketAddr> {
        let which = which % self.instances.len();
        if let Some(r) = self.instances[which].take() {
            r.stop();
        }
        self.instances[which] = Some(Self::boot(&self.db, self.gzip_only[which]));
        self.addrs()
    }
}

/// A finished run of `seconds` with GPS and heart rate every second.
fn record_run(store: &mut Store, id: &str, seconds: u64) {
    let plan = Plan::from_json(include_bytes!("../../core/plans/tempo-20.json")).expect("plan");
    let mut rec =
        Recorder::start(store, id, &plan, "stone", &SessionSetup::default(), seconds).expect("start");
    let mut feed = |input: Input| {
        for u in rec.feed(store, &input).expect("feed") {
            let text = u.neutral_text();
            rec.spoken(&u, text);
        }
    };
    feed(Input::Start { t_ms: 0 });
    for s in 1..=seconds {
        let t_ms = s * 1000;
        feed(Input::Fix(LocationFix {
            t_ms,
            lat_deg: 0.0,
            lon_deg: s as f64 * 3.2 / 111_320.0,
            horizontal_accuracy_m: 5.0,
            speed_mps: Some(3.2),
            speed_accuracy_mps: None,
            altitude_m: Some(10.0),
        }));
        feed(Input::HeartRate(HeartRateReading { t_ms, bpm: 150.0 }));
        feed(Input::Tick { t_ms });
    }
    feed(Input::Finish { t_ms: seconds * 1000 + 1 });
    rec.finish(store).expect("finish");
}

fn syncer(store: Arc<Mutex<Store>>, proxy: &Proxy, timeout: Duration) -> Syncer {
    let policy =
        RetryPolicy { base_delay: Duration::from_millis(2), max_delay: Duration::from_secs(2), attempts: 3 };
    let transport = Arc::new(UreqTransport::new(timeout));
    Syncer::new(store, Client::new(&format!("http://{}", proxy.addr), Some(TOKEN.into()), transport, policy))
}

/// The client's samples per run, as the server should end up holding them.
type Samples = BTreeMap<String, Vec<(u64, u64, serde_json::Value)>>;

fn parsed(rows: Vec<(u64, u64, String)>) -> Vec<(u64, u64, serde_json::Value)> {
    rows.into_iter().map(|(s, t, j)| (s, t, serde_json::from_str(&j).expect("json"))).collect()
}

/// Nothing left the phone unless the server finalized it.
fn check_no_early_deletion(store: &Mutex<Store>, server: &Server) {
    let finalized: Vec<String> = server
        .storage
        .runs("runner")
        .expect("runs")
        .into_iter()
        .filter(|r| r.finalized)
        .map(|r| r.id)
        .collect();
    for run in store.lock().expect("lock").runs().expect("runs") {
        if run.uploaded {
            assert!(
                finalized.contains(&run.id),
                "run {} left the phone before the server confirmed it",
                run.id
            );
        } else {
            assert!(run.samples > 0, "run {} lost its samples before confirmation", run.id);
        }
    }
}

#[derive(Debug, Default)]
struct Figures {
    schedules: u64,
    faults: BTreeMap<String, u64>,
    restarts: u64,
    runs: u64,
    samples: u64,
    duplicates: u64,
    lost: u64,
    passes: u64,
}

/// One schedule: runs recorded between passes, faults on the requests, restarts; then the
/// faults clear and the server must hold exactly the client's runs.
/// One pass's set-up: which instance restarts before it (if any), and the faults on its
/// requests.
type Op = (Option<usize>, Vec<Fault>);

fn run_schedule(backend: Backend, runs: &[u64], ops: &[Op], figures: &mut Figures) {
    run_schedule_on(backend, 1, runs, ops, figures);
}

fn run_schedule_on(backend: Backend, instances: usize, runs: &[u64], ops: &[Op], figures: &mut Figures) {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::start_instances(dir.path(), backend, instances);
    let proxy = Proxy::start(server.addrs());
    let store = Arc::new(Mutex::new(Store::open(&dir.path().join("device.db")).expect("device")));
    let sync = syncer(store.clone(), &proxy, CLIENT_TIMEOUT);
    let mut expected = Samples::new();
    let mut runs_left: VecDeque<(usize, u64)> = runs.iter().copied().enumerate().collect();
    for (restart, faults) in ops {
        if let Some((i, seconds)) = runs_left.pop_front() {
            let id = format!("run-{i}");
            let mut s = store.lock().expect("lock");
            record_run(&mut s, &id, seconds);
            expected.insert(id.clone(), parsed(s.log(&id).expect("log").inputs));
        }
        if let Some(which) = restart {
            proxy.point_at(server.restart(*which));
            figures.restarts += 1;
        }
        for f in faults {
            *figures.faults.entry(format!("{f:?}")).or_default() += 1;
        }
        proxy.inject(faults);
        sync.sync_now();
        figures.passes += 1;
        check_no_early_deletion(&store, &server);
    }
    for (i, seconds) in runs_left {
        let id = format!("run-{i}");
        let mut s = store.lock().expect("lock");
        record_run(&mut s, &id, seconds);
        expected.insert(id.clone(), parsed(s.log(&id).expect("log").inputs));
    }
    // The faults clear: a few passes finish the job.
    proxy.clear();
    let mut last = SyncReport::default();
    for _ in 0..8 {
        last = sync.sync_now();
        figures.passes += 1;
        check_no_early_deletion(&store, &server);
        if last.runs_pending == 0 && last.stopped.is_none() {
            break;
        }
    }
    assert_eq!((last.runs_pending, last.stopped.as_ref()), (0, None), "{last:?}");
    let held = server.storage.runs("runner").expect("runs");
    assert_eq!(
        held.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        expected.keys().cloned().collect::<Vec<_>>()
    );
    for run in &held {
        assert!(run.finalized);
        let got = parsed(server.storage.samples("runner", &run.id).expect("samples"));
        let want = &expected[&run.id];
        figures.duplicates += got.len().saturating_sub(want.len()) as u64;
        figures.lost += want.iter().filter(|s| !got.contains(s)).count() as u64;
        assert_eq!(&got, want, "run {}", run.id);
        figures.samples += want.len() as u64;
    }
    for run in store.lock().expect("lock").runs().expect("runs") {
        assert!(run.uploaded && run.samples == 0, "confirmed runs leave the phone");
    }
    figures.runs += held.len() as u64;
    figures.schedules += 1;
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::Pass),
        2 => Just(Fault::DropMidBody),
        2 => Just(Fault::DropAnswer),
        2 => Just(Fault::ServerError),
        2 => Just(Fault::Unavailable(0)),
        1 => Just(Fault::Hang),
        2 => Just(Fault::Duplicate),
    ]
}

fn under_random_fault_schedules_the_server_ends_with_exactly_the_clients_runs(backend: Backend) {
    random_fault_schedules(backend, 1);
}

/// Two instances over one PostgreSQL database, requests alternating between them, either
/// restarting between passes, under the same random faults.
#[test]
fn under_random_fault_schedules_two_instances_end_with_exactly_the_clients_runs() {
    random_fault_schedules(Backend::Postgres, 2);
}

fn random_fault_schedules(backend: Backend, instances: usize) {
    let cases = std::env::var("PACENOTE_FAULT_SCHEDULES").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (
        prop::collection::vec(30u64..300, 1..4),
        prop::collection::vec(
            (prop::option::weighted(0.2, 0usize..2), prop::collection::vec(fault(), 0..12)),
            1..5,
        ),
    );
    let figures = Mutex::new(Figures::default());
    runner
        .run(&strategy, |(runs, ops)| {
            let mut f = figures.lock().expect("lock");
            run_schedule_on(backend, instances, &runs, &ops, &mut f);
            Ok(())
        })
        .expect("every schedule ends with the server holding exactly the client's runs");
    let f = figures.into_inner().expect("figures");
    println!(
        "fault schedules on {instances} {backend:?} instance(s): {} run ({} passes, {} server restarts, faults {:?}); {} runs, {} samples: {} duplicates, {} lost",
        f.schedules, f.passes, f.restarts, f.faults, f.runs, f.samples, f.duplicates, f.lost
    );
    assert_eq!((f.duplicates, f.lost), (0, 0));
}

fn each_fault_alone_on_every_kind_of_request_is_survived(backend: Backend) {
    for fault in [
        Fault::DropMidBody,
        Fault::DropAnswer,
        Fault::ServerError,
        Fault::Unavailable(0),
        Fault::Hang,
        Fault::Duplicate,
    ] {
        // The fault on 2 of every 3 requests of the first pass.
        let faults: Vec<Fault> = (0..30).map(|i| if i % 3 == 2 { Fault::Pass } else { fault }).collect();
        let mut figures = Figures::default();
        run_schedule(backend, &[150, 70], &[(None, faults), (Some(0), vec![fault; 3])], &mut figures);
        assert_eq!((figures.duplicates, figures.lost), (0, 0), "{fault:?}");
    }
}

fn retry_after_is_honoured_and_a_long_one_ends_the_pass(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path(), backend);
    let proxy = Proxy::start(server.addrs());
    let store = Arc::new(Mutex::new(Store::open(&dir.path().join("device.db")).expect("device")));
    record_run(&mut store.lock().expect("lock"), "r", 90);
    let sync = syncer(store.clone(), &proxy, PATIENT_TIMEOUT);
    proxy.inject(&[Fault::Unavailable(1)]);
    let started = Instant::now();
    let report = sync.sync_now();
    assert_eq!(report.runs_uploaded, 1, "{report:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited as asked");
    // A server asking for longer than the pass may wait: the pass ends, the next is scheduled.
    record_run(&mut store.lock().expect("lock"), "r2", 90);
    proxy.inject(&[Fault::Unavailable(120)]);
    let report = sync.sync_now();
    assert_eq!(report.runs_uploaded, 0);
    assert!(
        matches!(report.stopped, Some(SyncStop::TryLater { server_wait: Some(w), .. }) if w == Duration::from_secs(120)),
        "{report:?}"
    );
    // The next pass is scheduled no sooner than the server asked.
    let next = sync.next_sync_at().expect("scheduled");
    assert!(next >= std::time::SystemTime::now() + Duration::from_secs(110), "{next:?}");
    assert_eq!(sync.sync_now().runs_uploaded, 1);
    assert!(sync.next_sync_at().is_none());
}

fn sync_now_is_single_flight_however_many_callers(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path(), backend);
    let proxy = Proxy::start(server.addrs());
    let store = Arc::new(Mutex::new(Store::open(&dir.path().join("device.db")).expect("device")));
    record_run(&mut store.lock().expect("lock"), "r", 400);
    let sync = Arc::new(syncer(store.clone(), &proxy, PATIENT_TIMEOUT));
    let reports: Vec<SyncReport> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| sync.sync_now())).collect();
        handles.into_iter().map(|h| h.join().expect("caller")).collect()
    });
    assert!(reports.iter().any(|r| r.runs_uploaded == 1), "{reports:?}");
    // Every chunk and the header reached the server exactly once, whoever called.
    let delivered = proxy.delivered.lock().expect("lock").clone();
    for (request, n) in &delivered {
        if request.starts_with("PUT") {
            assert_eq!(*n, 1, "{request} delivered {n} times: {delivered:?}");
        }
    }
    assert_eq!(delivered.keys().filter(|k| k.contains("/chunks/")).count(), 7);
    assert_eq!(server.storage.runs("runner").expect("runs")[0].samples, 3 * 400 + 2);
}

fn a_run_stays_on_the_phone_until_a_finalize_answer_arrives(backend: Backend) {
    for fault in [Fault::ServerError, Fault::DropAnswer, Fault::Hang, Fault::DropMidBody] {
        let dir = tempfile::tempdir().expect("dir");
        let server = Server::start(dir.path(), backend);
        let proxy = Proxy::start(server.addrs());
        let store = Arc::new(Mutex::new(Store::open(&dir.path().join("device.db")).expect("device")));
        record_run(&mut store.lock().expect("lock"), "r", 130);
        let samples = store.lock().expect("lock").log("r").expect("log").inputs.len();
        let sync = syncer(store.clone(), &proxy, PATIENT_TIMEOUT);
        *proxy.targeted.lock().expect("lock") = Some(("/finalize".into(), fault));
        let report = sync.sync_now();
        assert_eq!(report.runs_uploaded, 0, "{fault:?}: {report:?}");
        let local = store.lock().expect("lock").runs().expect("runs");
        assert!(
            !local[0].uploaded && local[0].samples as usize == samples,
            "{fault:?}: kept whole until confirmed"
        );
        *proxy.targeted.lock().expect("lock") = None;
        let report = sync.sync_now();
        assert_eq!(report.runs_uploaded, 1, "{fault:?}: {report:?}");
        // Whatever the server already held is not sent again.
        assert_eq!(report.chunks_sent, 0, "{fault:?}: {report:?}");
        assert!(store.lock().expect("lock").runs().expect("runs")[0].uploaded);
        check_no_early_deletion(&store, &server);
    }
}

/// Eight phones syncing at once through a round-robin balancer in front of two instances over
/// one PostgreSQL database, each instance restarted while they sync: the server ends with
/// exactly every phone's runs (0 duplicates, 0 lost), and no phone let a run go before the
/// server confirmed it.
#[test]
fn eight_phones_through_two_instances_on_one_postgres_database() {
    const PHONES: usize = 8;
    let dir = tempfile::tempdir().expect("dir");
    let server = Mutex::new(Server::start_instances(dir.path(), Backend::Postgres, 2));
    let proxy = Proxy::start(server.lock().expect("lock").addrs());
    let phones: Vec<Arc<Mutex<Store>>> = (0..PHONES)
        .map(|p| Arc::new(Mutex::new(Store::open(&dir.path().join(format!("phone-{p}.db"))).expect("phone"))))
        .collect();
    let mut expected = Samples::new();
    for (p, store) in phones.iter().enumerate() {
        for (r, seconds) in [600, 420].into_iter().enumerate() {
            let id = format!("phone-{p}-run-{r}");
            let mut s = store.lock().expect("lock");
            record_run(&mut s, &id, seconds + p as u64 * 7);
            expected.insert(id.clone(), parsed(s.log(&id).expect("log").inputs));
        }
    }
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let reports: Vec<SyncReport> = std::thread::scope(|scope| {
        let finished = &finished;
        let syncing: Vec<_> = phones
            .iter()
            .map(|store| {
                let sync = syncer(store.clone(), &proxy, PATIENT_TIMEOUT);
                scope.spawn(move || {
                    // Passes until the phone's runs are confirmed (a restart may cut a pass).
                    let mut last = SyncReport::default();
                    for _ in 0..10 {
                        last = sync.sync_now();
                        if last.runs_pending == 0 && last.stopped.is_none() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                    last
                })
            })
            .collect();
        // Each instance restarts while the phones sync: one after 40 requests reached the
        // servers, the other after 120 (of about 300).
        for (which, after_requests) in [(0, 40), (1, 120)] {
            while proxy.delivered.lock().expect("lock").values().sum::<u64>() < after_requests {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(finished.load(Ordering::SeqCst) < PHONES, "the phones were still syncing");
            let addrs = server.lock().expect("lock").restart(which);
            proxy.point_at(addrs);
        }
        syncing.into_iter().map(|h| h.join().expect("phone")).collect()
    });
    for report in &reports {
        assert_eq!((report.runs_pending, report.stopped.as_ref()), (0, None), "{report:?}");
    }
    let server = server.into_inner().expect("server");
    let held = server.storage.runs("runner").expect("runs");
    assert_eq!(
        held.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        expected.keys().cloned().collect::<Vec<_>>()
    );
    let (mut duplicates, mut lost, mut samples) = (0, 0, 0);
    for run in &held {
        assert!(run.finalized, "{}", run.id);
        let got = parsed(server.storage.samples("runner", &run.id).expect("samples"));
        let want = &expected[&run.id];
        duplicates += got.len().saturating_sub(want.len());
        lost += want.iter().filter(|s| !got.contains(s)).count();
        samples += want.len();
        assert_eq!(&got, want, "run {}", run.id);
    }
    for store in &phones {
        check_no_early_deletion(store, &server);
        for run in store.lock().expect("lock").runs().expect("runs") {
            assert!(run.uploaded && run.samples == 0, "confirmed runs leave the phone");
        }
    }
    let delivered = proxy.delivered.lock().expect("lock").values().sum::<u64>();
    println!(
        "eight phones, two instances: {} runs, {samples} samples, {delivered} requests delivered: {duplicates} duplicates, {lost} lost",
        held.len()
    );
    assert_eq!((duplicates, lost), (0, 0));
}

/// An old instance (gzip JSON chunks only) and a new one behind one balancer: the new one's
/// cursor offers the columnar encoding, the next chunk lands on the old one and is refused
/// (415); the phone sends that run on in gzip JSON and every run arrives exactly.
fn a_fleet_part_way_through_an_upgrade_takes_every_run(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start_fleet(dir.path(), backend, vec![true, false]);
    let proxy = Proxy::start(server.addrs());
    let store = Arc::new(Mutex::new(Store::open(&dir.path().join("device.db")).expect("device")));
    let mut expected = Samples::new();
    let mut chunks = 0;
    for (i, seconds) in [300u64, 420, 250].into_iter().enumerate() {
        let id = format!("run-{i}");
        let mut s = store.lock().expect("lock");
        record_run(&mut s, &id, seconds);
        expected.insert(id.clone(), parsed(s.log(&id).expect("log").inputs));
        chunks += seconds / 60 + 1;
    }
    let report = syncer(store.clone(), &proxy, PATIENT_TIMEOUT).sync_now();
    assert_eq!((report.runs_uploaded, report.stopped.as_ref()), (3, None), "{report:?}");
    for (id, want) in &expected {
        assert_eq!(&parsed(server.storage.samples("runner", id).expect("samples")), want, "run {id}");
    }
    let chunk_puts: u64 = proxy
        .delivered
        .lock()
        .expect("lock")
        .iter()
        .filter(|(line, _)| line.starts_with("PUT") && line.contains("/chunks/"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        chunk_puts > chunks,
        "a columnar chunk reached the old instance and was sent again ({chunk_puts} PUTs, {chunks} chunks)"
    );
    check_no_early_deletion(&store, &server);
}

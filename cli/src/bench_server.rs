//! `pacenote bench server`: the sync server under many phones' uploads, as figures. Starts
//! real `pacenote serve` processes on loopback (SQLite, or PostgreSQL with one or more
//! instances over one database), drives them with simulated phones that each upload one-hour
//! runs in one-minute chunks (header, 60 chunks, finalize; each request to the next instance in
//! turn, as a round-robin balancer would, over keep-alive connections; all phones on one event
//! loop, as a load generator such as wrk runs, so that 128 phones are not 128 threads taking
//! the servers' cores), and prints chunks/s, latency percentiles, errors,
//! each instance's memory as runs pile up, the CPU time a chunk costs (the servers, the
//! database's processes when it runs here, the phones), and the integrity check: the server
//! holds exactly what the phones sent.
//!
//! Must not: count a request the server did not answer as a success; leave a server process
//! running; be run as a timed test (it prints figures, it asserts nothing but integrity).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use pacenote_core::engine::Input;
use pacenote_core::sensor::{HeartRateReading, LocationFix};
use pacenote_server::storage::{DEFAULT_MAX_CONNECTIONS, PostgresStorage, SqliteStorage, Storage};
use pacenote_sync::wire::{
    CHUNK_MS, Chunk, ChunkEncoding, EncodedChunk, FinalizeClaim, RunHeader, WireCue, WireEvent, WireSample,
    encode_chunk_as, run_digest,
};

use crate::CliError;

/// A simulated run: an hour of one-minute chunks.
const RUN_MINUTES: u64 = 60;
/// What a phone logs each second of a run: a GPS fix with Doppler, a heart-rate reading and
/// the engine's tick (a real run logs about four inputs a second).
const INPUTS_PER_SECOND: u64 = 3;
/// A request not answered in this long counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The device counts `--compare` measures.
const COMPARE_DEVICES: [usize; 3] = [8, 32, 128];

/// Where the servers keep their data.
#[derive(Debug, Clone)]
pub enum BenchDatabase {
    /// A new SQLite file in this folder.
    Sqlite(PathBuf),
    /// This PostgreSQL database.
    Postgres(String),
}

/// One measured configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerFigures {
    pub backend: &'static str,
    /// How the phones send chunks: `columnar` (what a phone sends a server that offers it)
    /// or `gzip_json` (`--gzip-json`, what older phones send).
    pub encoding: &'static str,
    /// Bytes of one run's chunk bodies.
    pub run_chunk_bytes: u64,
    pub instances: usize,
    pub devices: usize,
    pub seconds: f64,
    pub chunks: u64,
    pub chunks_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub runs_finalized: u64,
    /// The server holds exactly the phones' runs: every run finalized, with exactly the
    /// samples sent (no duplicate, none lost).
    pub integrity_ok: bool,
    pub lost_samples: u64,
    pub duplicate_samples: u64,
    /// Each instance's resident memory (kB) at a quarter of the time and at the end, with the
    /// phones' runs the server held then (of the last round, over several: each round starts
    /// its instances afresh).
    pub rss_kb_early: Vec<u64>,
    pub rss_kb_end: Vec<u64>,
    pub runs_early: u64,
    pub runs_end: u64,
    /// CPU time (ms) while the phones uploaded: every instance's, the database's processes'
    /// (PostgreSQL on this machine only; SQLite's is the servers'), and the phones'. Unlike
    /// chunks/s, which the other processes' demands on a shared machine move, the time a chunk
    /// costs each part holds still from run to run.
    pub servers_cpu_ms: f64,
    pub database_cpu_ms: Option<f64>,
    pub phones_cpu_ms: f64,
    /// Rounds these figures are over (see `--rounds`).
    pub rounds: usize,
    /// Every chunk's latency (µs), sorted.
    #[serde(skip)]
    latencies_us: Vec<u32>,
}

impl ServerFigures {
    /// One configuration's figures over several rounds: chunks over the time of all rounds,
    /// percentiles over all latencies, errors and lost samples summed, integrity of every
    /// round, memory as in the last.
    fn over_rounds(rounds: Vec<ServerFigures>) -> Option<ServerFigures> {
        let mut all = rounds.into_iter();
        let mut f = all.next()?;
        for r in all {
            f.seconds += r.seconds;
            f.chunks += r.chunks;
            f.errors += r.errors;
            f.runs_finalized += r.runs_finalized;
            f.integrity_ok &= r.integrity_ok;
            f.lost_samples += r.lost_samples;
            f.duplicate_samples += r.duplicate_samples;
            (f.rss_kb_early, f.rss_kb_end, f.runs_early, f.runs_end) =
                (r.rss_kb_early, r.rss_kb_end, r.runs_early, r.runs_end);
            f.servers_cpu_ms += r.servers_cpu_ms;
            f.database_cpu_ms = f.database_cpu_ms.zip(r.database_cpu_ms).map(|(a, b)| a + b);
            f.phones_cpu_ms += r.phones_cpu_ms;
            f.latencies_us.extend(r.latencies_us);
            f.rounds += 1;
        }
        f.latencies_us.sort_unstable();
        f.chunks_per_s = f.chunks as f64 / f.seconds;
        f.p50_ms = percentile_ms(&f.latencies_us, 0.50);
        f.p99_ms = percentile_ms(&f.latencies_us, 0.99);
        Some(f)
    }

    /// CPU time a chunk cost (ms): the servers, the database (when measured), the phones.
    pub fn cpu_ms_per_chunk(&self) -> (f64, Option<f64>, f64) {
        let per_chunk = |ms: f64| ms / self.chunks.max(1) as f64;
        (per_chunk(self.servers_cpu_ms), self.database_cpu_ms.map(per_chunk), per_chunk(self.phones_cpu_ms))
    }

    fn line(&self) -> String {
        let (servers, database, phones) = self.cpu_ms_per_chunk();
        let database = match (self.backend, database) {
            ("sqlite", _) => "in the server".to_owned(),
            (_, Some(ms)) => format!("{ms:.3}"),
            (_, None) => "not here".to_owned(),
        };
        format!(
            "{:>8} ×{} {:>4} phones, {} ({} B a run): {:>7.0} chunks/s  p50 {:>6.1} ms  p99 {:>6.1} ms  errors {}  runs {}  integrity {} (lost {}, duplicates {})  CPU ms a chunk: servers {servers:.3}, database {database}, phones {phones:.3}  RSS kB {:?} at {} runs → {:?} at {}",
            self.backend,
            self.instances,
            self.devices,
            self.encoding,
            self.run_chunk_bytes,
            self.chunks_per_s,
            self.p50_ms,
            self.p99_ms,
            self.errors,
            self.runs_finalized,
            if self.integrity_ok { "ok" } else { "FAILED" },
            self.lost_samples,
            self.duplicate_samples,
            self.rss_kb_early,
            self.runs_early,
            self.rss_kb_end,
            self.runs_end
        )
    }
}

/// The chunks of the simulated run, encoded once (every run sends the same minutes), its
/// inputs at sensor resolution as a phone's recorder logs them.
fn template_run(encoding: ChunkEncoding) -> Result<Vec<EncodedChunk>, CliError> {
    let mut chunks = Vec::new();
    let mut seq = 0;
    for minute in 0..RUN_MINUTES {
        let mut samples = Vec::new();
        for s in 0..60 {
            let t_ms = minute * CHUNK_MS + s * 1000;
            let second = (minute * 60 + s) as f64;
            let inputs = [
                Input::Fix(LocationFix {
                    t_ms,
                    lat_deg: 51.5,
                    lon_deg: -0.12 + second * 3.1 / 69_400.0,
                    horizontal_accuracy_m: 4.0 + (second * 0.37).sin(),
                    speed_mps: Some(3.1 + 0.1 * (second * 0.11).sin()),
                    speed_accuracy_mps: Some(0.3),
                    altitude_m: Some(20.0 + (second * 0.01).sin() * 5.0),
                }),
                Input::HeartRate(HeartRateReading { t_ms, bpm: 140.0 + (second * 0.05).sin() * 6.0 }),
                Input::Tick { t_ms },
            ];
            debug_assert_eq!(inputs.len() as u64, INPUTS_PER_SECOND);
            for input in inputs {
                let json = serde_json::to_string(&input.at_sensor_resolution())
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                let input = serde_json::value::RawValue::from_string(json)
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                samples.push(WireSample { seq, t_ms, input });
                seq += 1;
            }
        }
        let t_ms = minute * CHUNK_MS + 30_000;
        let cues = vec![WireCue {
            utterance_id: minute,
            at_ms: t_ms,
            kinds: "pace_ok".into(),
            text: "Right on pace, keep it there.".into(),
        }];
        let events = vec![WireEvent {
            seq: minute,
            t_ms,
            event: serde_json::json!({"type": "feedback", "t_ms": t_ms}),
        }];
        let chunk = Chunk { index: minute, samples, cues, events };
        chunks.push(encode_chunk_as(&chunk, encoding).map_err(CliError::Usage)?);
    }
    Ok(chunks)
}

/// `pacenote serve` processes, killed when dropped.
struct Instances {
    children: Vec<Child>,
    urls: Vec<String>,
}

impl Drop for Instances {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Instances {
    /// `n` instances over `db`, with the users of `users_file`; no rate limit (the bench
    /// measures how much the server takes, not how it refuses).
    fn start(db: &BenchDatabase, n: usize, users_file: &std::path::Path) -> Result<Self, CliError> {
        let exe =
            std::env::current_exe().map_err(|e| CliError::Usage(format!("this program's path: {e}")))?;
        let mut instances = Instances { children: Vec::new(), urls: Vec::new() };
        for _ in 0..n {
            let mut command = Command::new(&exe);
            command
                .args([
                    "serve",
                    "--addr",
                    "127.0.0.1:0",
                    "--log",
                    "warn",
                    "--rate-limit-per-s",
                    "0",
                    "--users-file",
                ])
                .arg(users_file);
            match db {
                BenchDatabase::Sqlite(dir) => command.arg("--db").arg(dir.join("bench-server.db")),
                BenchDatabase::Postgres(url) => command.env("PACENOTE_DATABASE_URL", url),
            };
            let mut child = command
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| CliError::Usage(format!("starting pacenote serve: {e}")))?;
            let stdout = child.stdout.take();
            instances.children.push(child);
            let mut lines =
                std::io::BufReader::new(stdout.ok_or_else(|| CliError::Usage("no stdout".into()))?).lines();
            let url = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
                .ok_or_else(|| CliError::Usage("pacenote serve did not start (its error is above)".into()))?;
            // Keep draining what it prints, so it never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            instances.urls.push(url);
        }
        Ok(instances)
    }

    /// The CPU time (ms) all instances have used.
    fn cpu_ms(&self) -> f64 {
        self.children.iter().filter_map(|c| process_cpu_ms(c.id(), false)).sum()
    }

    /// Each instance's resident set (kB), from /proc.
    fn rss_kb(&self) -> Vec<u64> {
        self.children
            .iter()
            .map(|c| {
                std::fs::read_to_string(format!("/proc/{}/status", c.id()))
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("VmRSS:"))
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    })
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// The unit of the times in `/proc/<pid>/stat` (`USER_HZ`, what `getconf CLK_TCK` prints): 100
/// a second on every Linux architecture, whatever the kernel's own tick rate (it is ABI).
const PROC_TICKS_PER_S: f64 = 100.0;

/// The CPU time (ms) in one `/proc/<pid>/stat` line: the process's own (user + system) and,
/// with `reaped`, that of its ended children it waited for (how a database server's closed
/// connections' processes are still counted); with the process's parent id. `None` for a line
/// that is not one.
fn stat_cpu_ms(stat: &str, reaped: bool) -> Option<(f64, u32)> {
    // The command name, in parentheses, may itself hold spaces and parentheses: the fields
    // are counted from the last `)`. There the state is field 3; the parent 4; user, system,
    // children's user and children's system times 14 to 17.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let own = field(14)? + field(15)?;
    let children = if reaped { field(16)? + field(17)? } else { 0 };
    Some(((own + children) as f64 * 1000.0 / PROC_TICKS_PER_S, u32::try_from(field(4)?).ok()?))
}

/// The CPU time (ms) process `pid` has used (see [`stat_cpu_ms`]); `None` where `/proc` does
/// not have it.
fn process_cpu_ms(pid: u32, reaped: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_cpu_ms(&stat, reaped).map(|(ms, _)| ms)
}

/// The CPU time (ms) a database server has used: its main process, the children it has
/// reaped and those running (a connection's process each, and its background workers).
fn database_cpu_ms(server_pid: u32) -> Option<f64> {
    let mut total = process_cpu_ms(server_pid, true)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if entry.file_name().to_str().is_none_or(|name| name.parse::<u32>().is_err()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some((ms, parent)) = stat_cpu_ms(&stat, false)
            && parent == server_pid
        {
            total += ms;
        }
    }
    Some(total)
}

/// The main process of the PostgreSQL server at `url` when it runs on this machine (its CPU
/// time is then measured; a server elsewhere is not): the parent of its checkpointer, a process
/// that lives as long as the server does.
fn local_database_server_pid(url: &str) -> Option<u32> {
    let config: postgres::Config = url.parse().ok()?;
    let here = config.get_hosts().iter().all(|host| match host {
        postgres::config::Host::Tcp(name) => matches!(name.as_str(), "127.0.0.1" | "::1" | "localhost"),
        postgres::config::Host::Unix(_) => true,
    });
    if !here {
        return None;
    }
    let mut client = config.connect(postgres::NoTls).ok()?;
    let checkpointer: i32 = client
        .query_opt("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'", &[])
        .ok()??
        .get(0);
    let comm = std::fs::read_to_string(format!("/proc/{checkpointer}/comm")).ok()?;
    if comm.trim() != "postgres" {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{checkpointer}/stat")).ok()?;
    stat_cpu_ms(&stat, false).map(|(_, server)| server)
}

/// CPU time used so far (ms): the servers, the database server `database_pid` (when it runs
/// here), this process.
fn cpu_now(servers: &Instances, database_pid: Option<u32>) -> (f64, Option<f64>, f64) {
    (
        servers.cpu_ms(),
        database_pid.and_then(database_cpu_ms),
        process_cpu_ms(std::process::id(), false).unwrap_or(0.0),
    )
}

/// What one phone did.
#[derive(Debug, Default)]
struct Phone {
    latencies_us: Vec<u32>,
    chunks: u64,
    errors: u64,
    /// The runs it finalized, and the one it was uploading when time ran out.
    finalized: Vec<String>,
    unfinished: Option<String>,
}

/// A request that fails this many times in a row ends the bench: the server is down, not
/// busy.
const MAX_FAILURES_IN_A_ROW: u32 = 50;

/// A phone's keep-alive HTTP/1.1 connection to one instance, opened again after a failure.
struct Connection {
    /// `host:port`.
    authority: String,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Connection {
    fn to(url: &str) -> Self {
        Self { authority: url.trim_start_matches("http://").trim_end_matches('/').to_owned(), sender: None }
    }

    /// Sends one request and reads its whole answer: `(status, body)`. A failed connection is
    /// dropped, to be opened again by the next request.
    async fn send(
        &mut self,
        method: &hyper::Method,
        path: &str,
        authorization: &hyper::header::HeaderValue,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let exchange = async {
            let sender = match &mut self.sender {
                Some(sender) => sender,
                None => {
                    let stream =
                        tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| e.to_string())?;
                    stream.set_nodelay(true).map_err(|e| e.to_string())?;
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                            .await
                            .map_err(|e| e.to_string())?;
                    tokio::spawn(connection);
                    self.sender.insert(sender)
                }
            };
            sender.ready().await.map_err(|e| e.to_string())?;
            let request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, &self.authority)
                .header(hyper::header::AUTHORIZATION, authorization)
                .body(Full::new(body))
                .map_err(|e| e.to_string())?;
            let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok((status, body))
        };
        let answer = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer in {} s", REQUEST_TIMEOUT.as_secs())),
        };
        if answer.is_err() {
            self.sender = None;
        }
        answer
    }
}

/// One phone uploading runs until `deadline`, each request to the next instance in turn.
/// Run ids carry `run_prefix` (new for each configuration), as a phone's ids are its own.
/// A request is sent again after a failure or a 5xx, as a phone would; a 4xx ends the phone
/// with the server's message (the bench sends only valid requests, so it is a server bug).
async fn phone(
    device: usize,
    run_prefix: String,
    urls: Vec<String>,
    token: String,
    chunks: Arc<Vec<EncodedChunk>>,
    deadline: Instant,
) -> Result<Phone, String> {
    let mut done = Phone::default();
    let mut connections: Vec<Connection> = urls.iter().map(|u| Connection::to(u)).collect();
    let authorization = hyper::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| format!("the bench's token: {e}"))?;
    let mut turn = device;
    let header = serde_json::to_vec(&RunHeader {
        plan_id: "bench".into(),
        persona: "stone".into(),
        started_at_unix_ms: 1,
        summary: None,
        effort: Some(5),
        analysis: None,
    })
    .map_err(|e| e.to_string())?;
    let claim = serde_json::to_vec(&FinalizeClaim {
        chunks: chunks.len() as u64,
        samples: chunks.iter().map(|c| c.samples).sum(),
        cues: chunks.iter().map(|c| c.cues).sum(),
        events: chunks.iter().map(|c| c.events).sum(),
        digest: run_digest(chunks.iter().map(|c| c.digest.as_str())),
    })
    .map_err(|e| e.to_string())?;
    let (header, claim) = (Bytes::from(header), Bytes::from(claim));
    let bodies: Vec<Bytes> = chunks.iter().map(|c| Bytes::from(c.body.clone())).collect();
    for run in 0.. {
        let id = format!("{run_prefix}-{device}-{run}");
        done.unfinished = Some(id.clone());
        let path = format!("/v1/runs/{id}");
        let mut requests = vec![(hyper::Method::PUT, path.clone(), header.clone(), false)];
        requests.extend(
            chunks
                .iter()
                .zip(&bodies)
                .map(|(c, b)| (hyper::Method::PUT, format!("{path}/chunks/{}", c.index), b.clone(), true)),
        );
        requests.push((hyper::Method::POST, format!("{path}/finalize"), claim.clone(), false));
        for (method, path, body, is_chunk) in requests {
            if is_chunk && Instant::now() >= deadline {
                return Ok(done);
            }
            let mut failures = 0;
            loop {
                turn += 1;
                let started = Instant::now();
                let answer =
                    connections[turn % urls.len()].send(&method, &path, &authorization, body.clone()).await;
                let took = started.elapsed();
                let failure = match answer {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        if is_chunk {
                            done.latencies_us.push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                            done.chunks += 1;
                        }
                        break;
                    }
                    Ok((status, body)) if (400..500).contains(&status) && status != 408 && status != 429 => {
                        return Err(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&body)));
                    }
                    Ok((status, body)) => format!("{status} {}", String::from_utf8_lossy(&body)),
                    Err(e) => e,
                };
                done.errors += 1;
                failures += 1;
                if failures >= MAX_FAILURES_IN_A_ROW {
                    return Err(format!("{method} {path} failed {failures} times in a row, last: {failure}"));
                }
            }
        }
        done.unfinished = None;
        done.finalized.push(id);
        if Instant::now() >= deadline {
            break;
        }
    }
    Ok(done)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let at = ((sorted_us.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted_us[at]) / 1000.0
}

/// Measures one configuration.
pub fn measure(
    db: &BenchDatabase,
    instances: usize,
    devices: usize,
    seconds: f64,
    encoding: ChunkEncoding,
) -> Result<ServerFigures, CliError> {
    let backend = match db {
        BenchDatabase::Sqlite(_) if instances > 1 => {
            return Err(CliError::Usage(
                "SQLite serves from one process: --instances above 1 needs --postgres".into(),
            ));
        }
        BenchDatabase::Sqlite(_) => "sqlite",
        BenchDatabase::Postgres(_) => "postgres",
    };
    let chunks = template_run(encoding)?;
    if chunks.iter().any(|c| c.encoding != encoding) {
        return Err(CliError::Usage("the simulated run does not encode as asked".into()));
    }
    // A user per phone, new for each configuration: runs of earlier configurations on the
    // same database are not counted.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let users: Vec<(String, String)> =
        (0..devices).map(|d| (format!("bench{nanos}-{d}"), format!("token{nanos}-{d}"))).collect();
    let users_file = std::env::temp_dir().join(format!("pacenote-bench-users-{nanos}"));
    let lines: String = users.iter().map(|(u, t)| format!("{u}:{t}\n")).collect();
    std::fs::write(&users_file, lines).map_err(|e| CliError::file(&users_file, e))?;
    let servers = Instances::start(db, instances, &users_file);
    let _ = std::fs::remove_file(&users_file);
    let servers = servers?;
    let storage: Box<dyn Storage> = match db {
        BenchDatabase::Sqlite(dir) => Box::new(
            SqliteStorage::open(&dir.join("bench-server.db")).map_err(|e| CliError::Usage(e.to_string()))?,
        ),
        BenchDatabase::Postgres(url) => Box::new(
            PostgresStorage::connect(url, DEFAULT_MAX_CONNECTIONS)
                .map_err(|e| CliError::Usage(e.to_string()))?,
        ),
    };
    // The phones on one thread's event loop: a thread per phone would have the load
    // generator's own context switches compete with the servers for the two cores.
    let phones_loop = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("the phones' event loop: {e}")))?;
    let chunks = Arc::new(chunks);
    let database_pid = match db {
        BenchDatabase::Postgres(url) => local_database_server_pid(url),
        BenchDatabase::Sqlite(_) => None,
    };
    let cpu_before = cpu_now(&servers, database_pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let (phones, rss_kb_early, runs_early) = std::thread::scope(|scope| {
        let all_phones = scope.spawn(|| {
            phones_loop.block_on(async {
                let tasks: Vec<_> = (0..devices)
                    .map(|d| {
                        tokio::spawn(phone(
                            d,
                            format!("b{nanos}"),
                            servers.urls.clone(),
                            users[d].1.clone(),
                            chunks.clone(),
                            deadline,
                        ))
                    })
                    .collect();
                let mut phones = Vec::with_capacity(tasks.len());
                for task in tasks {
                    phones.push(task.await.map_err(|e| format!("a phone failed: {e}"))??);
                }
                Ok::<_, String>(phones)
            })
        });
        std::thread::sleep(Duration::from_secs_f64(seconds / 4.0));
        let held_runs: u64 = users.iter().map(|(u, _)| storage.runs(u).map_or(0, |r| r.len() as u64)).sum();
        let early = (servers.rss_kb(), held_runs);
        let phones = all_phones.join().unwrap_or_else(|_| Err("the phones' thread panicked".to_owned()));
        (phones, early.0, early.1)
    });
    let phones =
        phones.map_err(|e| CliError::Usage(format!("{backend} ×{instances}, {devices} phones: {e}")))?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = cpu_now(&servers, database_pid);
    let rss_kb_end = servers.rss_kb();
    drop(servers);
    let mut latencies: Vec<u32> = phones.iter().flat_map(|p| p.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let sent_chunks: u64 = phones.iter().map(|p| p.chunks).sum();
    // Integrity: every finalized run held whole, and the run each phone was uploading when
    // time ran out held with exactly the chunks it sent.
    let per_run: u64 = chunks.iter().map(|c| c.samples).sum();
    let per_chunk: Vec<u64> = chunks.iter().map(|c| c.samples).collect();
    let (mut lost, mut duplicates, mut integrity_ok) = (0u64, 0u64, phones.len() == devices);
    for (p, (user, _)) in phones.iter().zip(&users) {
        let held = storage.runs(user).map_err(|e| CliError::Usage(e.to_string()))?;
        integrity_ok &= held.len() == p.finalized.len() + usize::from(p.unfinished.is_some());
        for id in &p.finalized {
            match held.iter().find(|r| &r.id == id) {
                Some(r) => {
                    integrity_ok &= r.finalized;
                    lost += per_run.saturating_sub(r.samples);
                    duplicates += r.samples.saturating_sub(per_run);
                }
                None => {
                    integrity_ok = false;
                    lost += per_run;
                }
            }
        }
        if let Some(id) = &p.unfinished {
            let sent_in_run = p.chunks - p.finalized.len() as u64 * chunks.len() as u64;
            let want: u64 = per_chunk.iter().take(sent_in_run as usize).sum();
            let have = held.iter().find(|r| &r.id == id).map_or(0, |r| r.samples);
            lost += want.saturating_sub(have);
            duplicates += have.saturating_sub(want);
        }
    }
    integrity_ok &= lost == 0 && duplicates == 0;
    Ok(ServerFigures {
        backend,
        encoding: match encoding {
            ChunkEncoding::Columnar => "columnar",
            ChunkEncoding::GzipJson => "gzip_json",
        },
        run_chunk_bytes: chunks.iter().map(|c| c.body.len() as u64).sum(),
        instances,
        devices,
        seconds: elapsed,
        chunks: sent_chunks,
        chunks_per_s: sent_chunks as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        errors: phones.iter().map(|p| p.errors).sum(),
        runs_finalized: phones.iter().map(|p| p.finalized.len() as u64).sum(),
        integrity_ok,
        lost_samples: lost,
        duplicate_samples: duplicates,
        rss_kb_early,
        rss_kb_end,
        runs_early,
        runs_end: phones.iter().map(|p| p.finalized.len() as u64).sum(),
        servers_cpu_ms: cpu_after.0 - cpu_before.0,
        database_cpu_ms: cpu_after.1.zip(cpu_before.1).map(|(after, before)| after - before),
        phones_cpu_ms: cpu_after.2 - cpu_before.2,
        rounds: 1,
        latencies_us: latencies,
    })
}

/// How long and how often each configuration is measured, and in which encoding.
#[derive(Debug, Clone, Copy)]
pub struct Runs {
    pub seconds: f64,
    pub rounds: usize,
    pub gzip_json: bool,
}

/// `pacenote bench server`: one configuration, or with `compare` the side-by-side table
/// (SQLite 1 instance, PostgreSQL 1 and 2 instances; 8, 32 and 128 phones), each measured
/// `runs.rounds` times in turn.
pub fn server(
    postgres: Option<String>,
    instances: usize,
    devices: usize,
    compare: bool,
    runs: Runs,
    json: bool,
) -> Result<(), CliError> {
    let encoding = if runs.gzip_json { ChunkEncoding::GzipJson } else { ChunkEncoding::Columnar };
    let dir = std::env::temp_dir().join(format!("pacenote-bench-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| CliError::file(&dir, e))?;
    let postgres_url = |postgres: &Option<String>| -> Result<String, CliError> {
        match postgres {
            Some(url) => Ok(url.clone()),
            // No database named: a throw-away cluster, durable as SQLite's WAL mode is (a
            // commit survives the process, not a power cut).
            None => {
                let cluster = pacenote_scratch_pg::Cluster::ensure_with(
                    &pacenote_scratch_pg::tests_dir().with_file_name("scratch-pg-bench"),
                    pacenote_scratch_pg::Durability::AsSqliteWal,
                )
                .map_err(CliError::Usage)?;
                // Earlier benches' databases are of no further use.
                cluster.drop_databases_of_ended_processes().map_err(CliError::Usage)?;
                cluster.fresh_database("bench").map_err(CliError::Usage)
            }
        }
    };
    let configs: Vec<(BenchDatabase, usize, usize)> = if compare {
        let url = postgres_url(&postgres)?;
        COMPARE_DEVICES
            .iter()
            .flat_map(|&d| {
                let sqlite = dir.join(format!("sqlite-{d}"));
                [
                    (BenchDatabase::Sqlite(sqlite), 1, d),
                    (BenchDatabase::Postgres(url.clone()), 1, d),
                    (BenchDatabase::Postgres(url.clone()), 2, d),
                ]
            })
            .collect()
    } else if postgres.is_some() || instances > 1 {
        vec![(BenchDatabase::Postgres(postgres_url(&postgres)?), instances, devices)]
    } else {
        vec![(BenchDatabase::Sqlite(dir.join("sqlite")), 1, devices)]
    };
    let mut measured: Vec<Vec<ServerFigures>> = configs.iter().map(|_| Vec::new()).collect();
    for round in 1..=runs.rounds.max(1) {
        for ((db, instances, devices), rounds) in configs.iter().zip(&mut measured) {
            if let BenchDatabase::Sqlite(d) = db {
                std::fs::create_dir_all(d).map_err(|e| CliError::file(d, e))?;
            }
            let f = measure(db, *instances, *devices, runs.seconds, encoding)?;
            if !json && runs.rounds > 1 {
                println!("round {round}: {}", f.line());
            }
            rounds.push(f);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let all: Vec<ServerFigures> = measured.into_iter().filter_map(ServerFigures::over_rounds).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| CliError::Usage(e.to_string()))?);
    } else {
        if runs.rounds > 1 {
            println!("over {} rounds:", runs.rounds);
        }
        for f in &all {
            let sqlite = all.iter().find(|s| s.backend == "sqlite" && s.devices == f.devices);
            match sqlite {
                Some(s) if compare && f.backend != "sqlite" => {
                    println!("{}  ({:.2}× SQLite)", f.line(), f.chunks_per_s / s.chunks_per_s)
                }
                _ => println!("{}", f.line()),
            }
        }
    }
    if all.iter().any(|f| !f.integrity_ok) {
        return Err(CliError::Usage("the server does not hold exactly what the phones sent".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The times are read after the command name however it is spelled, in milliseconds, with
    /// the reaped children's only when asked.
    #[test]
    fn a_stat_line_gives_its_process_cpu_time_and_parent() {
        // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17) ...
        let line = "4242 (post gres: a) b) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 200 20 0 1 0";
        assert_eq!(stat_cpu_ms(line, false), Some((3000.0, 17)));
        assert_eq!(stat_cpu_ms(line, true), Some((15000.0, 17)));
        assert_eq!(stat_cpu_ms("4242 (cut short) S 17 1 1", false), None);
        assert_eq!(stat_cpu_ms("", true), None);
    }

    /// This process's own line parses, and the time it reads grows as this thread works.
    #[test]
    fn this_process_reads_its_own_cpu_time_growing() {
        let me = std::process::id();
        let before = process_cpu_ms(me, false).expect("/proc/<pid>/stat");
        let give_up = Instant::now() + Duration::from_secs(30);
        let mut work = 0u64;
        while process_cpu_ms(me, false).expect("again") < before + 50.0 {
            assert!(Instant::now() < give_up, "30 s of work did not show as 50 ms of CPU time");
            work = (0..100_000u64).fold(work, |a, b| std::hint::black_box(a.wrapping_add(b * b)));
        }
    }
}

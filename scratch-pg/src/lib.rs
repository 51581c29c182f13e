//! A throw-away PostgreSQL cluster for the tests and benches: initialised under the build's
//! `target/` directory with Debian's (or any installed) PostgreSQL binaries, serving on
//! loopback only, with trust authentication for one role. The test command (`cargo xtask test`)
//! starts it before the tests and stops it after; a test run by hand starts it on first use and
//! leaves it running for the next (`cargo xtask pg stop` ends it).
//!
//! Must not: listen beyond 127.0.0.1 (trust authentication is only safe there); touch any
//! cluster but its own directory's; need docker or a network.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The role the tests connect as (the cluster's superuser).
pub const ROLE: &str = "pacenote";
/// Where Debian puts each major version's binaries.
const DEBIAN_BIN_GLOB_ROOT: &str = "/usr/lib/postgresql";
/// The system account that owns the cluster when the tests run as root (PostgreSQL refuses to
/// run as root); Debian's `postgresql` package creates it.
const SYSTEM_ACCOUNT: &str = "postgres";
/// How long a starting server gets before the start counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How much a commit survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Nothing is flushed (`fsync=off`): the tests' cluster, rebuilt at will.
    Throwaway,
    /// A commit survives the server process but not a power cut (`synchronous_commit=off`,
    /// fsync on): what SQLite's WAL mode with `synchronous=NORMAL` gives the embedded server,
    /// so the two compare fairly in the load bench.
    AsSqliteWal,
}

impl Durability {
    fn settings(self) -> &'static str {
        match self {
            Self::Throwaway => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            Self::AsSqliteWal => "-c synchronous_commit=off",
        }
    }
}

/// A running scratch cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The directory holding `data/`, `port` and `log`.
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// Why the cluster could not be had; each names what to do.
pub type Error = String;

impl Cluster {
    /// The cluster in `dir`, initialised and started when needed. Safe to call from several
    /// processes and threads at once (a lock file in `dir` serialises them).
    pub fn ensure(dir: &Path) -> Result<Self, Error> {
        Self::ensure_with(dir, Durability::Throwaway)
    }

    /// [`Self::ensure`] with the durability a new start gets (a running cluster is reused as
    /// it is).
    pub fn ensure_with(dir: &Path, durability: Durability) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
        lock.lock().map_err(|e| format!("{}: {e}", lock_path.display()))?;
        let bin = binaries()?;
        let data = dir.join("data");
        let as_root = running_as_root();
        if !data.join("PG_VERSION").is_file() {
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
            if as_root {
                give_to_system_account(dir)?;
            }
            let mut initdb = pg_command(&bin.join("initdb"), as_root);
            initdb.args(["-D"]).arg(&data).args([
                "-U",
                ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ]);
            run("initdb", &mut initdb)?;
        }
        let port_file = dir.join("port");
        let mut cluster = Self { dir: dir.to_owned(), port: 0, bin: bin.clone() };
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse().ok()) {
            cluster.port = port;
            if cluster.answers() {
                return Ok(cluster);
            }
        }
        // Not running (or never started): start it on a free port.
        cluster.port = free_port()?;
        let log = dir.join("log");
        if as_root {
            // The log file is written by the server's account.
            let _ = std::fs::File::create(&log);
            give_to_system_account(&log)?;
        }
        let mut start = pg_command(&bin.join("pg_ctl"), as_root);
        start
            .args(["start", "-w", "-t", &START_TIMEOUT.as_secs().to_string(), "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 {}",
                cluster.port,
                durability.settings()
            ));
        run("pg_ctl start", &mut start).map_err(|e| {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\nserver log ({}):\n{}", log.display(), last_lines(&tail, 20))
        })?;
        let deadline = Instant::now() + START_TIMEOUT;
        while !cluster.answers() {
            if Instant::now() > deadline {
                return Err(format!("the scratch cluster in {} started but does not answer", dir.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::fs::write(&port_file, cluster.port.to_string())
            .map_err(|e| format!("{}: {e}", port_file.display()))?;
        Ok(cluster)
    }

    /// A connection string for `database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://{ROLE}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database named `<prefix>_<unique suffix>` and returns its URL: each
    /// test gets its own, so tests never see each other's rows.
    pub fn fresh_database(&self, prefix: &str) -> Result<String, Error> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let clean: String = prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "{}_{}_{}_{}",
            &clean[..clean.len().min(30)],
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            nanos
        );
        run("createdb", self.client("createdb").arg(&name))?;
        Ok(self.url(&name))
    }

    /// Drops the databases [`Self::fresh_database`] made for processes that have ended (their
    /// name carries the process id), so a developer's cluster does not grow by every test and
    /// bench run; returns their names. Databases of running processes, and any not named that
    /// way, are left. Where process ids cannot be checked (no `/proc`), nothing is dropped.
    pub fn drop_databases_of_ended_processes(&self) -> Result<Vec<String>, Error> {
        let proc_dir = Path::new("/proc");
        if !proc_dir.join("self").exists() {
            return Ok(Vec::new());
        }
        let mut list = self.client("psql");
        list.args(["-d", "postgres", "-Atc", "SELECT datname FROM pg_database WHERE NOT datistemplate"]);
        let out = list.output().map_err(|e| format!("psql: could not start {list:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!("psql failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
        let ended: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|name| creator_pid(name).is_some_and(|pid| !proc_dir.join(pid.to_string()).exists()))
            .map(str::to_owned)
            .collect();
        for name in &ended {
            run("dropdb", self.client("dropdb").args(["--if-exists", "--force", name]))?;
        }
        Ok(ended)
    }

    /// Whether the server accepts connections.
    fn answers(&self) -> bool {
        self.client("pg_isready").arg("-q").status().is_ok_and(|s| s.success())
    }

    /// A PostgreSQL client `program` of the cluster's binaries, pointed at it as [`ROLE`].
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE]);
        command
    }

    /// Stops the cluster in `dir` if it runs (fast shutdown: the data is throw-away).
    pub fn stop(dir: &Path) -> Result<(), Error> {
        let data = dir.join("data");
        if !data.join("postmaster.pid").is_file() {
            return Ok(());
        }
        let bin = binaries()?;
        let mut stop = pg_command(&bin.join("pg_ctl"), running_as_root());
        stop.args(["stop", "-m", "fast", "-w", "-D"]).arg(&data);
        run("pg_ctl stop", &mut stop)
    }
}

/// The process that made database `name` with [`Cluster::fresh_database`]
/// (`<prefix>_<pid>_<n>_<nanos>`), if it was made so.
fn creator_pid(name: &str) -> Option<u32> {
    let mut fields = name.rsplit('_');
    let (nanos, n, pid) = (fields.next()?, fields.next()?, fields.next()?);
    let digits = |f: &str| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit());
    (fields.next().is_some() && digits(nanos) && digits(n)).then(|| pid.parse().ok()).flatten()
}

/// The cluster the tests share: in `$PACENOTE_SCRATCH_PG_DIR`, else `target/scratch-pg` of
/// this workspace; started on first use in each process, which first drops the databases of
/// test processes that have ended.
pub fn for_tests() -> Result<&'static Cluster, Error> {
    static CLUSTER: std::sync::OnceLock<Result<Cluster, Error>> = std::sync::OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let cluster = Cluster::ensure(&tests_dir())?;
            cluster.drop_databases_of_ended_processes()?;
            Ok(cluster)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Where the tests' cluster lives.
pub fn tests_dir() -> PathBuf {
    std::env::var_os("PACENOTE_SCRATCH_PG_DIR").map_or_else(
        || {
            let target = option_env!("CARGO_TARGET_DIR")
                .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
            target.join("scratch-pg")
        },
        PathBuf::from,
    )
}

/// The programs the cluster is run with.
const REQUIRED_BINARIES: [&str; 6] = ["initdb", "pg_ctl", "pg_isready", "createdb", "dropdb", "psql"];

/// The directory of [`REQUIRED_BINARIES`]: `$PACENOTE_PG_BIN`, else
/// the newest Debian major version, else `pg_ctl`'s directory on the PATH.
pub fn binaries() -> Result<PathBuf, Error> {
    let has_all = |dir: &Path| REQUIRED_BINARIES.iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("PACENOTE_PG_BIN").map(PathBuf::from) {
        return if has_all(&dir) {
            Ok(dir)
        } else {
            Err(format!("PACENOTE_PG_BIN={} lacks one of {}", dir.display(), REQUIRED_BINARIES.join(", ")))
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_BIN_GLOB_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| has_all(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| has_all(d))
        .ok_or_else(|| {
            "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's `postgresql` package \
             (`cargo xtask bootstrap` does) or set PACENOTE_PG_BIN to their directory"
                .to_owned()
        })
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A PostgreSQL server program, run as the system account when we are root.
fn pg_command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", SYSTEM_ACCOUNT, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn give_to_system_account(path: &Path) -> Result<(), Error> {
    run("chown", Command::new("chown").args(["-R", &format!("{SYSTEM_ACCOUNT}:")]).arg(path)).map_err(|e| {
        format!("{e}: as root the cluster belongs to the `{SYSTEM_ACCOUNT}` account, which Debian's postgresql package creates")
    })
}

fn free_port() -> Result<u16, Error> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn run(name: &str, command: &mut Command) -> Result<(), Error> {
    let out = command.output().map_err(|e| format!("{name}: could not start {command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_names_the_process_that_made_it() {
        assert_eq!(creator_pid("server_1234_0_987654321"), Some(1234));
        assert_eq!(creator_pid("a_b_c_1234_7_1"), Some(1234));
        for other in ["postgres", "exp", "1234_0_1", "bench_x_0_1", "bench_1_0_", "bench_1_z_1"] {
            assert_eq!(creator_pid(other), None, "{other}");
        }
    }

    #[test]
    fn a_cluster_starts_once_gives_fresh_databases_and_stops() {
        let dir = std::env::temp_dir().join(format!("pacenote-scratch-pg-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Cluster::ensure(&dir).expect("starts");
        let again = Cluster::ensure(&dir).expect("running already");
        assert_eq!(first.port, again.port, "a running cluster is reused, not started twice");
        let a = first.fresh_database("t").expect("db");
        let b = first.fresh_database("t").expect("db");
        assert_ne!(a, b);
        // Databases of this (running) process stay; one of an ended process goes.
        let ended = format!("t_{}_0_1", u32::MAX);
        run("createdb", first.client("createdb").arg(&ended)).expect("createdb");
        assert_eq!(first.drop_databases_of_ended_processes().expect("sweep"), [ended]);
        assert_eq!(first.drop_databases_of_ended_processes().expect("sweep"), Vec::<String>::new());
        assert!(a.starts_with(&format!("postgresql://{ROLE}@127.0.0.1:{}/t_", first.port)), "{a}");
        Cluster::stop(&dir).expect("stops");
        assert!(!first.answers(), "stopped");
        Cluster::stop(&dir).expect("stopping a stopped cluster is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

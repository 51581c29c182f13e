//! `pacenote serve` (the reference sync and pack server) and `pacenote sync` (a device store's
//! finished runs up to a server, and optionally a plan and a pack down from it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use pacenote_server::content::Content;
use pacenote_server::ops::RateLimit;
use pacenote_server::storage::{DEFAULT_MAX_CONNECTIONS, PostgresStorage, SqliteStorage, Storage};
use pacenote_server::{AppState, RunningServer};
use pacenote_sync::Store;
use pacenote_sync::client::{Client, RetryPolicy, Traffic, UreqTransport};
use pacenote_sync::preload::{NEUTRAL_PERSONA, is_ready_offline, preload_notes, preload_pack, preload_plan};
use pacenote_sync::restore::restore_history;
use pacenote_sync::upload::Syncer;

use crate::CliError;

/// A request that has not been answered in this long is given up (and retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of randomness in a generated token.
const TOKEN_BYTES: usize = 18;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    /// Manage the server's users instead of serving.
    #[command(subcommand)]
    command: Option<ServeCommand>,
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Voice packs to serve (LANG/PERSONA/manifest.json, as `pack build` writes them).
    #[arg(long)]
    packs: Option<PathBuf>,
    /// Session plans to serve (every *.json in the folder).
    #[arg(long)]
    plans: Option<PathBuf>,
    /// A user and their bearer token, NAME:TOKEN (repeatable; shows in `ps`: prefer
    /// `--users-file` or `serve user add`). Without any user at all, a token for "runner" is
    /// made and printed.
    #[arg(long = "user")]
    users: Vec<String>,
    /// A file of users, one NAME:TOKEN a line (`#` starts a comment).
    #[arg(long, env = "PACENOTE_USERS_FILE")]
    users_file: Option<PathBuf>,
    /// Requests a second each user may make on average (0: no limit); above it the server
    /// answers 429 with Retry-After, which the phones' client waits out. Per instance.
    #[arg(long, default_value_t = RateLimit::default().per_second)]
    rate_limit_per_s: f64,
    /// Requests a user may make at once before the rate applies.
    #[arg(long, default_value_t = RateLimit::default().burst)]
    rate_limit_burst: f64,
    /// What the server logs on stderr: `info` (a line per request, with its id, route,
    /// status and time), `warn`, `error` or `off`.
    #[arg(long, default_value = "info")]
    log: String,
    /// Take chunks as gzip JSON only and offer no other encoding, as servers before the
    /// columnar encoding did: for a fleet being upgraded, until every instance is new
    /// (phones fall back to gzip JSON by themselves when an instance refuses a columnar chunk).
    #[arg(long)]
    gzip_json_chunks_only: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ServeCommand {
    /// The server's users: tokens are made here, printed once, and stored hashed.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Where the server keeps users and runs: a SQLite file (one process), or PostgreSQL (any
/// number of `pacenote serve` instances over one database).
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The server's database (SQLite), created if missing.
    #[arg(long, global = true, default_value = "pacenote-server.db")]
    db: PathBuf,
    /// PostgreSQL instead of SQLite: a connection URL
    /// (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE); the schema is created or migrated
    /// at start. Several instances may share one database.
    #[arg(long, global = true, env = "PACENOTE_DATABASE_URL", hide_env_values = true)]
    postgres: Option<String>,
}

impl DatabaseArgs {
    /// What messages call the database.
    fn name(&self) -> String {
        match &self.postgres {
            Some(_) => "the PostgreSQL database".to_owned(),
            None => self.db.display().to_string(),
        }
    }

    /// A storage call's failure, naming the database.
    fn failed(&self, e: pacenote_server::storage::StorageError) -> CliError {
        CliError::Usage(format!("{}: {e}", self.name()))
    }

    fn open(&self) -> Result<Arc<dyn Storage>, CliError> {
        Ok(match &self.postgres {
            Some(url) => Arc::new(
                PostgresStorage::connect(url, DEFAULT_MAX_CONNECTIONS)
                    .map_err(|e| CliError::Usage(format!("--postgres: {e}")))?,
            ),
            None => Arc::new(SqliteStorage::open(&self.db).map_err(|e| CliError::file(&self.db, e))?),
        })
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum UserAction {
    /// A new user: prints their token once.
    Add { name: String },
    /// Takes a user's token away (their runs stay on the server).
    Revoke { name: String },
    /// A new token for a user (the old one stops working): prints it once.
    Rotate { name: String },
}

/// `serve user ...`: adds, revokes or rotates a user's token in the server's database.
fn manage_user(database: &DatabaseArgs, action: &UserAction) -> Result<(), CliError> {
    let storage = database.open()?;
    let db = database.name();
    let failed = |e| database.failed(e);
    let exists = |name: &str| storage.user_exists(name).map_err(failed);
    let no_user =
        |name: &str| CliError::Usage(format!("no user {name} in {db}: `pacenote serve user add {name}`"));
    match action {
        UserAction::Add { name } if name.trim().is_empty() || name.contains(':') => {
            Err(CliError::Usage(format!("user {name:?}: a name is not empty and has no ':'")))
        }
        UserAction::Add { name } if exists(name)? => Err(CliError::Usage(format!(
            "user {name} exists in {db}: `pacenote serve user rotate {name}` gives them a new token"
        ))),
        UserAction::Rotate { name } if !exists(name)? => Err(no_user(name)),
        UserAction::Add { name } | UserAction::Rotate { name } => {
            let token = new_token()?;
            storage.add_user(name, &token).map_err(failed)?;
            println!("user {name}, token {token}");
            println!("(shown once: the server keeps only its hash)");
            Ok(())
        }
        UserAction::Revoke { name } => {
            if !storage.revoke_token(name).map_err(failed)? {
                return Err(no_user(name));
            }
            println!("user {name}: token revoked");
            Ok(())
        }
    }
}

/// The NAME:TOKEN pairs of `--user` and of `--users-file`'s lines.
fn user_pairs(args: &ServeArgs) -> Result<Vec<(String, String)>, CliError> {
    let mut lines: Vec<(String, String)> =
        args.users.iter().map(|u| ("--user".to_owned(), u.clone())).collect();
    if let Some(file) = &args.users_file {
        let text = std::fs::read_to_string(file).map_err(|e| CliError::file(file, e))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                lines.push((format!("{} line {}", file.display(), n + 1), line.to_owned()));
            }
        }
    }
    lines
        .into_iter()
        .map(|(at, line)| {
            line.split_once(':')
                .filter(|(n, t)| !n.trim().is_empty() && !t.trim().is_empty())
                .map(|(n, t)| (n.trim().to_owned(), t.trim().to_owned()))
                .ok_or_else(|| CliError::Usage(format!("{at}: give NAME:TOKEN")))
        })
        .collect()
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The device store.
    #[arg(long)]
    db: PathBuf,
    /// The server, e.g. http://127.0.0.1:8787
    #[arg(long)]
    server: String,
    /// The bearer token (default: $PACENOTE_TOKEN).
    #[arg(long, env = "PACENOTE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Also download this plan for offline use.
    #[arg(long)]
    plan: Option<String>,
    /// Also download this persona's voice pack.
    #[arg(long)]
    persona: Option<String>,
    #[arg(long, default_value = "en")]
    lang: String,
    /// Where packs are installed (default: DB's folder, `packs/`).
    #[arg(long)]
    packs: Option<PathBuf>,
    /// Also bring the runner's finished runs back from the server (a new phone): the history,
    /// streaks and trends then read as on the old one. Runs already here are left alone.
    #[arg(long)]
    pull: bool,
}

fn new_token() -> Result<String, CliError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Usage(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn serve(args: &ServeArgs) -> Result<(), CliError> {
    if let Some(ServeCommand::User { action, database }) = &args.command {
        return manage_user(database, action);
    }
    start_logging(&args.log)?;
    let storage = args.database.open()?;
    let failed = |e| args.database.failed(e);
    let users = user_pairs(args)?;
    if users.is_empty() && !storage.user_exists("runner").map_err(failed)? {
        let token = new_token()?;
        storage.add_user("runner", &token).map_err(failed)?;
        println!("user runner, token {token}");
    }
    for (name, token) in &users {
        storage.add_user(name, token).map_err(failed)?;
    }
    let mut content = Content::default();
    if let Some(dir) = &args.packs {
        let n = content.add_packs(dir).map_err(CliError::Usage)?;
        println!("serving {n} packs ({} clips) from {}", content.blobs.len(), dir.display());
    }
    if let Some(dir) = &args.plans {
        let n = content.add_plans(dir).map_err(CliError::Usage)?;
        println!("serving {n} plans from {}", dir.display());
    }
    let limit = (args.rate_limit_per_s > 0.0)
        .then_some(RateLimit { per_second: args.rate_limit_per_s, burst: args.rate_limit_burst.max(1.0) });
    let mut state = AppState::with_rate_limit(storage, Arc::new(content), limit)
        .map_err(|e| CliError::Usage(format!("starting the storage threads: {e}")))?;
    if args.gzip_json_chunks_only {
        state = state.gzip_json_chunks_only();
    }
    let server =
        RunningServer::start(args.addr, state).map_err(|e| CliError::Usage(format!("{}: {e}", args.addr)))?;
    println!("listening on http://{}", server.addr);
    server.wait().map_err(|e| CliError::Usage(e.to_string()))
}

/// The server's log: one line per event on stderr, at `level` and above.
fn start_logging(level: &str) -> Result<(), CliError> {
    let level = match level {
        "off" => return Ok(()),
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        other => return Err(CliError::Usage(format!("--log {other}: use info, warn, error, debug or off"))),
    };
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_ansi(false).init();
    Ok(())
}

pub fn sync(args: &SyncArgs) -> Result<(), CliError> {
    let store = Store::open(&args.db).map_err(|e| CliError::Usage(e.to_string()))?;
    let store = Arc::new(Mutex::new(store));
    let transport = Arc::new(UreqTransport::new(REQUEST_TIMEOUT));
    let client = Client::new(&args.server, args.token.clone(), transport, RetryPolicy::default());
    let mut failed = None;
    if let Some(plan) = &args.plan {
        let mut traffic = Traffic::default();
        match preload_plan(&client, &store, plan, &mut traffic) {
            Ok(p) if p.unchanged => println!("plan {plan}: up to date"),
            Ok(p) => println!("plan {plan}: downloaded ({} bytes)", p.bytes_downloaded),
            Err(e) => failed = Some(format!("plan {plan}: {e}")),
        }
    }
    if let Some(persona) = args.persona.as_deref().filter(|p| *p != NEUTRAL_PERSONA) {
        let packs = args
            .packs
            .clone()
            .unwrap_or_else(|| args.db.parent().unwrap_or(std::path::Path::new(".")).join("packs"));
        let mut traffic = Traffic::default();
        match preload_pack(&client, &store, persona, &args.lang, &packs, &mut traffic) {
            Ok(p) if p.unchanged => println!("pack {persona}/{}: up to date", args.lang),
            Ok(p) => println!(
                "pack {persona}/{}: {} files downloaded ({} resumed), {} bytes, installed under {}",
                args.lang,
                p.files_downloaded,
                p.files_resumed,
                p.bytes_downloaded,
                packs.display()
            ),
            Err(e) => failed = Some(format!("pack {persona}: {e}")),
        }
        if let Some(plan) = args.plan.as_deref().filter(|_| failed.is_none()) {
            let mut traffic = Traffic::default();
            match preload_notes(&client, &store, plan, persona, &args.lang, &packs, &mut traffic) {
                Ok(p) if p.unchanged => println!("notes of {plan} for {persona}/{}: up to date", args.lang),
                Ok(p) => println!(
                    "notes of {plan} for {persona}/{}: {} files downloaded, {} bytes",
                    args.lang, p.files_downloaded, p.bytes_downloaded
                ),
                Err(e) => failed = Some(format!("notes of {plan} for {persona}: {e}")),
            }
        }
    }
    if let Some(plan) = &args.plan {
        let persona = args.persona.as_deref().unwrap_or(NEUTRAL_PERSONA);
        let store = store.lock().map_err(|_| CliError::Usage("store lock poisoned".into()))?;
        let r = is_ready_offline(&store, plan, persona, &args.lang)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if r.ready {
            println!("ready offline: {plan} with {persona}");
        } else {
            println!("not ready offline: {}", r.missing.join("; "));
        }
    }
    if args.pull {
        let mut traffic = Traffic::default();
        match restore_history(&client, &store, &mut traffic) {
            Ok(r) => println!(
                "history: {} runs on the server, {} restored, {} already here, {} still uploading elsewhere",
                r.listed, r.restored, r.already_here, r.not_finalized
            ),
            Err(e) => failed = Some(format!("history: {e}")),
        }
    }
    let syncer = Syncer::new(store, client);
    let report = syncer.sync_now();
    println!(
        "runs: {} uploaded, {} pending · chunks: {} sent, {} already held · {} requests, {} retries, {} bytes sent",
        report.runs_uploaded,
        report.runs_pending,
        report.chunks_sent,
        report.chunks_already_held,
        report.requests,
        report.retries,
        report.bytes_sent
    );
    if let Some(e) = report.stopped.map(|e| e.to_string()).or(failed) {
        let later = syncer
            .next_sync_at()
            .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
            .map(|d| format!(" (try again in {} s)", d.as_secs().max(1)))
            .unwrap_or_default();
        return Err(CliError::Usage(format!("{e}{later}")));
    }
    Ok(())
}

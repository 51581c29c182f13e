//! The reference sync and pack server (DESIGN §7), `pacenote serve`: run logs arrive as
//! idempotent one-minute chunks under bearer-token users; plans, pack manifests and clips go
//! out by content hash. Storage sits behind [`storage::Storage`]: embedded SQLite (one
//! process) or PostgreSQL (several stateless instances over one database).
//!
//! Must not: let a user reach another's runs; answer a malformed body with anything but a 4xx
//! that says what was wrong; block the async workers on the database (storage calls run on the
//! storage's own threads).

pub mod content;
pub mod ops;
pub mod storage;
pub mod storage_threads;
#[cfg(any(test, feature = "test-backends"))]
pub mod test_backends;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pacenote_sync::wire::{
    Cursor, DEFAULT_RUNS_PAGE, ErrorBody, FinalizeClaim, MAX_CHUNK_BODY_BYTES, MAX_RUNS_PAGE,
    MAX_SMALL_BODY_BYTES, RunDownload, RunHeader, RunPage, check_chunk_count, decode_chunk, sha256_hex,
};

use content::{Content, RangeAnswer, byte_range, etag_matches};
use storage::{ChunkPut, Storage, StorageError};

/// A connection has this long to send a request's headers, and this long for the whole
/// request with its body (a chunk is at most 4 MB: a minute at 64 kB/s, a slow phone's
/// upload): a client that stops mid-request otherwise holds its connection (and its file
/// descriptor) forever, and a few hundred of them are a denial of service.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest run id accepted (the app's ids are far shorter).
const MAX_RUN_ID_CHARS: usize = 128;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub content: Arc<Content>,
    /// Request ids, metrics and the rate limit of this instance.
    pub ops: Arc<ops::Ops>,
    /// Tokens lately found to be users', for chunks (see [`tokens`]).
    known_tokens: Arc<tokens::KnownTokens>,
    /// The threads storage calls run on, in the order they came (see [`storage_threads`]).
    storage_threads: Arc<storage_threads::StorageThreads>,
    /// Whether this instance offers and takes the columnar chunk encoding (off only while a
    /// fleet is being upgraded: `serve --gzip-json-chunks-only` behaves as servers before it).
    pub columnar_chunks: bool,
}

impl AppState {
    /// A server's state with the default rate limit ([`ops::RateLimit::default`]).
    pub fn new(storage: Arc<dyn Storage>, content: Arc<Content>) -> std::io::Result<Self> {
        Self::with_rate_limit(storage, content, Some(ops::RateLimit::default()))
    }

    /// `limit: None` serves every request however fast they come. Starts the storage's
    /// threads (they end when the last clone of the state is dropped).
    pub fn with_rate_limit(
        storage: Arc<dyn Storage>,
        content: Arc<Content>,
        limit: Option<ops::RateLimit>,
    ) -> std::io::Result<Self> {
        let threads = storage.concurrent_calls();
        Ok(Self {
            storage_threads: Arc::new(storage_threads::StorageThreads::start(storage, threads)?),
            content,
            ops: Arc::new(ops::Ops::new(limit)),
            known_tokens: Arc::default(),
            columnar_chunks: true,
        })
    }

    /// Runs `call` on a storage thread when one is free, in the order calls came. A request
    /// given up half-way (the client left) does not take its call back.
    async fn storage<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.storage_threads
            .call(call)
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(ApiError::from)
    }

    /// This instance takes gzip JSON chunks only and offers nothing else in its cursor, as
    /// servers before the columnar encoding did.
    pub fn gzip_json_chunks_only(mut self) -> Self {
        self.columnar_chunks = false;
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("content", &self.content).finish_non_exhaustive()
    }
}

/// An HTTP error with a message for the person reading it, as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(ErrorBody { error: self.1 })).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the scheme to use.
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        let status = match e {
            StorageError::NotFound(_) => StatusCode::NOT_FOUND,
            StorageError::Conflict(_) => StatusCode::CONFLICT,
            StorageError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            StorageError::Internal(_) => {
                tracing::error!("{e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError(status, e.to_string())
    }
}

fn bad_request(message: impl ToString) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.to_string())
}

/// The user a bearer token belongs to.
#[derive(Debug)]
pub struct User(pub String);

/// The token of a request's `Authorization: Bearer <token>`, or the 401 saying what is wrong.
fn bearer_token(parts: &Parts) -> Result<String, ApiError> {
    let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.to_owned());
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("no Authorization header: send `Authorization: Bearer <token>`"))?;
    Ok(value
        .to_str()
        .ok()
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 9110 §11.1): "bearer" is "Bearer".
            let (scheme, token) = v.trim_start().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header is not `Bearer <token>`"))?
        .to_owned())
}

/// The user `token` belongs to, looked up in the database.
///
/// A token is found by its SHA-256 through the database's unique index, never compared in
/// this process: the time a lookup takes depends on the hash, which an attacker cannot steer
/// towards a real token's, so it leaks nothing a comparison loop could (no constant-time
/// compare is needed, as none is made).
async fn user_of_token(state: &AppState, token: String) -> Result<String, ApiError> {
    state
        .storage(move |storage| storage.user_for_token(&token))
        .await?
        .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, storage::UNKNOWN_TOKEN.to_owned()))
}

/// A known user's request counts against their rate limit.
impl FromRequestParts<AppState> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).map_err(IntoResponse::into_response)?;
        let user = user_of_token(state, token).await.map_err(IntoResponse::into_response)?;
        state.ops.admit_or_refuse(&user).map_err(|r| *r)?;
        Ok(User(user))
    }
}

/// Who sends a chunk: the user their token was found to belong to (in this instance's
/// [`tokens::KnownTokens`] when it is there, saving a storage call), and the token's SHA-256,
/// which the chunk's write checks is still the user's.
#[derive(Debug)]
pub struct ChunkSender {
    user: String,
    token_sha256: String,
}

impl FromRequestParts<AppState> for ChunkSender {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).map_err(IntoResponse::into_response)?;
        let token_sha256 = sha256_hex(token.as_bytes());
        let user = match state.known_tokens.user(&token_sha256) {
            Some(user) => user,
            None => {
                let user = user_of_token(state, token).await.map_err(IntoResponse::into_response)?;
                state.known_tokens.found(&token_sha256, &user);
                user
            }
        };
        state.ops.admit_or_refuse(&user).map_err(|r| *r)?;
        Ok(ChunkSender { user, token_sha256 })
    }
}

fn check_run_id(run_id: &str) -> Result<(), ApiError> {
    let ok = !run_id.is_empty()
        && run_id.chars().count() <= MAX_RUN_ID_CHARS
        && run_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(bad_request(format!(
            "run id {run_id:?}: use 1 to {MAX_RUN_ID_CHARS} letters, digits, '-', '_' or '.'"
        )))
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("the {what} is not valid: {e}")))
}

async fn put_run(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    check_run_id(&run_id)?;
    let header: RunHeader = parse_json("run header", &body)?;
    if header.effort.is_some_and(|e| !(1..=10).contains(&e)) {
        return Err(bad_request("effort is a check-in answer from 1 to 10"));
    }
    state.storage(move |storage| storage.put_run(&user, &run_id, &header)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_chunk(
    State(state): State<AppState>,
    ChunkSender { user, token_sha256 }: ChunkSender,
    Path((run_id, index)): Path<(String, u64)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    check_run_id(&run_id)?;
    if !state.columnar_chunks && body.starts_with(pacenote_sync::columnar::MAGIC) {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this server takes chunks as gzip JSON only (it runs with --gzip-json-chunks-only): send the chunk as gzip JSON".into(),
        ));
    }
    // The chunk is decoded in its storage call's turn: all of a chunk's work then happens in
    // the order chunks came, and the async workers only move bytes. Decoded on an async
    // worker, a chunk's CPU competed with reading the next requests, and which request's
    // answer went out next was down to the scheduler (`bench server`, PostgreSQL × 2 at 128
    // phones: p99 three times the median, now about twice).
    let sender_token = token_sha256.clone();
    let put = state
        .storage(move |storage| {
            Ok(decode_chunk(index, &body).map(|(chunk, digest)| {
                storage.put_chunk(&user, &sender_token, &run_id, &chunk, &digest, &body)
            }))
        })
        .await
        .and_then(|decoded| decoded.map_err(bad_request))
        .and_then(|put| put.map_err(ApiError::from));
    if matches!(put, Err(ApiError(StatusCode::UNAUTHORIZED, _))) {
        state.known_tokens.refused(&token_sha256);
    }
    Ok(match put? {
        ChunkPut::Stored => StatusCode::CREATED,
        ChunkPut::AlreadyHeld => StatusCode::OK,
    })
}

/// `GET /v1/runs?after=ID&limit=N` (both optional).
#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/runs`: a page of the user's runs with their headers (summary, analysis, check-in):
/// what a new phone restores its history from.
async fn list_runs(
    State(state): State<AppState>,
    User(user): User,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<RunPage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request(format!("{e}: use ?after=RUN_ID&limit=N")))?;
    let limit = query.limit.unwrap_or(DEFAULT_RUNS_PAGE);
    if !(1..=MAX_RUNS_PAGE).contains(&limit) {
        return Err(bad_request(format!("limit {limit}: ask for 1 to {MAX_RUNS_PAGE} runs a page")));
    }
    if let Some(after) = &query.after {
        check_run_id(after)?;
    }
    // One more than asked for says whether another page follows.
    let mut runs =
        state.storage(move |storage| storage.runs_page(&user, query.after.as_deref(), limit + 1)).await?;
    let next_after = (runs.len() > limit).then(|| runs[limit - 1].id.clone());
    runs.truncate(limit);
    Ok(Json(RunPage { runs, next_after }))
}

/// `GET /v1/runs/{id}`: the run whole (header, samples, cues, events).
async fn get_run(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<String>,
) -> Result<Json<RunDownload>, ApiError> {
    check_run_id(&run_id)?;
    Ok(Json(state.storage(move |storage| storage.run_download(&user, &run_id)).await?))
}

/// `GET /healthz`: 200 "ok" when the database answers, 503 saying why when it does not; no
/// token (a load balancer has none).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.storage(|storage| storage.ping()).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("the database does not answer: {}\n", e.1))
            .into_response(),
    }
}

async fn get_cursor(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<String>,
) -> Result<Json<Cursor>, ApiError> {
    check_run_id(&run_id)?;
    let held = state.storage(move |storage| storage.cursor(&user, &run_id)).await?;
    Ok(Json(Cursor::new(held, state.columnar_chunks)))
}

async fn finalize(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_run_id(&run_id)?;
    let claim: FinalizeClaim = parse_json("finalize claim", &body)?;
    check_chunk_count(claim.chunks, "finalize claim's `chunks`").map_err(bad_request)?;
    let reply = state.storage(move |storage| storage.finalize(&user, &run_id, &claim)).await?;
    let status = if reply.confirmed { StatusCode::OK } else { StatusCode::CONFLICT };
    Ok((status, Json(reply)).into_response())
}

/// A document by ETag: 304 when the client has it.
fn tagged_response(doc: &content::Tagged, headers: &HeaderMap, content_type: &'static str) -> Response {
    let etag = HeaderValue::from_str(&doc.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &doc.etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::ETAG, etag), (header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        doc.bytes.clone(),
    )
        .into_response()
}

async fn get_plan(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = state
        .content
        .plans
        .get(&id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no plan {id}")))?;
    Ok(tagged_response(doc, &headers, "application/json"))
}

/// A plan's note clips in a persona's voice (`notes/<plan id>.json` of the persona's pack):
/// what a phone preloads with the plan so that no note it knew is read in the system voice.
async fn get_notes(
    State(state): State<AppState>,
    _user: User,
    Path((id, persona, lang)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = state.content.notes.get(&(id.clone(), persona.clone(), lang.clone())).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, format!("no note clips of plan {id} for persona {persona} in {lang}"))
    })?;
    Ok(tagged_response(doc, &headers, "application/json"))
}

async fn get_manifest(
    State(state): State<AppState>,
    Path((persona, lang)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = state.content.manifests.get(&(persona.clone(), lang.clone())).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, format!("no pack for persona {persona} in language {lang}"))
    })?;
    Ok(tagged_response(doc, &headers, "application/json"))
}

async fn get_blob(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = state
        .content
        .blobs
        .get(&sha256)
        .cloned()
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no blob {sha256}")))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("blob {sha256}: {e}")))?;
    let len = bytes.len() as u64;
    let etag = HeaderValue::from_str(&format!("\"{sha256}\"")).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (header::ETAG, etag),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
    ];
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| byte_range(r, len));
    match range {
        Some(RangeAnswer::Unsatisfiable) => Ok((
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            )],
        )
            .into_response()),
        Some(RangeAnswer::Part(start, end)) => {
            let content_range = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1))
                .unwrap_or(HeaderValue::from_static("bytes */0"));
            let part = bytes[start as usize..end as usize].to_vec();
            Ok((StatusCode::PARTIAL_CONTENT, common, [(header::CONTENT_RANGE, content_range)], part)
                .into_response())
        }
        _ => Ok((StatusCode::OK, common, bytes).into_response()),
    }
}

/// The routes of DESIGN §7.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/runs/{run_id}/chunks/{index}",
            put(put_chunk).layer(DefaultBodyLimit::max(MAX_CHUNK_BODY_BYTES)),
        )
        .route("/v1/runs", get(list_runs))
        .route("/v1/runs/{run_id}", put(put_run).get(get_run))
        .route("/v1/runs/{run_id}/cursor", get(get_cursor))
        .route("/healthz", get(healthz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/runs/{run_id}/finalize", post(finalize))
        .route("/v1/plans/{id}", get(get_plan))
        .route("/v1/plans/{id}/notes/{persona}/{lang}", get(get_notes))
        .route("/v1/packs/{persona}/{lang}/manifest", get(get_manifest))
        .route("/v1/blobs/{sha256}", get(get_blob))
        .layer(DefaultBodyLimit::max(MAX_SMALL_BODY_BYTES))
        .layer(axum::middleware::from_fn(within_request_timeout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}

/// A request (its body read included) that takes longer than [`REQUEST_TIMEOUT`] is answered
/// 408 and dropped.
async fn within_request_timeout(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {} s: send it again", REQUEST_TIMEOUT.as_secs()),
        )
        .into_response(),
    }
}

/// Serves `app` on `listener` until `stopped`: each connection with a header read timeout
/// ([`HEADER_READ_TIMEOUT`]); at the stop, idle connections close and requests in flight
/// finish.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let (closing, _) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the listener itself is fine.
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Answers go out as they are written: with Nagle's algorithm a response written in two
        // parts waits for the client's delayed acknowledgement of the first (tens of ms).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut closing = closing.subscribe();
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = closing.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        // Reap the finished ones as we go.
        while connections.try_join_next().is_some() {}
    }
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// A server running on its own thread and runtime (the CLI, tests); stops when dropped.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Binds `addr` (port 0 for any free one) and serves until stopped.
    pub fn start(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pacenote-server".into())
            .spawn(move || runtime.block_on(async move { serve(listener, router(state), stopped).await }))?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// Serves until the process ends.
    pub fn wait(mut self) -> std::io::Result<()> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err(std::io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }

    /// Stops taking connections, finishes what is in flight, and returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;

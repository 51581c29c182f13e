//! Talking to the server: the transport trait the apps implement (URLSession, OkHttp — as
//! Mozilla's viaduct does), a Rust implementation for the CLI and tests, and one request with
//! retries: exponential backoff with full jitter, capped, `Retry-After` honoured.
//!
//! Must not: retry a request the server refused for good (4xx other than 408/425/429); sleep
//! longer than the cap inside a sync pass (a longer wait ends the pass and is scheduled).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};

/// HTTP methods the protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The server's message: the `error` of a JSON error body, or the body as text.
    pub fn message(&self) -> String {
        serde_json::from_slice::<crate::wire::ErrorBody>(&self.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).chars().take(200).collect())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("no connection: {0}")]
    Connection(String),
    #[error("{0}")]
    Other(String),
}

/// Sends one HTTP request and returns the response, whatever its status. Implementations may
/// block; they are called from a sync thread, never from one that feeds the engine.
pub trait Transport: Send + Sync + std::fmt::Debug {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// How hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The first retry waits up to this long (full jitter: anywhere from zero).
    pub base_delay: Duration,
    /// No wait inside a pass is longer; a server asking for more ends the pass.
    pub max_delay: Duration,
    /// Tries per request within a pass.
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // A phone on a flaky cell: a few quick tries, then wait for the next pass.
        Self { base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30), attempts: 5 }
    }
}

/// Full jitter (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
/// uniform in `[0, min(cap, base · 2^attempt)]`.
pub fn full_jitter(rng: &mut impl Rng, base: Duration, cap: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(20)).min(cap);
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.random_range(0..=ms))
}

/// `Retry-After` as seconds (the HTTP-date form is treated as absent).
pub fn retry_after(response: &HttpResponse) -> Option<Duration> {
    response.header("retry-after")?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What a request ended with when it did not get a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Nothing more to do this pass (server unreachable, overloaded, or asking to wait);
    /// `wait` is how long the server asked for, if it did.
    #[error("{message}")]
    TryLater { message: String, wait: Option<Duration> },
    /// The token was refused: no request will work until the host gives a new one.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller gave up (the app's task was cancelled): no request was sent after that.
    #[error("cancelled by the app")]
    Cancelled,
}

/// A caller's "stop": set from any thread (a dropped future, the app's cancel), read before
/// every request and during every wait between retries. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How often a wait between retries looks at its [`Cancel`]: a cancelled pass stops within
/// this (a wait may be seconds long).
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Counters of one pass, and the caller's [`Cancel`].
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub requests: u64,
    pub retries: u64,
    pub bytes_sent: u64,
    pub cancel: Cancel,
}

impl Traffic {
    /// A pass that stops sending once `cancel` is set.
    pub fn cancellable(cancel: Cancel) -> Self {
        Self { cancel, ..Self::default() }
    }
}

/// A server address, a token and a transport, with retries.
#[derive(Debug)]
pub struct Client {
    pub server: String,
    pub token: Option<String>,
    pub transport: std::sync::Arc<dyn Transport>,
    pub policy: RetryPolicy,
    rng: Mutex<rand_chacha::ChaCha8Rng>,
}

fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

impl Client {
    pub fn new(
        server: &str,
        token: Option<String>,
        transport: std::sync::Arc<dyn Transport>,
        policy: RetryPolicy,
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        Self {
            server: server.trim_end_matches('/').to_owned(),
            token,
            transport,
            policy,
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// Jitter drawn from this client's generator.
    pub fn jitter(&self, base: Duration, cap: Duration, attempt: u32) -> Duration {
        match self.rng.lock() {
            Ok(mut rng) => full_jitter(&mut *rng, base, cap, attempt),
            Err(_) => cap,
        }
    }

    /// A request to `path` with the token and the given headers.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> HttpRequest {
        let mut all: Vec<(String, String)> =
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        if let Some(token) = &self.token {
            all.push(("Authorization".into(), format!("Bearer {token}")));
        }
        HttpRequest { method, url: format!("{}{path}", self.server), headers: all, body }
    }

    /// Sends with retries; any answer that is not worth retrying is returned for the caller
    /// to judge (2xx, 304, 4xx).
    pub fn send(&self, request: &HttpRequest, traffic: &mut Traffic) -> Result<HttpResponse, RequestError> {
        let mut last = String::new();
        for attempt in 0..self.policy.attempts.max(1) {
            if traffic.cancel.is_cancelled() {
                return Err(RequestError::Cancelled);
            }
            if attempt > 0 {
                traffic.retries += 1;
            }
            traffic.requests += 1;
            traffic.bytes_sent += request.body.len() as u64;
            let wait = match self.transport.send(request) {
                Ok(response) if response.status == 401 || response.status == 403 => {
                    return Err(RequestError::Unauthorized(format!(
                        "{} {}: the server refused the token ({} {}): sign in again for a new one",
                        request.method.as_str(),
                        request.url,
                        response.status,
                        response.message()
                    )));
                }
                Ok(response) if is_retryable(response.status) => {
                    last = format!("{} {}", response.status, response.message());
                    match retry_after(&response) {
                        Some(wait) if wait > self.policy.max_delay => {
                            return Err(RequestError::TryLater {
                                message: format!("the server asks to wait {} s ({last})", wait.as_secs()),
                                wait: Some(wait),
                            });
                        }
                        Some(wait) => wait,
                        None => self.jitter(self.policy.base_delay, self.policy.max_delay, attempt),
                    }
                }
                Ok(response) => return Ok(response),
                Err(e) => {
                    last = e.to_string();
                    self.jitter(self.policy.base_delay, self.policy.max_delay, attempt)
                }
            };
            if attempt + 1 < self.policy.attempts {
                let until = std::time::Instant::now() + wait;
                while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                    if traffic.cancel.is_cancelled() {
                        return Err(RequestError::Cancelled);
                    }
                    std::thread::sleep(left.min(CANCEL_POLL));
                }
            }
        }
        Err(RequestError::TryLater {
            message: format!(
                "{} {}: gave up after {} tries ({last})",
                request.method.as_str(),
                request.url,
                self.policy.attempts
            ),
            wait: None,
        })
    }
}

/// The Rust transport (ureq; plain HTTP and HTTPS): for the CLI and the tests.
#[cfg(feature = "http")]
#[derive(Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

#[cfg(feature = "http")]
impl UreqTransport {
    /// Each request must be answered within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        Self { agent: ureq::Agent::new_with_config(config) }
    }
}

#[cfg(feature = "http")]
impl Transport for UreqTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        let http_request =
            builder.body(request.body.clone()).map_err(|e| TransportError::Other(e.to_string()))?;
        let classify = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => TransportError::Timeout(e.to_string()),
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                TransportError::Connection(e.to_string())
            }
            other => TransportError::Other(other.to_string()),
        };
        let mut response = self.agent.run(http_request).map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(crate::wire::MAX_RESPONSE_BYTES as u64)
            .read_to_vec()
            .map_err(classify)?;
        Ok(HttpResponse { status, headers, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_growing_cap() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 0..30 {
            let ceiling = base.saturating_mul(1 << attempt.min(20)).min(cap);
            let draws: Vec<Duration> = (0..200).map(|_| full_jitter(&mut rng, base, cap, attempt)).collect();
            assert!(draws.iter().all(|d| *d <= ceiling));
            // Spread over the range, not stuck at one end.
            assert!(draws.iter().any(|d| *d < ceiling / 4) && draws.iter().any(|d| *d > ceiling * 3 / 4));
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let r = HttpResponse { status: 503, headers: vec![("Retry-After".into(), "3".into())], body: vec![] };
        assert_eq!(retry_after(&r), Some(Duration::from_secs(3)));
        let r = HttpResponse {
            status: 503,
            headers: vec![("retry-after".into(), "Wed, 21 Oct 2015 07:28:00 GMT".into())],
            body: vec![],
        };
        assert_eq!(retry_after(&r), None);
    }
}

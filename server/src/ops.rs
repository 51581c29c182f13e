//! What an operator of the server sees, and what keeps one client from taking it over: a
//! request id and one structured log line per request (`tracing`), Prometheus metrics
//! (`GET /metrics`: requests by route, method and status, chunk bytes, a latency histogram,
//! requests refused by the rate limit), and a per-token rate limit answered `429` with
//! `Retry-After` (the phone's client waits as asked).
//!
//! Must not: let the number of metric series grow with users or runs (routes are labelled by
//! their template); let the limiter's memory grow with tokens that are not users' (it counts
//! per user, after the token is known, so a flood of made-up tokens costs a 401 each and no
//! memory); cost a storage call of its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::{ApiError, AppState};

/// Upper bounds (seconds) of the latency histogram's buckets: a chunk on a quiet server takes
/// about a millisecond, a loaded one tens.
const LATENCY_BUCKETS_S: [f64; 12] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];
/// The header a request id travels in (taken from the client or a proxy when it is sane).
const REQUEST_ID: &str = "x-request-id";
/// Longest request id taken from a client.
const MAX_REQUEST_ID_CHARS: usize = 64;
/// Token buckets idle this long are forgotten (they are full again by then).
const IDLE_BUCKET: Duration = Duration::from_secs(600);
/// The limiter prunes idle buckets when it holds more than this many.
const PRUNE_ABOVE_BUCKETS: usize = 10_000;

/// How many requests a token may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// A phone uploading a 4-hour run (1 header, 241 chunks, a finalize) at full speed needs
    /// about 12 s at 20 a second after a burst of 120; history pages and plan checks are a
    /// handful. A client looping far faster is a bug or an attack.
    fn default() -> Self {
        Self { per_second: 20.0, burst: 120.0 }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What the server counts and limits; one per instance.
#[derive(Debug)]
pub struct Ops {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Requests by (route template, method, status).
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    chunk_bytes: AtomicU64,
    rate_limited: AtomicU64,
    next_id: AtomicU64,
    /// Told apart from other instances' ids in a shared log.
    instance: String,
}

impl Ops {
    /// `limit: None` turns the rate limit off.
    pub fn new(limit: Option<RateLimit>) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            limit: limit.filter(|l| l.per_second > 0.0 && l.burst >= 1.0),
            buckets: Mutex::new(HashMap::new()),
            requests: Mutex::new(BTreeMap::new()),
            latency_buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            chunk_bytes: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            instance: format!("{:x}{:05x}", std::process::id(), nanos & 0xf_ffff),
        }
    }

    /// Takes one request from the user's bucket: `Err(wait)` when it is empty.
    fn admit(&self, user: &str, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else { return Ok(()) };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE_BUCKETS {
            buckets.retain(|_, b| now.duration_since(b.at) < IDLE_BUCKET);
        }
        let bucket = buckets.entry(user.to_owned()).or_insert(Bucket { tokens: limit.burst, at: now });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * limit.per_second).min(limit.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / limit.per_second))
        }
    }

    fn record(&self, route: &str, method: &str, status: u16, took: Duration, chunk_bytes: u64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let s = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS_S.iter().position(|b| s <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.chunk_bytes.fetch_add(chunk_bytes, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of the counters.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP pacenote_requests_total Requests answered, by route template, method and status."
        );
        let _ = writeln!(out, "# TYPE pacenote_requests_total counter");
        for ((route, method, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "pacenote_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP pacenote_request_duration_seconds Time to answer a request.");
        let _ = writeln!(out, "# TYPE pacenote_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (bound, n) in LATENCY_BUCKETS_S.iter().zip(&self.latency_buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "pacenote_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "pacenote_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum_s = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "pacenote_request_duration_seconds_sum {sum_s}");
        let _ = writeln!(out, "pacenote_request_duration_seconds_count {count}");
        let _ = writeln!(out, "# HELP pacenote_chunk_bytes_total Compressed chunk bytes received.");
        let _ = writeln!(out, "# TYPE pacenote_chunk_bytes_total counter");
        let _ = writeln!(out, "pacenote_chunk_bytes_total {}", self.chunk_bytes.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP pacenote_rate_limited_total Requests refused with 429 by the per-token limit."
        );
        let _ = writeln!(out, "# TYPE pacenote_rate_limited_total counter");
        let _ = writeln!(out, "pacenote_rate_limited_total {}", self.rate_limited.load(Ordering::Relaxed));
        out
    }

    /// Admits one request of `user`, or answers `429` with `Retry-After`.
    pub(crate) fn admit_or_refuse(&self, user: &str) -> Result<(), Box<Response>> {
        self.admit(user, Instant::now()).map_err(|wait| {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut r = ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many requests for this user: try again in {seconds} s"),
            )
            .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            Box::new(r)
        })
    }

    fn request_id(&self, given: Option<&HeaderValue>) -> String {
        given
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= MAX_REQUEST_ID_CHARS
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map_or_else(
                || format!("{}-{}", self.instance, self.next_id.fetch_add(1, Ordering::Relaxed)),
                str::to_owned,
            )
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"))], state.ops.render())
        .into_response()
}

/// Around every request: its id (echoed in `x-request-id`), one log line and the metrics.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let ops = &state.ops;
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let id = ops.request_id(request.headers().get(REQUEST_ID));
    let chunk_bytes = if route.ends_with("/chunks/{index}") {
        request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    ops.record(&route, &method, status, took, if status < 300 { chunk_bytes } else { 0 });
    span.in_scope(|| tracing::info!(status, ms = took.as_secs_f64() * 1000.0, "answered"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_their_burst_then_their_rate_and_others_are_unaffected() {
        let ops = Ops::new(Some(RateLimit { per_second: 2.0, burst: 3.0 }));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(ops.admit("a", t0).is_ok());
        }
        let wait = ops.admit("a", t0).expect_err("the burst is spent");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(ops.admit("b", t0).is_ok(), "another user has their own bucket");
        assert!(ops.admit("a", t0 + Duration::from_millis(500)).is_ok(), "refilled at 2 a second");
        assert!(Ops::new(None).admit("a", t0).is_ok());
    }

    #[test]
    fn metrics_are_prometheus_text_with_a_cumulative_histogram() {
        let ops = Ops::new(None);
        ops.record("/v1/runs/{run_id}/chunks/{index}", "PUT", 201, Duration::from_micros(1500), 900);
        ops.record("/v1/runs/{run_id}/chunks/{index}", "PUT", 201, Duration::from_millis(30), 800);
        let text = ops.render();
        assert!(
            text.contains("pacenote_requests_total{route=\"/v1/runs/{run_id}/chunks/{index}\",method=\"PUT\",status=\"201\"} 2"),
            "{text}"
        );
        assert!(text.contains("pacenote_request_duration_seconds_bucket{le=\"0.002\"} 1"), "{text}");
        assert!(text.contains("pacenote_request_duration_seconds_bucket{le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("pacenote_request_duration_seconds_bucket{le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("pacenote_chunk_bytes_total 1700"), "{text}");
    }

    #[test]
    fn a_sane_request_id_is_kept_and_others_are_replaced() {
        let ops = Ops::new(None);
        assert_eq!(ops.request_id(Some(&HeaderValue::from_static("abc-123"))), "abc-123");
        let made = ops.request_id(Some(&HeaderValue::from_static("no spaces allowed")));
        assert!(made.starts_with(&ops.instance), "{made}");
        assert_ne!(ops.request_id(None), ops.request_id(None));
    }
}

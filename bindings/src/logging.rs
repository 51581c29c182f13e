//! `init_logging(level, sink)`: the library's `tracing` events forwarded to the host's log
//! (os_log on iOS, Logcat on Android) through a foreign trait.
//!
//! The one piece of process-wide state in the library, as logging is process-wide on every
//! platform: the first call installs a `tracing` subscriber; later calls replace the sink and
//! the level. Must not: block, allocate per event below the level, or call the sink with a lock
//! held that the sink could need.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::PacenoteError;

/// How much to log, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn rank(self) -> u8 {
        self as u8
    }

    fn of(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::TRACE => LogLevel::Trace,
        }
    }
}

/// Where log lines go: implement it over os_log or android.util.Log. Called on the thread that
/// logged.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, target: String, message: String);
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Sends the library's log events at `level` and more severe to `sink`.
#[uniffi::export]
pub fn init_logging(level: LogLevel, sink: Arc<dyn LogSink>) -> Result<(), PacenoteError> {
    *SINK.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sink);
    MAX_LEVEL.store(level.rank(), Ordering::Relaxed);
    let installed =
        *INSTALLED.get_or_init(|| tracing_subscriber::registry().with(SinkLayer).try_init().is_ok());
    if installed {
        tracing::debug!(?level, "logging to the host");
        Ok(())
    } else {
        Err(PacenoteError::InvalidInput {
            reason:
                "another tracing subscriber was installed first in this process; Pacenote cannot log to it"
                    .into(),
        })
    }
}

struct SinkLayer;

/// Collects an event's message and fields as one line: `message key=value …`.
#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SinkLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let level = LogLevel::of(event.metadata().level());
        if level.rank() > MAX_LEVEL.load(Ordering::Relaxed) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let Some(sink) = sink else { return };
        let mut line = Line::default();
        event.record(&mut line);
        sink.log(level, event.metadata().target().to_owned(), line.0);
    }
}

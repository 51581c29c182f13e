//! Pacenote for Swift and Kotlin: the run engine, personas and coaching rules, the on-device
//! store and sync, behind one uniffi library (DESIGN §8). One file per concern:
//! [`session`] (a run in progress), [`store`] (the app's handle: the on-device store, runs
//! recorded and resumed, preload and sync), [`transport`] (the host's HTTP stack),
//! [`coaching`] (the coaching core beyond the run), [`audio`] (the library voicing a run),
//! [`logging`], [`convert`] (the core's records as the apps see them) and [`error`].
//!
//! Threads: the feed calls of a [`RunSession`] run on the caller's thread and return quickly —
//! the engine is pure computation; a run started from [`Pacenote`] hands its batches to the
//! store's writer thread, so no feed call does file or network I/O. A [`CueListener`] is
//! called on the thread of the feed call that produced the utterance, before that call
//! returns; hand the work to your audio thread from there. [`Pacenote::sync_now`] and
//! [`Pacenote::preload`] are async and run on the library's one tokio runtime, which calls the
//! host's [`HttpTransport`].
//!
//! Errors: every exported call returns a [`PacenoteError`] with a message a developer can act
//! on; a Rust panic is caught at the boundary and becomes [`PacenoteError::Internal`], never an
//! abort.
//!
//! Must not: do I/O on a feed call's thread, keep global state beyond the runtime and the log
//! subscriber, or let a panic cross the FFI.

uniffi::setup_scaffolding!();

mod audio;
mod coaching;
mod convert;
mod error;
mod logging;
mod session;
mod store;
mod transport;

// The core's records and enums the API takes and gives as they are (see [`convert`]).
pub use pacenote_core::coaching::adapt::GoalProposal;
pub use pacenote_core::coaching::readiness::{MorningCheck, Readiness, Recommendation};
pub use pacenote_core::cue::{CueKind, Priority};
pub use pacenote_core::engine::RunnerFeedback;
pub use pacenote_core::engine::state::RunPhase;
pub use pacenote_core::profile::{Chattiness, RunnerProfile};
pub use pacenote_core::sensor::LocationFix;
pub use pacenote_core::signal::pace::GpsStatus;

pub use audio::{AudioFailure, AudioFocus, AudioOutput, Pcm, SpeechFallback};
pub use coaching::{HeatAdjustment, PlanAdaptation, adapt_plan, easy_version, heat_adjustment, readiness};
pub use error::PacenoteError;
pub use logging::{LogLevel, LogSink, init_logging};
pub use session::{
    CueInfo, CueListener, RunOptions, RunSession, RunState, RunSummary, StepState, Utterance, Weather,
    WeekSoFar,
};
pub use store::{
    OfflineReadiness, Pacenote, PreloadReport, ResumePoint, StoredRunInfo, SyncOutcome, SyncReport,
};
pub use transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportFailure};

/// The library's version.
#[uniffi::export]
pub fn pacenote_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The personas that ship: `stone`, `jakes`, `jenna` (and `neutral`, the plain wording).
#[uniffi::export]
pub fn personas() -> Vec<String> {
    let mut out: Vec<String> =
        pacenote_core::persona::BUNDLED_PERSONAS.iter().map(|(id, _)| (*id).to_owned()).collect();
    out.push(pacenote_core::persona::NEUTRAL_PERSONA.to_owned());
    out
}

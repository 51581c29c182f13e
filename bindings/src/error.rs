//! The one error type every exported call returns, how each crate's errors map onto it, and
//! the guard that turns a panic into an error at the boundary.
//!
//! Must not: lose what an error said (the message travels whole), or let a panic cross the
//! FFI.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pacenote_core::coaching::readiness::ReadinessError;
use pacenote_core::persona::PersonaError;
use pacenote_core::plan::PlanError;
use pacenote_core::weather::HeatError;
use pacenote_sync::StoreError;
use pacenote_sync::preload::PreloadError;
use pacenote_sync::recorder::RecordError;
use pacenote_sync::restore::RestoreError;

/// What went wrong, with what to do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PacenoteError {
    /// The plan JSON is malformed or asks for something impossible; the message lists every
    /// problem with its JSON path.
    #[error("invalid plan: {problems}")]
    InvalidPlan { problems: String },
    /// No persona by that name ships in this library.
    #[error("unknown persona {name:?}: use one of {known}")]
    UnknownPersona { name: String, known: String },
    /// A value passed in is out of range (NaN, a negative time, a check-in of 11).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The on-device store failed (a full disk, a read-only file); what was stored is kept.
    #[error("store: {reason}")]
    Store { reason: String },
    /// A download or an upload failed; the message says which and why. Retry later.
    #[error("sync: {reason}")]
    Sync { reason: String },
    /// The app cancelled the call (its coroutine or task, or [`crate::store::Cancellation`]):
    /// no request was sent after that; what was confirmed stays confirmed.
    #[error("cancelled by the app")]
    Cancelled,
    /// A bug in Pacenote (a panic caught at the boundary): please report the message.
    #[error("internal error, please report: {reason}")]
    Internal { reason: String },
}

impl PacenoteError {
    pub(crate) fn invalid_input(reason: impl std::fmt::Display) -> Self {
        Self::InvalidInput { reason: reason.to_string() }
    }

    pub(crate) fn store(reason: impl std::fmt::Display) -> Self {
        Self::Store { reason: reason.to_string() }
    }
}

impl From<PlanError> for PacenoteError {
    fn from(e: PlanError) -> Self {
        Self::InvalidPlan { problems: e.to_string() }
    }
}

impl From<PersonaError> for PacenoteError {
    fn from(e: PersonaError) -> Self {
        match e {
            PersonaError::Unknown(name) => Self::UnknownPersona { name, known: crate::personas().join(", ") },
            other => Self::InvalidInput { reason: other.to_string() },
        }
    }
}

impl From<HeatError> for PacenoteError {
    fn from(e: HeatError) -> Self {
        Self::invalid_input(e)
    }
}

impl From<ReadinessError> for PacenoteError {
    fn from(e: ReadinessError) -> Self {
        Self::invalid_input(e)
    }
}

impl From<RecordError> for PacenoteError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Store(e) => e.into(),
            other => Self::invalid_input(other),
        }
    }
}

impl From<StoreError> for PacenoteError {
    fn from(e: StoreError) -> Self {
        Self::store(e)
    }
}

impl From<PreloadError> for PacenoteError {
    fn from(e: PreloadError) -> Self {
        match e {
            PreloadError::Request(pacenote_sync::client::RequestError::Cancelled) => Self::Cancelled,
            e => Self::Sync { reason: e.to_string() },
        }
    }
}

impl From<RestoreError> for PacenoteError {
    fn from(e: RestoreError) -> Self {
        match e {
            RestoreError::Request(pacenote_sync::client::RequestError::Cancelled) => Self::Cancelled,
            RestoreError::Store(e) => e.into(),
            e => Self::Sync { reason: e.to_string() },
        }
    }
}

/// Runs `f`, turning a panic into [`PacenoteError::Internal`].
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, PacenoteError>) -> Result<T, PacenoteError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(panic = %message, "a panic was caught at the FFI boundary");
        Err(PacenoteError::Internal { reason: message })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let r: Result<(), PacenoteError> = guarded(|| panic!("boom"));
        assert!(matches!(r, Err(PacenoteError::Internal { reason }) if reason == "boom"));
    }

    #[test]
    fn an_unknown_persona_lists_the_known_ones() {
        let e: PacenoteError = PersonaError::Unknown("yoda".into()).into();
        assert!(
            matches!(&e, PacenoteError::UnknownPersona { name, known } if name == "yoda" && known.contains("jenna")),
            "{e}"
        );
    }
}

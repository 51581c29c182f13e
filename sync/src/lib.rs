//! What outlives a run (DESIGN §7): the on-device store, crash-safe recording and resume,
//! preload of plans and packs, and the upload of run logs to the server, with the wire
//! protocol both sides share.
//!
//! Must not: delete a run's rows before the server confirmed the whole run; do network I/O on
//! a thread that feeds the engine; panic on anything read from disk or the network.

pub mod client;
pub mod columnar;
pub mod history;
pub mod preload;
pub mod recorder;
pub mod restore;
pub mod store;
pub mod upload;
pub mod wire;

pub use store::{
    Batch, CachedPack, CachedPlan, Checkpoint, FinishedRun, FinishedSummary, NewRun, RestoredRun, RunLog,
    RunSetup, SCHEMA_VERSION, SpokenCue, Store, StoreError, StoredEvent, StoredRun,
};

//! Pacenote's coaching brain, pure: session plans, signal processing, the run engine, personas,
//! and the coaching rules around a run (readiness, heat, layoffs, goals, post-run analysis).
//!
//! Everything here is a function of its inputs: the host's run clock comes in with every call,
//! events come out as data. This crate must never read files, open sockets, sleep or keep
//! global state — that is what makes every run replayable (DESIGN §1, §2).

pub mod coaching;
pub mod cue;
pub mod engine;
pub mod persona;
pub mod plan;
pub mod profile;
pub mod progress;
pub mod sensor;
pub mod signal;
pub mod speech;
pub mod units;
pub mod weather;

/// The example plans that ship with Pacenote, as (file name, JSON text).
pub const BUNDLED_PLANS: [(&str, &str); 5] = [
    ("easy-hr-cap.json", include_str!("../plans/easy-hr-cap.json")),
    ("intervals-5x1k.json", include_str!("../plans/intervals-5x1k.json")),
    ("tempo-20.json", include_str!("../plans/tempo-20.json")),
    ("just-ten-minutes.json", include_str!("../plans/just-ten-minutes.json")),
    ("pyramid-hr.json", include_str!("../plans/pyramid-hr.json")),
];

//! Coaching beyond the run loop (DESIGN §9): readiness before a run, heat, adapting after a
//! layoff, goals and streaks, and what a run shows afterwards.
//!
//! Pure functions of what the host passes in: no files, no clock of its own. Every
//! physiology or coaching number is a named constant with its source.

pub mod adapt;
pub mod analysis;
pub mod goals;
pub mod heat;
pub mod readiness;
pub mod summary;
pub mod trace;

//! Turning noisy sensors into numbers a coach can trust (DESIGN §3): pace and distance from
//! GPS, Doppler, device speed and cadence; heart rate without strap glitches; auto-pause.
//!
//! Every estimate carries how sure it is. Nothing here emits cues — that is the engine's job —
//! and nothing does I/O.

pub mod display;
pub mod geo;
pub mod grade;
pub mod heart_rate;
pub mod line_fit;
pub mod motion;
pub mod pace;
pub mod recent;

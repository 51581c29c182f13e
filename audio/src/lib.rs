//! Pacenote's voice (DESIGN §5, §6): cue packs — a persona's fixed phrases and number
//! vocabulary rendered once by a speech synthesiser, encoded as Ogg Vorbis, listed with their
//! hashes in `manifest.json` — the decoding that reads them back, stitching utterances from
//! clips, a plan's step notes rendered the same way into note clips, and rendering a run's whole
//! coach track offline (no audio device needed).
//!
//! This crate reads and writes files (packs live on disk) and runs the TTS command a pack is
//! built with; the coaching core stays pure.

pub mod live;
pub mod notes;
pub mod pack;
pub mod render;
pub mod tts;
pub mod voice;
pub mod wav;

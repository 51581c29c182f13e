//! What the server hands out before a run: plans and voice packs, addressed by content hash so
//! that a phone downloads each byte once (ETag / If-None-Match; clips as immutable blobs by
//! SHA-256, with Range for resuming). Loaded and verified at start-up: a pack whose clip does
//! not match its hash is refused then, never served. Must not: serve a path outside its folders.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pacenote_sync::preload::{ClipHead, NoteSetHead};
use pacenote_sync::wire::sha256_hex;
use serde::Deserialize;

/// A document with its ETag (the SHA-256 of its bytes, quoted).
#[derive(Debug, Clone)]
pub struct Tagged {
    pub etag: String,
    pub bytes: Vec<u8>,
}

impl Tagged {
    fn new(bytes: Vec<u8>) -> Self {
        Self { etag: format!("\"{}\"", sha256_hex(&bytes)), bytes }
    }
}

/// Plans by id, pack manifests by (persona, language), plans' note sets by (plan, persona,
/// language), clip files by SHA-256.
#[derive(Debug, Default)]
pub struct Content {
    pub plans: HashMap<String, Tagged>,
    pub manifests: HashMap<(String, String), Tagged>,
    pub notes: HashMap<(String, String, String), Tagged>,
    pub blobs: HashMap<String, PathBuf>,
}

#[derive(Debug, Deserialize)]
struct ManifestHead {
    persona: String,
    language: String,
    clips: Vec<ClipHead>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Content {
    /// Every `*.json` plan in `dir` (each must pass `plan check`), served under its id.
    pub fn add_plans(&mut self, dir: &Path) -> Result<usize, String> {
        let mut n = 0;
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes = read(&path)?;
            let plan = pacenote_core::plan::Plan::from_json(&bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            self.plans.insert(plan.id, Tagged::new(bytes));
            n += 1;
        }
        Ok(n)
    }

    /// Every pack under `dir` (`LANG/PERSONA/manifest.json`, as `pacenote pack build` writes
    /// them) with the plans' note sets in it (`LANG/PERSONA/notes/*.json`), each clip checked
    /// against its SHA-256.
    pub fn add_packs(&mut self, dir: &Path) -> Result<usize, String> {
        let mut n = 0;
        let mut manifests = Vec::new();
        for lang in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let lang = lang.map_err(|e| e.to_string())?.path();
            if !lang.is_dir() {
                continue;
            }
            for persona in std::fs::read_dir(&lang).map_err(|e| format!("{}: {e}", lang.display()))? {
                let manifest = persona.map_err(|e| e.to_string())?.path().join("manifest.json");
                if manifest.is_file() {
                    manifests.push(manifest);
                }
            }
        }
        for path in manifests {
            let bytes = read(&path)?;
            let head: ManifestHead = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a pack manifest: {e}", path.display()))?;
            let pack_dir = path.parent().unwrap_or(dir);
            self.add_clips(&path, pack_dir, &head.clips)?;
            self.add_note_sets(&pack_dir.join("notes"))?;
            self.manifests.insert((head.persona, head.language), Tagged::new(bytes));
            n += 1;
        }
        Ok(n)
    }

    /// The note sets in a pack's `notes/` folder (none when there is none).
    fn add_note_sets(&mut self, dir: &Path) -> Result<(), String> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes = read(&path)?;
            let head: NoteSetHead = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a note set: {e}", path.display()))?;
            self.add_clips(&path, dir, &head.clips)?;
            self.notes.insert((head.plan, head.persona, head.language), Tagged::new(bytes));
        }
        Ok(())
    }

    /// The clips `listed_in` names, from `dir`, each checked against its SHA-256 and served
    /// under it.
    fn add_clips(&mut self, listed_in: &Path, dir: &Path, clips: &[ClipHead]) -> Result<(), String> {
        for clip in clips {
            if clip.file.contains(['/', '\\']) || clip.file.starts_with('.') {
                return Err(format!(
                    "{}: clip file {:?} is not a plain file name",
                    listed_in.display(),
                    clip.file
                ));
            }
            let clip_path = dir.join(&clip.file);
            let actual = sha256_hex(&read(&clip_path)?);
            if actual != clip.sha256 {
                return Err(format!(
                    "{}: SHA-256 {actual}, {} says {}: rebuild it",
                    clip_path.display(),
                    listed_in.display(),
                    clip.sha256
                ));
            }
            self.blobs.insert(actual, clip_path);
        }
        Ok(())
    }
}

/// Whether an `If-None-Match` value matches an ETag (`*`, weak tags and lists included).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// How to answer a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: serve the whole body (200).
    Whole,
    /// Bytes `start..end` (206).
    Part(u64, u64),
    /// Past the end (416).
    Unsatisfiable,
}

/// A `Range: bytes=...` header against a body of `len` bytes.
pub fn byte_range(header: &str, len: u64) -> RangeAnswer {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return RangeAnswer::Whole };
    if spec.contains(',') {
        return RangeAnswer::Whole; // several ranges: the whole body is a valid answer
    }
    let Some((a, b)) = spec.split_once('-') else { return RangeAnswer::Whole };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(last)) if start <= last => (start, last.saturating_add(1).min(len)),
        (Ok(start), Err(_)) if b.is_empty() => (start, len),
        (Err(_), Ok(suffix)) if a.is_empty() => (len.saturating_sub(suffix), len),
        _ => return RangeAnswer::Whole,
    };
    if range.0 >= len { RangeAnswer::Unsatisfiable } else { RangeAnswer::Part(range.0, range.1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_etags_follow_http() {
        use RangeAnswer::*;
        assert_eq!(byte_range("bytes=0-9", 100), Part(0, 10));
        assert_eq!(byte_range("bytes=90-", 100), Part(90, 100));
        assert_eq!(byte_range("bytes=-10", 100), Part(90, 100));
        assert_eq!(byte_range("bytes=50-500", 100), Part(50, 100));
        assert_eq!(byte_range("bytes=100-", 100), Unsatisfiable);
        // The largest last byte a client can name is the end of the body, not an overflow.
        assert_eq!(byte_range("bytes=0-18446744073709551615", 100), Part(0, 100));
        assert_eq!(byte_range("bytes=18446744073709551615-18446744073709551615", 100), Unsatisfiable);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(byte_range("lines=1-2", 100), Whole);
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\", \"b\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }

    #[test]
    fn the_committed_packs_load_and_index_every_clip() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../audio/packs");
        let mut content = Content::default();
        // Three personas in English, German, Spanish and French.
        assert_eq!(content.add_packs(&dir).expect("packs"), 12);
        for lang in ["en", "de", "es", "fr"] {
            for persona in ["stone", "jakes", "jenna"] {
                let key = (persona.to_owned(), lang.to_owned());
                assert!(content.manifests.contains_key(&key), "{persona} ({lang}) is served");
            }
        }
        let key = ("intervals-5x1k".to_owned(), "jenna".to_owned(), "en".to_owned());
        assert!(content.notes.contains_key(&key), "the bundled plans' note sets are served");
        assert!(content.blobs.len() > 100);
        let plans = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/plans");
        assert_eq!(content.add_plans(&plans).expect("plans"), 5);
    }
}

//! Voice packs: what preloading downloads (DESIGN §5). A pack is a folder with `manifest.json`
//! (persona, language, version, voice, and per clip: id, text, file, sha256, duration_ms) and
//! one mono Ogg Vorbis clip per fixed phrase fragment and vocabulary word of the persona.
//!
//! `build` renders every fragment with a speech synthesiser ([`crate::tts`]: Piper's neural
//! voice, espeak-ng, or any command), encodes it with `oggenc`, and writes the manifest last,
//! through a temporary file and a rename, so a killed build never leaves a pack that looks
//! complete. A pack's freshness is its script and voice settings (`version`), never its audio
//! bytes: a neural synthesiser gives other bytes on every run. `verify` checks a pack against its persona's script: every fragment present, every
//! hash right, every clip decodable and as long as the manifest says.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use pacenote_core::persona::{Persona, Voice};
use pacenote_core::speech::Language;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tts::Tts;
use crate::voice::SAMPLE_RATE_HZ;
use crate::wav::write_wav;

/// The pack format this build writes: 2 added the Piper voice settings and `synthesis`.
pub const PACK_FORMAT_VERSION: u32 = 2;
/// The formats this build reads (a format-1 pack is an espeak-ng pack without `synthesis`).
pub const READABLE_FORMATS: std::ops::RangeInclusive<u32> = 1..=PACK_FORMAT_VERSION;
/// Vorbis quality for clips. Every clip carries ~3.8 KB of Vorbis headers (its codebooks),
/// 40 % of a pack, so the speech itself must be lean: q0 (~24 kbit/s at 16 kHz) keeps speech
/// clear and every pack within the 1.5 MiB it may weigh (at q1 German Jenna took 1.65 MB, at
/// q2 English Jenna 1.60 MB).
pub const VORBIS_QUALITY: &str = "0";
/// A decoded clip may differ from its manifest duration by this much (encoder padding).
const DURATION_TOLERANCE_MS: u64 = 30;

/// One recorded fragment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clip {
    /// Stable id: `f` and the first 16 hex digits of the text's sha256.
    pub id: String,
    pub text: String,
    pub file: String,
    pub sha256: String,
    pub duration_ms: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub persona: String,
    pub language: String,
    /// Content version: the sha256 of the script's fragments and the voice, so a pack built
    /// from an older script is told apart.
    pub version: String,
    pub voice: Voice,
    /// How the clips were synthesised: engine, voice model and the model's licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<String>,
    pub clips: Vec<Clip>,
}

/// Why a pack could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("the TTS command failed for {text:?}: {message}")]
    Tts { text: String, message: String },
    #[error("oggenc failed for {text:?}: {message} (install vorbis-tools)")]
    Encode { text: String, message: String },
    #[error("{path}: not a pack manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{0}")]
    Persona(String),
}

/// One thing wrong with a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackProblem(pub String);

impl std::fmt::Display for PackProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Id of the clip for a text.
pub fn clip_id(text: &str) -> String {
    format!("f{}", &hex(&Sha256::digest(text.as_bytes()))[..16])
}

/// The pack version a persona's script gives.
pub fn content_version(persona: &Persona) -> String {
    let mut hasher = Sha256::new();
    for fragment in persona.fragments() {
        hasher.update(fragment.as_bytes());
        hasher.update([0]);
    }
    hash_sound_settings(&mut hasher, &persona.voice);
    hex(&hasher.finalize())[..16].to_owned()
}

/// What decides how a clip sounds besides its words: the voice settings and the encoding. A
/// pack's freshness is its words and these, never its audio bytes (Piper's differ every run).
pub(crate) fn hash_sound_settings(hasher: &mut Sha256, voice: &Voice) {
    hasher.update(format!("{voice:?} vorbis q{VORBIS_QUALITY} {SAMPLE_RATE_HZ} Hz").as_bytes());
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> PackError {
    PackError::Io { path: path.to_owned(), message: e.to_string() }
}

/// Builds a persona's pack into `out`. `progress(done, total)` is called after every clip.
pub fn build(
    persona: &Persona,
    tts: &Tts,
    out: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<Manifest, PackError> {
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let fragments = persona.fragments();
    let scratch = out.join(".build");
    std::fs::create_dir_all(&scratch).map_err(|e| io_err(&scratch, e))?;
    let mut clips = Vec::with_capacity(fragments.len());
    for (i, text) in fragments.iter().enumerate() {
        clips.push(render_clip(text, clip_id(text), tts, &persona.voice, &scratch, out)?);
        progress(i + 1, fragments.len());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let manifest = Manifest {
        format: PACK_FORMAT_VERSION,
        persona: persona.id.clone(),
        language: persona.language.code().to_owned(),
        version: content_version(persona),
        voice: persona.voice.clone(),
        synthesis: Some(tts.describe(&persona.voice)),
        clips,
    };
    // The manifest last, atomically: a pack without one is obviously unfinished.
    write_json_atomically(&out.join("manifest.json"), &manifest)?;
    remove_stale_clips(out, &manifest);
    Ok(manifest)
}

/// Clips of an earlier build into the same folder that the new manifest does not list (a line
/// since rewritten): left there, they would ship in the pack for nothing.
fn remove_stale_clips(out: &Path, manifest: &Manifest) {
    let listed: BTreeSet<&str> = manifest.clips.iter().map(|c| c.file.as_str()).collect();
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_clip = name.starts_with('f') && name.ends_with(".ogg");
        if is_clip && !listed.contains(name.as_ref()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Renders `text` with the synthesiser into `out/<id>.ogg` (through a WAV in `scratch`) and
/// describes the clip: what a pack's phrases and a plan's notes are both made of.
pub(crate) fn render_clip(
    text: &str,
    id: String,
    tts: &Tts,
    voice: &Voice,
    scratch: &Path,
    out: &Path,
) -> Result<Clip, PackError> {
    let wav = scratch.join(format!("{id}.wav"));
    let file = format!("{id}.ogg");
    let ogg = out.join(&file);
    let samples = tts.render(text, voice, &wav)?;
    if samples.is_empty() {
        return Err(PackError::Tts {
            text: text.to_owned(),
            message: "the synthesiser wrote silence".into(),
        });
    }
    write_wav(&wav, &samples).map_err(|message| PackError::Encode { text: text.to_owned(), message })?;
    // oggenc picks a random stream serial unless told: the same audio would give other
    // bytes (and another content hash) on every rebuild.
    let serial = u32::from_str_radix(&id[1..9], 16).unwrap_or(0).to_string();
    let encoded = Command::new("oggenc")
        .args(["-Q", "-q", VORBIS_QUALITY, "--serial", &serial, "-o"])
        .arg(&ogg)
        .arg(&wav)
        .output()
        .map_err(|e| PackError::Encode { text: text.to_owned(), message: e.to_string() })?;
    if !encoded.status.success() {
        let message = String::from_utf8_lossy(&encoded.stderr).trim().to_owned();
        return Err(PackError::Encode { text: text.to_owned(), message });
    }
    let bytes = std::fs::read(&ogg).map_err(|e| io_err(&ogg, e))?;
    let duration_ms =
        decode(&bytes).map_err(|message| PackError::Encode { text: text.to_owned(), message })?.duration_ms();
    Ok(Clip { id, text: text.to_owned(), file, sha256: hex(&Sha256::digest(&bytes)), duration_ms })
}

/// Writes a manifest (a pack's or a note set's) as JSON through a temporary file and a
/// rename: a killed build never leaves one that looks complete.
pub(crate) fn write_json_atomically(path: &Path, value: &impl Serialize) -> Result<(), PackError> {
    let json = serde_json::to_string_pretty(value).map_err(|e| PackError::Persona(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json + "\n").map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// A decoded clip: mono or interleaved samples and their rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
}

impl Decoded {
    pub fn duration_ms(&self) -> u64 {
        let frames = self.samples.len() as u64 / u64::from(self.channels.max(1));
        frames * 1000 / u64::from(self.sample_rate.max(1))
    }
}

/// Longest clip accepted: a phrase is seconds long; anything bigger is not a clip.
const MAX_CLIP_BYTES: usize = 1024 * 1024;
/// Most samples a clip may decode to: a minute of stereo at 48 kHz. A damaged stream can
/// claim far more (fuzzing found 8 KB inputs that decode for seconds on end).
const MAX_DECODED_SAMPLES: usize = 60 * 48_000 * 2;

/// The first `count` packets of an Ogg stream, reassembled from its pages (lacing values of
/// 255 continue a packet). Only as much as the checks below need.
fn first_ogg_packets(bytes: &[u8], count: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut packets = Vec::new();
    let mut current = Vec::new();
    let mut at = 0;
    while packets.len() < count {
        let header = bytes.get(at..at + 27).ok_or("truncated Ogg page")?;
        if &header[..4] != b"OggS" {
            return Err("not an Ogg page".into());
        }
        let segments = usize::from(header[26]);
        let table = bytes.get(at + 27..at + 27 + segments).ok_or("truncated Ogg page")?;
        let mut data = at + 27 + segments;
        for &lace in table {
            let len = usize::from(lace);
            current.extend_from_slice(bytes.get(data..data + len).ok_or("truncated Ogg page")?);
            data += len;
            if lace < 255 {
                packets.push(std::mem::take(&mut current));
                if packets.len() == count {
                    break;
                }
            }
        }
        at = data;
    }
    Ok(packets)
}

/// Checks the Vorbis comment header before the decoder sees it: its counts and lengths come
/// from the file, and the decoder reserves memory by them (a damaged clip claiming four billion
/// comments asked for 200 GB under fuzzing). Every length must fit in the packet.
fn check_comment_header(bytes: &[u8]) -> Result<(), String> {
    let packets = first_ogg_packets(bytes, 2)?;
    let comment = &packets[1];
    if comment.len() < 7 || comment[0] != 3 || &comment[1..7] != b"vorbis" {
        return Err("the second packet is not a Vorbis comment header".into());
    }
    let mut at = 7;
    let read_u32 = |at: &mut usize| -> Result<usize, String> {
        let b = comment.get(*at..*at + 4).ok_or("comment header ends early")?;
        *at += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let vendor = read_u32(&mut at)?;
    if vendor > comment.len().saturating_sub(at) {
        return Err(format!("comment header claims a {vendor}-byte vendor string"));
    }
    at += vendor;
    let comments = read_u32(&mut at)?;
    if comments > comment.len().saturating_sub(at) / 4 {
        return Err(format!("comment header claims {comments} comments in {} bytes", comment.len()));
    }
    for _ in 0..comments {
        let len = read_u32(&mut at)?;
        if len > comment.len().saturating_sub(at) {
            return Err(format!("a comment claims {len} bytes"));
        }
        at += len;
    }
    Ok(())
}

/// Decodes an Ogg Vorbis clip (pure Rust); an error says what is wrong, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    if bytes.len() > MAX_CLIP_BYTES {
        return Err(format!("{} bytes is too big for a clip (at most {MAX_CLIP_BYTES})", bytes.len()));
    }
    check_comment_header(bytes).map_err(|e| format!("not Ogg Vorbis: {e}"))?;
    let decoded = std::panic::catch_unwind(|| -> Result<Decoded, String> {
        let mut reader = lewton::inside_ogg::OggStreamReader::new(Cursor::new(bytes))
            .map_err(|e| format!("not Ogg Vorbis: {e}"))?;
        let (sample_rate, channels) =
            (reader.ident_hdr.audio_sample_rate, u16::from(reader.ident_hdr.audio_channels));
        let mut samples = Vec::new();
        while let Some(packet) = reader.read_dec_packet_itl().map_err(|e| format!("damaged audio: {e}"))? {
            samples.extend(packet);
            if samples.len() > MAX_DECODED_SAMPLES {
                return Err("decodes to more than a minute of audio: not a clip".into());
            }
        }
        Ok(Decoded { sample_rate, channels, samples })
    });
    decoded.map_err(|_| "the Vorbis decoder failed on this clip (damaged data)".to_owned())?
}

/// Reads a pack's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, PackError> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| PackError::Manifest { path, message: e.to_string() })
}

/// What is wrong with one clip file in `dir`, if anything: a name that leaves the folder, a
/// missing file, a wrong hash, audio that does not decode or lasts other than listed.
pub fn check_clip(dir: &Path, clip: &Clip) -> Option<PackProblem> {
    if clip.file.contains(['/', '\\']) || clip.file.starts_with('.') {
        return Some(PackProblem(format!("{}: clip file names may not leave the pack folder", clip.file)));
    }
    let bytes = match std::fs::read(dir.join(&clip.file)) {
        Ok(b) => b,
        Err(e) => return Some(PackProblem(format!("{}: missing clip file ({e})", clip.file))),
    };
    let sha = hex(&Sha256::digest(&bytes));
    if sha != clip.sha256 {
        return Some(PackProblem(format!(
            "{}: wrong hash: manifest says {}, file has {sha}",
            clip.file, clip.sha256
        )));
    }
    match decode(&bytes) {
        Err(e) => Some(PackProblem(format!("{}: undecodable: {e}", clip.file))),
        Ok(d) if d.duration_ms().abs_diff(clip.duration_ms) > DURATION_TOLERANCE_MS => Some(PackProblem(
            format!("{}: lasts {} ms, manifest says {} ms", clip.file, d.duration_ms(), clip.duration_ms),
        )),
        Ok(_) => None,
    }
}

/// Checks a pack completely; returns its manifest, or every problem found.
pub fn verify(dir: &Path) -> Result<Manifest, Vec<PackProblem>> {
    let manifest = read_manifest(dir).map_err(|e| vec![PackProblem(e.to_string())])?;
    let mut problems = Vec::new();
    let Some(lang) = Language::from_code(&manifest.language) else {
        return Err(vec![PackProblem(format!(
            "manifest.json: language {:?} is not one the personas speak",
            manifest.language
        ))]);
    };
    let persona = match Persona::bundled_in(&manifest.persona, lang) {
        Ok(p) => p,
        Err(e) => return Err(vec![PackProblem(format!("manifest.json: persona: {e}"))]),
    };
    if !READABLE_FORMATS.contains(&manifest.format) {
        problems.push(PackProblem(format!(
            "manifest.json: format {} is not supported; this build reads formats 1 to {PACK_FORMAT_VERSION}",
            manifest.format
        )));
    }
    let expected_version = content_version(&persona);
    if manifest.version != expected_version {
        problems.push(PackProblem(format!(
            "manifest.json: version {} was built from another script (now {expected_version}): rebuild the pack",
            manifest.version
        )));
    }
    let have: BTreeSet<&str> = manifest.clips.iter().map(|c| c.text.as_str()).collect();
    for fragment in persona.fragments() {
        if !have.contains(fragment.as_str()) {
            problems.push(PackProblem(format!("missing clip for {fragment:?} (id {})", clip_id(&fragment))));
        }
    }
    problems.extend(manifest.clips.iter().filter_map(|clip| check_clip(dir, clip)));
    if problems.is_empty() { Ok(manifest) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(persona: &str) -> PathBuf {
        committed_in(persona, Language::En)
    }

    fn committed_in(persona: &str, lang: Language) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packs").join(lang.code()).join(persona)
    }

    /// A scratch copy of a committed pack, to damage.
    fn scratch_copy(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pacenote-pack-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        for entry in std::fs::read_dir(committed("stone")).expect("pack").flatten() {
            if entry.path().is_file() {
                std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
            }
        }
        dir
    }

    #[test]
    fn the_committed_packs_are_complete_and_built_from_the_current_scripts() {
        for (persona, lang, _) in pacenote_core::persona::BUNDLED_SCRIPTS {
            let dir = committed_in(persona, lang);
            let name = format!("{persona} ({})", lang.code());
            let manifest = verify(&dir).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            let script = Persona::bundled_in(persona, lang).expect("persona");
            assert_eq!(
                manifest.version,
                content_version(&script),
                "{name}: rebuild with `cargo xtask packs`"
            );
            // What a phone downloads for the pack: the manifest and every clip (a plan's note
            // set comes with the plan).
            let bytes: u64 = manifest
                .clips
                .iter()
                .map(|c| dir.join(&c.file))
                .chain([dir.join("manifest.json")])
                .map(|path| std::fs::metadata(path).map_or(0, |m| m.len()))
                .sum();
            assert!(bytes <= 1_536 * 1024, "{name} pack is {bytes} bytes; it must stay within 1.5 MiB");
            // English is Piper's neural voice; no other language has a packaged Piper voice.
            let synthesis = manifest.synthesis.unwrap_or_default();
            let engine = if lang == Language::En { "Piper" } else { "espeak-ng" };
            assert!(
                synthesis.starts_with(engine) && synthesis.contains("GPL"),
                "{name}: the committed pack is {engine}'s with its licence, not {synthesis:?}"
            );
        }
    }

    /// Every file under a folder and its sub-folders, in bytes.
    fn bytes_under(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .expect("readable pack folder")
            .flatten()
            .map(|entry| match entry.metadata() {
                Ok(m) if m.is_dir() => bytes_under(&entry.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }

    #[test]
    fn every_committed_pack_together_stays_within_16_mib() {
        // Twelve packs (three personas in four languages) with the bundled plans' note clips:
        // what the repository carries and the reference server serves (an app bundles the
        // runner's language only).
        let all = bytes_under(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packs"));
        assert!(all < 16 * 1024 * 1024, "the committed packs weigh {all} bytes; the budget is 16 MiB");
    }

    #[test]
    fn a_format_1_manifest_is_still_read() {
        // Written before Piper: no `synthesis`, a voice without `piper`.
        let dir = std::env::temp_dir().join(format!("pacenote-pack-format1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let v1 = r#"{"format": 1, "persona": "stone", "language": "en", "version": "5a967f60cddb60a2",
            "voice": {"espeak": "en-us+m3", "pitch": 35, "rate_wpm": 165}, "clips": []}"#;
        std::fs::write(dir.join("manifest.json"), v1).expect("write");
        let manifest = read_manifest(&dir).expect("a format-1 manifest reads");
        assert_eq!((manifest.format, manifest.synthesis, manifest.voice.piper), (1, None, None));
        // It is readable, and stale against today's script: verify says rebuild, not "format".
        let problems = verify(&dir).expect_err("stale");
        assert!(problems.iter().any(|p| p.0.contains("rebuild the pack")), "{problems:?}");
        assert!(!problems.iter().any(|p| p.0.contains("format")), "{problems:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damage_is_reported_precisely() {
        let dir = scratch_copy("damage");
        let manifest = read_manifest(&dir).expect("manifest");
        let (a, b, c) = (&manifest.clips[0], &manifest.clips[1], &manifest.clips[2]);
        std::fs::remove_file(dir.join(&a.file)).expect("remove");
        std::fs::write(dir.join(&b.file), b"not audio").expect("write");
        let mut tampered = std::fs::read(dir.join(&c.file)).expect("read");
        let last = tampered.len() - 1;
        tampered[last] ^= 0xff;
        std::fs::write(dir.join(&c.file), tampered).expect("write");
        let problems: Vec<String> =
            verify(&dir).expect_err("damaged").iter().map(ToString::to_string).collect();
        assert!(
            problems.iter().any(|p| p.starts_with(&format!("{}: missing clip file", a.file))),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.starts_with(&format!("{}: wrong hash", b.file))), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with(&format!("{}: wrong hash", c.file))), "{problems:?}");

        // A clip whose hash matches but whose audio is not Vorbis.
        let mut m = manifest.clone();
        std::fs::write(dir.join(&b.file), b"not audio").expect("write");
        m.clips[1].sha256 = hex(&Sha256::digest(b"not audio"));
        m.clips.remove(0);
        std::fs::write(dir.join("manifest.json"), serde_json::to_string(&m).expect("json")).expect("write");
        let problems: Vec<String> =
            verify(&dir).expect_err("damaged").iter().map(ToString::to_string).collect();
        assert!(problems.iter().any(|p| p.contains("undecodable")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("missing clip for")), "{problems:?}");

        m.persona = "yoda".into();
        std::fs::write(dir.join("manifest.json"), serde_json::to_string(&m).expect("json")).expect("write");
        let problems = verify(&dir).expect_err("unknown persona");
        assert!(problems[0].0.contains("no persona \"yoda\""), "{problems:?}");

        std::fs::write(dir.join("manifest.json"), b"{\"format\": 1,").expect("write");
        let problems = verify(&dir).expect_err("broken manifest");
        assert!(problems[0].0.contains("not a pack manifest"), "{problems:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn decoding_garbage_is_an_error() {
        assert!(decode(b"").is_err());
        assert!(decode(b"OggS garbage garbage garbage").is_err());
    }

    #[test]
    fn a_clip_claiming_billions_of_comments_is_refused_before_decoding() {
        let manifest = read_manifest(&committed("stone")).expect("manifest");
        let mut bytes = std::fs::read(committed("stone").join(&manifest.clips[0].file)).expect("clip");
        assert!(decode(&bytes).is_ok());
        // Find the comment header and make its comment count enormous.
        let start = bytes.windows(7).position(|w| w == b"\x03vorbis").expect("comment header");
        let vendor = u32::from_le_bytes(bytes[start + 7..start + 11].try_into().expect("4 bytes")) as usize;
        let count_at = start + 11 + vendor;
        bytes[count_at..count_at + 4].copy_from_slice(&0xBFFF_FFFFu32.to_le_bytes());
        let err = decode(&bytes).expect_err("refused");
        assert!(err.contains("comments in"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = decode(&bytes);
        }
    }
}

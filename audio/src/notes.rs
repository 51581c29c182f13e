//! A plan's note clips: the step notes of a plan ("Ten minutes easy to get warm."), rendered
//! in a persona's voice before the run by the same machinery as the persona's pack, so that
//! the phone never switches to its system voice mid-run for words it knew in advance
//! (DESIGN §5).
//!
//! A note set lives in the persona's pack folder: `notes/<plan id>.json` lists the plan, the
//! persona, the language, a version (the hash of the notes and the voice) and per note the
//! same clip record a pack has (id, text, file, sha256, duration_ms); the clips sit beside it
//! as `notes/n<16 hex>.ogg`, named by the note's text, so plans sharing a note share its clip.
//!
//! Must not: voice anything itself, or trust a clip whose bytes do not hash to its record.

use std::path::{Path, PathBuf};

use pacenote_core::persona::Persona;
use pacenote_core::plan::Plan;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pack::{
    Clip, PACK_FORMAT_VERSION, PackError, PackProblem, READABLE_FORMATS, check_clip, hash_sound_settings,
    hex, io_err, render_clip, write_json_atomically,
};
use crate::tts::Tts;

/// The folder of a pack that holds its note sets.
pub const NOTES_DIR: &str = "notes";

/// `notes/<plan id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteSet {
    pub format: u32,
    pub plan: String,
    pub persona: String,
    pub language: String,
    /// The sha256 (16 hex digits) of the notes and the voice: a set rendered from another
    /// version of the plan's notes, or in another voice, is told apart.
    pub version: String,
    pub clips: Vec<Clip>,
}

/// Id (and file stem) of the clip of a note: `n` and the first 16 hex digits of the text's
/// sha256.
pub fn note_id(text: &str) -> String {
    format!("n{}", &hex(&Sha256::digest(text.as_bytes()))[..16])
}

/// The version a plan's notes in a persona's voice give.
pub fn notes_version(persona: &Persona, notes: &[String]) -> String {
    let mut hasher = Sha256::new();
    for note in notes {
        hasher.update(note.as_bytes());
        hasher.update([0]);
    }
    hash_sound_settings(&mut hasher, &persona.voice);
    hex(&hasher.finalize())[..16].to_owned()
}

/// Where a plan's note set lives in a pack folder. A plan id that would leave the folder (a
/// slash, a leading dot) is refused.
pub fn note_set_path(pack_dir: &Path, plan_id: &str) -> Result<PathBuf, PackError> {
    if plan_id.is_empty() || plan_id.starts_with('.') || plan_id.contains(['/', '\\', '\0']) {
        return Err(PackError::Persona(format!(
            "plan id {plan_id:?} cannot name a note set: use letters, digits, '-' and '_'"
        )));
    }
    Ok(pack_dir.join(NOTES_DIR).join(format!("{plan_id}.json")))
}

/// Renders `plan`'s notes in `persona`'s voice into `pack_dir/notes/` (clips first, the set's
/// JSON last and atomically). A plan without notes gets an empty set, so "its notes are ready"
/// has one answer for every plan.
pub fn build_notes(persona: &Persona, plan: &Plan, tts: &Tts, pack_dir: &Path) -> Result<NoteSet, PackError> {
    let path = note_set_path(pack_dir, &plan.id)?;
    let dir = pack_dir.join(NOTES_DIR);
    let scratch = dir.join(format!(".build-{}", plan.id));
    std::fs::create_dir_all(&scratch).map_err(|e| io_err(&scratch, e))?;
    let notes = plan.notes();
    let clips = notes
        .iter()
        .map(|note| render_clip(note, note_id(note), tts, &persona.voice, &scratch, &dir))
        .collect::<Result<Vec<_>, _>>();
    let _ = std::fs::remove_dir_all(&scratch);
    let set = NoteSet {
        format: PACK_FORMAT_VERSION,
        plan: plan.id.clone(),
        persona: persona.id.clone(),
        language: persona.language.code().to_owned(),
        version: notes_version(persona, &notes),
        clips: clips?,
    };
    write_json_atomically(&path, &set)?;
    Ok(set)
}

/// Reads one note set.
pub fn read_note_set(path: &Path) -> Result<NoteSet, PackError> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PackError::Manifest { path: path.to_owned(), message: e.to_string() })
}

/// The note sets' files of a pack (none when it has no `notes/` folder), by name.
pub fn note_set_paths(pack_dir: &Path) -> Result<Vec<PathBuf>, PackError> {
    let dir = pack_dir.join(NOTES_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir, e)),
    };
    let mut paths: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    paths.sort();
    Ok(paths)
}

/// Every note set of a pack; the first that cannot be read is the error.
pub fn read_note_sets(pack_dir: &Path) -> Result<Vec<NoteSet>, PackError> {
    note_set_paths(pack_dir)?.iter().map(|p| read_note_set(p)).collect()
}

/// Checks `plan`'s note set in a pack against the plan and `persona`: present, of this
/// format, rendered from these notes in this voice, every clip there with its hash right and
/// decodable. Returns the set, or every problem found.
pub fn verify_notes(pack_dir: &Path, plan: &Plan, persona: &Persona) -> Result<NoteSet, Vec<PackProblem>> {
    let one = |e: PackError| vec![PackProblem(e.to_string())];
    let set = read_note_set(&note_set_path(pack_dir, &plan.id).map_err(one)?).map_err(one)?;
    let name = format!("{NOTES_DIR}/{}.json", plan.id);
    let mut problems = Vec::new();
    if !READABLE_FORMATS.contains(&set.format) {
        problems.push(PackProblem(format!(
            "{name}: format {} is not supported; this build reads formats 1 to {PACK_FORMAT_VERSION}",
            set.format
        )));
    }
    if set.plan != plan.id || set.persona != persona.id {
        problems.push(PackProblem(format!(
            "{name}: is plan {}'s notes for {}, not plan {}'s for {}",
            set.plan, set.persona, plan.id, persona.id
        )));
    }
    let expected = notes_version(persona, &plan.notes());
    if set.version != expected {
        problems.push(PackProblem(format!(
            "{name}: version {} was rendered from other notes or another voice (now {expected}): \
             rebuild it with `pacenote pack notes`",
            set.version
        )));
    }
    for note in plan.notes() {
        if !set.clips.iter().any(|c| c.text == note) {
            problems.push(PackProblem(format!("{name}: missing clip for the note {note:?}")));
        }
    }
    let dir = pack_dir.join(NOTES_DIR);
    problems.extend(
        set.clips
            .iter()
            .filter_map(|clip| check_clip(&dir, clip))
            .map(|p| PackProblem(format!("{NOTES_DIR}/{p}"))),
    );
    if problems.is_empty() { Ok(set) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(persona: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packs/en").join(persona)
    }

    #[test]
    fn every_bundled_plan_has_its_notes_in_every_committed_voice() {
        for persona_id in ["stone", "jakes", "jenna"] {
            let persona = Persona::bundled(persona_id).expect("persona");
            for (file, json) in pacenote_core::BUNDLED_PLANS {
                let plan = Plan::from_json(json.as_bytes()).expect("bundled plan");
                let set = verify_notes(&committed(persona_id), &plan, &persona).unwrap_or_else(|p| {
                    panic!("{persona_id}, {file}: {p:?} (rebuild with `cargo xtask packs`)")
                });
                assert_eq!(set.clips.len(), plan.notes().len(), "{persona_id}, {file}");
            }
        }
    }

    #[test]
    fn a_damaged_or_stale_note_set_is_reported_precisely() {
        let dir = std::env::temp_dir().join(format!("pacenote-notes-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(NOTES_DIR)).expect("scratch");
        let (_, json) =
            pacenote_core::BUNDLED_PLANS.iter().find(|(f, _)| *f == "intervals-5x1k.json").expect("bundled");
        let plan = Plan::from_json(json.as_bytes()).expect("plan");
        let persona = Persona::bundled("stone").expect("persona");
        let from = committed("stone").join(NOTES_DIR);
        let set = read_note_set(&from.join("intervals-5x1k.json")).expect("committed set");
        std::fs::copy(from.join("intervals-5x1k.json"), dir.join(NOTES_DIR).join("intervals-5x1k.json"))
            .expect("copy");
        for clip in &set.clips {
            std::fs::copy(from.join(&clip.file), dir.join(NOTES_DIR).join(&clip.file)).expect("copy");
        }
        assert!(verify_notes(&dir, &plan, &persona).is_ok());

        // One clip gone, one tampered with.
        std::fs::remove_file(dir.join(NOTES_DIR).join(&set.clips[0].file)).expect("remove");
        std::fs::write(dir.join(NOTES_DIR).join(&set.clips[1].file), b"not audio").expect("write");
        let problems: Vec<String> = verify_notes(&dir, &plan, &persona)
            .expect_err("damaged")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("notes/{}: missing clip file", set.clips[0].file)))
        );
        assert!(problems.iter().any(|p| p.starts_with(&format!("notes/{}: wrong hash", set.clips[1].file))));

        // The plan's notes changed since the set was rendered; another voice asks for its own.
        let mut changed = plan.clone();
        if let Some(pacenote_core::plan::PlanStep::Step(step)) = changed.steps.first_mut() {
            step.note = Some("Fifteen minutes easy.".into());
        }
        let problems: Vec<String> = verify_notes(&dir, &changed, &persona)
            .expect_err("stale")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(problems.iter().any(|p| p.contains("rendered from other notes")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("missing clip for the note \"Fifteen minutes easy.\"")));
        let jenna = Persona::bundled("jenna").expect("persona");
        let problems: Vec<String> = verify_notes(&dir, &plan, &jenna)
            .expect_err("other voice")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(problems.iter().any(|p| p.contains("not plan intervals-5x1k's for jenna")), "{problems:?}");

        assert!(note_set_path(&dir, "../escape").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn notes_are_rendered_and_read_back_with_a_real_synthesiser() {
        // The build runs espeak-ng and oggenc, as `cargo xtask packs` does (the bootstrap
        // installs both).
        let dir = std::env::temp_dir().join(format!("pacenote-notes-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (_, json) =
            pacenote_core::BUNDLED_PLANS.iter().find(|(f, _)| *f == "tempo-20.json").expect("bundled");
        let plan = Plan::from_json(json.as_bytes()).expect("plan");
        let persona = Persona::bundled("jakes").expect("persona");
        let set = build_notes(&persona, &plan, &Tts::espeak(), &dir).expect("built");
        assert_eq!(set.clips.iter().map(|c| c.text.clone()).collect::<Vec<_>>(), plan.notes());
        assert!(set.clips.iter().all(|c| c.duration_ms > 500), "{set:?}");
        assert_eq!(verify_notes(&dir, &plan, &persona).expect("verifies"), set);
        assert_eq!(read_note_sets(&dir).expect("read"), vec![set]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

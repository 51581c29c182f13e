//! Before a run, while there is signal: the plan, the persona's pack and the plan's note clips
//! in that persona's voice, by content hash, so the run needs no network at all (DESIGN §7). Plans and manifests are asked for with
//! `If-None-Match`; clips are immutable blobs named by SHA-256, downloaded once, resumed with
//! `Range` after a cut, verified, and installed by temp file + fsync + rename. A pack becomes
//! the persona's pack only when its whole folder is in place (one store update), so a kill at
//! any moment leaves the old pack or the new one, never half of one.
//!
//! Must not: install a byte whose hash was not checked; write outside `packs_dir`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pacenote_core::speech::Language;
use serde::Deserialize;

use crate::client::{Client, Method, RequestError, Traffic};
use crate::store::{CachedPack, CachedPlan, Store, StoreError};
use crate::wire::sha256_hex;

/// The plain wording needs no pack.
pub use pacenote_core::persona::NEUTRAL_PERSONA;

#[derive(Debug, thiserror::Error)]
pub enum PreloadError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Server(String),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

fn file_error(path: &Path, e: impl ToString) -> PreloadError {
    PreloadError::File { path: path.to_owned(), message: e.to_string() }
}

/// What a preload did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preloaded {
    /// The server said the cached copy is current (304).
    pub unchanged: bool,
    pub files_downloaded: u64,
    pub files_resumed: u64,
    pub bytes_downloaded: u64,
}

#[derive(Debug, Deserialize)]
struct ManifestHead {
    version: String,
    clips: Vec<ClipHead>,
}

/// A clip of a pack or a note set, as far as serving and installing it need: its file name
/// in the folder and the SHA-256 it is fetched and checked by.
#[derive(Debug, Deserialize)]
pub struct ClipHead {
    pub file: String,
    pub sha256: String,
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PreloadError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| file_error(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), PreloadError> {
    // A folder's entries are durable once the folder itself is synced (POSIX).
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| file_error(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Fetches a plan into the store (If-None-Match with the cached ETag; the body must hash to
/// the ETag and be a valid plan).
pub fn preload_plan(
    client: &Client,
    store: &Mutex<Store>,
    plan_id: &str,
    traffic: &mut Traffic,
) -> Result<Preloaded, PreloadError> {
    let cached = lock(store)?.cached_plan(plan_id)?;
    let mut headers = Vec::new();
    if let Some(c) = &cached {
        headers.push(("If-None-Match", c.etag.as_str()));
    }
    let response = client
        .send(&client.request(Method::Get, &format!("/v1/plans/{plan_id}"), &headers, Vec::new()), traffic)?;
    match response.status {
        304 if cached.is_some() => return Ok(Preloaded { unchanged: true, ..Preloaded::default() }),
        200 => {}
        status => {
            return Err(PreloadError::Server(format!("plan {plan_id}: {status} {}", response.message())));
        }
    }
    let etag = response.header("etag").unwrap_or_default().to_owned();
    let digest = sha256_hex(&response.body);
    if etag.trim_matches('"') != digest {
        return Err(PreloadError::Server(format!(
            "plan {plan_id}: the body's SHA-256 {digest} is not its ETag {etag}"
        )));
    }
    let plan = pacenote_core::plan::Plan::from_json(&response.body)
        .map_err(|e| PreloadError::Server(format!("plan {plan_id} from the server is not valid: {e}")))?;
    if plan.id != plan_id {
        return Err(PreloadError::Server(format!("asked for plan {plan_id}, got plan {}", plan.id)));
    }
    let json = String::from_utf8_lossy(&response.body).into_owned();
    lock(store)?.put_cached_plan(plan_id, &CachedPlan { etag, json })?;
    Ok(Preloaded {
        files_downloaded: 1,
        bytes_downloaded: response.body.len() as u64,
        ..Preloaded::default()
    })
}

fn lock(store: &Mutex<Store>) -> Result<std::sync::MutexGuard<'_, Store>, PreloadError> {
    store.lock().map_err(|_| PreloadError::Server("the store's lock was poisoned by a panic".into()))
}

/// A plan's note set (`notes/<plan id>.json` in a pack folder, written by `pacenote pack
/// notes`), as far as serving and installing it need.
#[derive(Debug, Deserialize)]
pub struct NoteSetHead {
    pub plan: String,
    pub persona: String,
    pub language: String,
    pub clips: Vec<ClipHead>,
}

/// The folder of an installed pack that holds its plans' note sets and their clips.
const NOTES_DIR: &str = "notes";

/// Where a plan's note set goes in an installed pack folder.
fn note_set_path(pack_dir: &Path, plan_id: &str) -> PathBuf {
    pack_dir.join(NOTES_DIR).join(format!("{plan_id}.json"))
}

/// Fetches `plan_id`'s note clips in `persona`'s voice into the persona's installed pack
/// (preload the pack first): the note set is asked for with `If-None-Match` (its installed
/// copy's hash), its clips come as blobs like a pack's, and the set's JSON is written last. A
/// server with no note clips for the plan (404) leaves nothing to do: its notes will be read
/// by the phone's voice, and [`is_ready_offline`] says so.
pub fn preload_notes(
    client: &Client,
    store: &Mutex<Store>,
    plan_id: &str,
    persona: &str,
    lang: &str,
    packs_dir: &Path,
    traffic: &mut Traffic,
) -> Result<Preloaded, PreloadError> {
    if !is_plain_name(plan_id) || !is_plain_name(persona) || !is_plain_name(lang) {
        return Err(PreloadError::Server(format!(
            "plan {plan_id:?} / persona {persona:?} / language {lang:?}: not plain names"
        )));
    }
    let Some(pack) = lock(store)?.cached_pack(persona, lang)? else {
        return Err(PreloadError::Server(format!(
            "the {persona} pack ({lang}) is not installed: preload it first"
        )));
    };
    let installed = note_set_path(&pack.dir, plan_id);
    let etag = std::fs::read(&installed).ok().map(|b| format!("\"{}\"", sha256_hex(&b)));
    let mut headers = Vec::new();
    if let Some(etag) = &etag {
        headers.push(("If-None-Match", etag.as_str()));
    }
    let path = format!("/v1/plans/{plan_id}/notes/{persona}/{lang}");
    let mut response = client.send(&client.request(Method::Get, &path, &headers, Vec::new()), traffic)?;
    if response.status == 304 {
        if notes_problems(&pack.dir, plan_id).is_empty() {
            return Ok(Preloaded { unchanged: true, ..Preloaded::default() });
        }
        // Nothing newer, but the installed copy is damaged: fetch it again.
        response = client.send(&client.request(Method::Get, &path, &[], Vec::new()), traffic)?;
    }
    match response.status {
        200 => {}
        404 => return Ok(Preloaded { unchanged: true, ..Preloaded::default() }),
        status => {
            return Err(PreloadError::Server(format!(
                "notes of plan {plan_id} for {persona}/{lang}: {status} {}",
                response.message()
            )));
        }
    }
    let what = format!("notes of plan {plan_id} for {persona}/{lang}");
    let digest = sha256_hex(&response.body);
    if response.header("etag").unwrap_or_default().trim_matches('"') != digest {
        return Err(PreloadError::Server(format!("{what}: the body's SHA-256 {digest} is not its ETag")));
    }
    let set: NoteSetHead = serde_json::from_slice(&response.body)
        .map_err(|e| PreloadError::Server(format!("{what}: not a note set: {e}")))?;
    if set.plan != plan_id || set.persona != persona || set.language != lang {
        return Err(PreloadError::Server(format!(
            "{what}: the server sent plan {}'s notes for {}/{}",
            set.plan, set.persona, set.language
        )));
    }
    let mut done = Preloaded {
        files_downloaded: 1,
        bytes_downloaded: response.body.len() as u64,
        ..Preloaded::default()
    };
    let blobs = packs_dir.join("blobs");
    let notes_dir = pack.dir.join(NOTES_DIR);
    std::fs::create_dir_all(&notes_dir).map_err(|e| file_error(&notes_dir, e))?;
    for clip in &set.clips {
        if !is_plain_name(&clip.file) || !is_sha256(&clip.sha256) {
            return Err(PreloadError::Server(format!("{what}: clip {:?} has a bad name or hash", clip.file)));
        }
        fetch_blob(client, &blobs, &clip.sha256, &mut done, traffic)?;
        let bytes = std::fs::read(blobs.join(&clip.sha256)).map_err(|e| file_error(&blobs, e))?;
        write_atomically(&notes_dir.join(&clip.file), &bytes)?;
    }
    // The set last: while it is missing or old, the clips it lists are not yet relied on.
    write_atomically(&installed, &response.body)?;
    Ok(done)
}

/// What is wrong with a plan's installed note set in a pack folder (empty: it is there with
/// every clip matching its SHA-256).
fn notes_problems(pack_dir: &Path, plan_id: &str) -> Vec<String> {
    match read_head::<NoteSetHead>(&note_set_path(pack_dir, plan_id)) {
        Ok(set) => clip_problems(&pack_dir.join(NOTES_DIR), &set.clips),
        Err(problem) => vec![problem],
    }
}

/// An installed JSON file (a pack's manifest, a note set), read and parsed; the error names it.
fn read_head<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Fetches a persona's pack into `packs_dir` and makes it the installed one.
pub fn preload_pack(
    client: &Client,
    store: &Mutex<Store>,
    persona: &str,
    lang: &str,
    packs_dir: &Path,
    traffic: &mut Traffic,
) -> Result<Preloaded, PreloadError> {
    if !is_plain_name(persona) || !is_plain_name(lang) {
        return Err(PreloadError::Server(format!(
            "persona {persona:?} / language {lang:?}: not plain names"
        )));
    }
    let cached = lock(store)?.cached_pack(persona, lang)?;
    let mut headers = Vec::new();
    if let Some(c) = &cached {
        headers.push(("If-None-Match", c.etag.as_str()));
    }
    let path = format!("/v1/packs/{persona}/{lang}/manifest");
    let response = client.send(&client.request(Method::Get, &path, &headers, Vec::new()), traffic)?;
    let mut done = Preloaded::default();
    match response.status {
        304 if cached.as_ref().is_some_and(|c| pack_problems(&c.dir).is_empty()) => {
            done.unchanged = true;
            return Ok(done);
        }
        304 => {
            // The server has nothing newer but the installed copy is damaged: fetch it again.
            let again = client.send(&client.request(Method::Get, &path, &[], Vec::new()), traffic)?;
            return install_from(client, store, persona, lang, packs_dir, &again, traffic);
        }
        200 => {}
        status => {
            return Err(PreloadError::Server(format!(
                "pack {persona}/{lang}: {status} {}",
                response.message()
            )));
        }
    }
    install_from(client, store, persona, lang, packs_dir, &response, traffic)
}

fn install_from(
    client: &Client,
    store: &Mutex<Store>,
    persona: &str,
    lang: &str,
    packs_dir: &Path,
    response: &crate::client::HttpResponse,
    traffic: &mut Traffic,
) -> Result<Preloaded, PreloadError> {
    if response.status != 200 {
        return Err(PreloadError::Server(format!(
            "pack {persona}/{lang}: {} {}",
            response.status,
            response.message()
        )));
    }
    let etag = response.header("etag").unwrap_or_default().to_owned();
    let digest = sha256_hex(&response.body);
    if etag.trim_matches('"') != digest {
        return Err(PreloadError::Server(format!(
            "pack {persona}/{lang}: the manifest's SHA-256 is not its ETag {etag}"
        )));
    }
    let manifest: ManifestHead = serde_json::from_slice(&response.body).map_err(|e| {
        PreloadError::Server(format!("pack {persona}/{lang}: the manifest is not valid: {e}"))
    })?;
    if !is_plain_name(&manifest.version) {
        return Err(PreloadError::Server(format!(
            "pack {persona}/{lang}: version {:?} is not a plain name",
            manifest.version
        )));
    }
    let mut done = Preloaded {
        files_downloaded: 1,
        bytes_downloaded: response.body.len() as u64,
        ..Preloaded::default()
    };
    let blobs = packs_dir.join("blobs");
    for clip in &manifest.clips {
        if !is_plain_name(&clip.file) || !is_sha256(&clip.sha256) {
            return Err(PreloadError::Server(format!(
                "pack {persona}/{lang}: clip {:?} has a bad name or hash",
                clip.file
            )));
        }
        fetch_blob(client, &blobs, &clip.sha256, &mut done, traffic)?;
    }
    // The pack's folder is built beside its final place, then renamed into it.
    let final_dir = packs_dir.join(lang).join(format!("{persona}-{}", manifest.version));
    if !pack_problems(&final_dir).is_empty() {
        let building = packs_dir.join(lang).join(format!(
            ".{persona}-{}.building-{}",
            manifest.version,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&building);
        std::fs::create_dir_all(&building).map_err(|e| file_error(&building, e))?;
        for clip in &manifest.clips {
            let bytes = std::fs::read(blobs.join(&clip.sha256)).map_err(|e| file_error(&blobs, e))?;
            write_atomically(&building.join(&clip.file), &bytes)?;
        }
        write_atomically(&building.join("manifest.json"), &response.body)?;
        let _ = std::fs::remove_dir_all(&final_dir);
        std::fs::rename(&building, &final_dir).map_err(|e| file_error(&final_dir, e))?;
        sync_dir(final_dir.parent().unwrap_or(packs_dir))?;
    }
    let previous = lock(store)?.cached_pack(persona, lang)?;
    lock(store)?.put_cached_pack(
        persona,
        lang,
        &CachedPack { version: manifest.version.clone(), etag, dir: final_dir.clone() },
    )?;
    if let Some(old) = previous.filter(|p| p.dir != final_dir && p.dir.starts_with(packs_dir)) {
        let _ = std::fs::remove_dir_all(old.dir);
    }
    Ok(done)
}

/// One clip into `blobs/{sha256}`: resumed from a `.part` file with `Range`, verified, renamed.
fn fetch_blob(
    client: &Client,
    blobs: &Path,
    sha256: &str,
    done: &mut Preloaded,
    traffic: &mut Traffic,
) -> Result<(), PreloadError> {
    let target = blobs.join(sha256);
    if std::fs::read(&target).is_ok_and(|b| sha256_hex(&b) == sha256) {
        return Ok(());
    }
    std::fs::create_dir_all(blobs).map_err(|e| file_error(blobs, e))?;
    let part = blobs.join(format!("{sha256}.part"));
    let mut have = std::fs::read(&part).unwrap_or_default();
    let range = format!("bytes={}-", have.len());
    let mut headers = Vec::new();
    if !have.is_empty() {
        headers.push(("Range", range.as_str()));
    }
    let response = client
        .send(&client.request(Method::Get, &format!("/v1/blobs/{sha256}"), &headers, Vec::new()), traffic)?;
    match response.status {
        206 if !have.is_empty() => {
            done.files_resumed += 1;
            have.extend_from_slice(&response.body);
        }
        200 => have = response.body.clone(),
        416 => have.clear(), // the part was already whole or wrong: start over next time
        status => {
            return Err(PreloadError::Server(format!("blob {sha256}: {status} {}", response.message())));
        }
    }
    done.bytes_downloaded += response.body.len() as u64;
    if sha256_hex(&have) != sha256 {
        let _ = std::fs::remove_file(&part);
        return Err(PreloadError::Server(format!(
            "blob {sha256}: the bytes received do not hash to their name (discarded)"
        )));
    }
    done.files_downloaded += 1;
    write_atomically(&target, &have)?;
    let _ = std::fs::remove_file(&part);
    Ok(())
}

/// Keeps a partial download for a later `Range` request (a transport that streams can call
/// this as bytes arrive; the Rust one saves what a cut-off response delivered).
pub fn save_partial_blob(blobs: &Path, sha256: &str, bytes: &[u8]) -> Result<(), PreloadError> {
    if !is_sha256(sha256) {
        return Err(PreloadError::Server(format!("{sha256:?} is not a SHA-256")));
    }
    write_atomically(&blobs.join(format!("{sha256}.part")), bytes)
}

/// What is wrong with an installed pack folder (empty: every clip present with its hash).
pub fn pack_problems(dir: &Path) -> Vec<String> {
    match read_head::<ManifestHead>(&dir.join("manifest.json")) {
        Ok(head) => clip_problems(dir, &head.clips),
        Err(problem) => vec![problem],
    }
}

/// Clips of `dir` that are missing or do not match their SHA-256.
fn clip_problems(dir: &Path, clips: &[ClipHead]) -> Vec<String> {
    clips
        .iter()
        .filter_map(|c| {
            let path = dir.join(&c.file);
            match std::fs::read(&path) {
                Ok(b) if sha256_hex(&b) == c.sha256 => None,
                Ok(_) => Some(format!("{}: does not match its SHA-256", path.display())),
                Err(e) => Some(format!("{}: {e}", path.display())),
            }
        })
        .collect()
}

/// Whether a run of `plan_id` with `persona` can start with no signal, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub missing: Vec<String>,
}

pub fn is_ready_offline(
    store: &Store,
    plan_id: &str,
    persona: &str,
    lang: &str,
) -> Result<Readiness, StoreError> {
    let mut missing = Vec::new();
    let plan = match store.cached_plan(plan_id)? {
        None => {
            missing.push(format!("plan {plan_id} is not downloaded"));
            None
        }
        Some(p) => match pacenote_core::plan::Plan::from_json(p.json.as_bytes()) {
            Ok(plan) => Some(plan),
            Err(e) => {
                missing.push(format!("plan {plan_id} is stored damaged: {e}"));
                None
            }
        },
    };
    if persona != NEUTRAL_PERSONA {
        match store.cached_pack(persona, lang)? {
            None => missing.push(format!("the {persona} pack ({lang}) is not downloaded")),
            Some(pack) => {
                missing.extend(pack_problems(&pack.dir));
                // A plan with step notes needs them in the persona's voice too, or the phone's
                // own voice would read them mid-run.
                // Notes in another language than the coach's stay the phone's voice's (a persona
                // does not read a language it does not speak): no clips to wait for.
                let has_notes = plan.is_some_and(|p| {
                    !p.notes().is_empty()
                        && Language::from_code(lang).map_or(p.language.is_none(), |l| p.notes_are_in(l))
                });
                if has_notes && !note_set_path(&pack.dir, plan_id).is_file() {
                    missing.push(format!(
                        "plan {plan_id}'s notes in {persona}'s voice are not downloaded (the phone's voice would read them)"
                    ));
                } else if has_notes {
                    missing.extend(notes_problems(&pack.dir, plan_id));
                }
            }
        }
    }
    Ok(Readiness { ready: missing.is_empty(), missing })
}

//! The sync protocol both sides speak (DESIGN §7): run headers, fixed one-minute chunks of a
//! run's log, the cursor and the finalize claim, and how a chunk is encoded (gzip JSON, or the
//! compact columnar encoding of [`crate::columnar`] when the server's cursor offers it) and
//! digested (always over the chunk's JSON, whichever encoding carried it). Must not: do I/O;
//! accept a body without saying what was wrong with it.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::RunLog;

/// Each chunk holds the log of one minute of run time: `[n * CHUNK_MS, (n + 1) * CHUNK_MS)`.
pub const CHUNK_MS: u64 = 60_000;
/// A run holds at most this many chunks: a week of minutes (a run left going for days still
/// uploads). Chunk numbers and finalize claims beyond it are refused, so no claim can make a
/// server build a list of a billion missing chunks, and a chunk's minute never overflows.
pub const MAX_RUN_CHUNKS: u64 = 7 * 24 * 60;
/// Largest compressed chunk body a server accepts (a minute at 10 Hz is far below).
pub const MAX_CHUNK_BODY_BYTES: usize = 4 << 20;
/// Largest decompressed chunk: guards against a gzip bomb. A full minute
/// ([`MAX_SAMPLES_PER_CHUNK`] samples of a few hundred bytes) is well below.
pub const MAX_CHUNK_JSON_BYTES: usize = 8 << 20;
/// Most engine inputs a one-minute chunk can hold: 100 a second, above every sensor a phone
/// feeds together (GPS and Doppler to 10 Hz, a barometer to 25 Hz, heart rate, cadence, a
/// foot pod, the tick; a real run logs about 4 a second). A chunk claiming more is not a
/// minute of a run, and would hold a server's write lock for seconds (836,000 rows once).
pub const MAX_SAMPLES_PER_CHUNK: usize = 6_000;
/// Largest response body a client reads (a plan, a pack's manifest or clip, a cursor).
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;
/// Largest run header or finalize body.
pub const MAX_SMALL_BODY_BYTES: usize = 64 << 10;

/// A run's header: who ran what, and how it went. Sent first, upserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    pub plan_id: String,
    pub persona: String,
    pub started_at_unix_ms: u64,
    /// The engine's summary at the finish (opaque JSON).
    #[serde(default)]
    pub summary: Option<serde_json::Value>,
    /// The check-in answer, 1–10.
    #[serde(default)]
    pub effort: Option<u8>,
    /// The post-run analysis (opaque JSON): with the summary, what a restored history needs
    /// for trends and goals. Absent from headers sent before it was uploaded (and then left
    /// out, so such a header reads back byte for byte).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<serde_json::Value>,
}

/// Runs a history page lists by default, and at most.
pub const DEFAULT_RUNS_PAGE: usize = 100;
pub const MAX_RUNS_PAGE: usize = 500;

/// One of a user's runs as `GET /v1/runs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunListing {
    pub id: String,
    pub header: RunHeader,
    /// The whole run is held (a phone confirmed it); an unfinalized run is still uploading.
    pub finalized: bool,
    pub chunks: u64,
    pub samples: u64,
}

/// `GET /v1/runs?after=ID&limit=N`: the user's runs in id order after `after`;
/// `next_after` is where the next page starts (absent on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    pub runs: Vec<RunListing>,
    #[serde(default)]
    pub next_after: Option<String>,
}

/// `GET /v1/runs/{id}`: a run whole, as its chunks delivered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDownload {
    pub id: String,
    pub header: RunHeader,
    pub finalized: bool,
    pub samples: Vec<WireSample>,
    pub cues: Vec<WireCue>,
    pub events: Vec<WireEvent>,
}

/// One engine input of a run, its JSON kept as text (a 4-hour run has ~60,000: parsing each
/// into a tree only to print it again would cost a phone tens of megabytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireSample {
    pub seq: u64,
    pub t_ms: u64,
    pub input: Box<serde_json::value::RawValue>,
}

impl PartialEq for WireSample {
    fn eq(&self, other: &Self) -> bool {
        (self.seq, self.t_ms, self.input.get()) == (other.seq, other.t_ms, other.input.get())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireCue {
    pub utterance_id: u64,
    pub at_ms: u64,
    pub kinds: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    pub seq: u64,
    pub t_ms: u64,
    pub event: serde_json::Value,
}

/// One minute of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub index: u64,
    pub samples: Vec<WireSample>,
    pub cues: Vec<WireCue>,
    pub events: Vec<WireEvent>,
}

/// `GET /v1/runs/{id}/cursor`: how many chunks the server holds contiguously from chunk 0
/// (`highest_contiguous` is that minus one, absent when it holds none), and the newest chunk
/// encoding it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub contiguous_chunks: u64,
    #[serde(default)]
    pub highest_contiguous: Option<u64>,
    /// The columnar encoding's version ([`crate::columnar::VERSION`]) when the server takes
    /// it; absent from a server that takes gzip JSON only (every server before it), and then
    /// a client sends gzip JSON. A client ignores a version newer than it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columnar_chunks: Option<u32>,
}

impl Cursor {
    /// A cursor offering the columnar encoding when `columnar` holds.
    pub fn new(contiguous_chunks: u64, columnar: bool) -> Self {
        Self {
            contiguous_chunks,
            highest_contiguous: contiguous_chunks.checked_sub(1),
            columnar_chunks: columnar.then_some(crate::columnar::VERSION),
        }
    }

    /// The encoding a client speaking columnar version [`crate::columnar::VERSION`] sends in.
    pub fn chunk_encoding(&self) -> ChunkEncoding {
        if self.columnar_chunks.is_some_and(|v| v >= crate::columnar::VERSION) {
            ChunkEncoding::Columnar
        } else {
            ChunkEncoding::GzipJson
        }
    }
}

/// How a chunk's body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkEncoding {
    /// The chunk's JSON, gzip-compressed: what every server takes.
    GzipJson,
    /// [`crate::columnar`]: about a fifth of the size; only to a server whose cursor offers it.
    Columnar,
}

impl ChunkEncoding {
    /// The request headers a body in this encoding is sent with.
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::GzipJson => &[("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            Self::Columnar => &[("Content-Type", COLUMNAR_CONTENT_TYPE)],
        }
    }
}

/// The media type of a columnar chunk body.
pub const COLUMNAR_CONTENT_TYPE: &str = "application/vnd.pacenote.chunk.v1";

/// `POST /v1/runs/{id}/finalize`: what the client holds; the server confirms it holds the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeClaim {
    pub chunks: u64,
    pub samples: u64,
    pub cues: u64,
    pub events: u64,
    /// [`run_digest`] of the chunks' digests.
    pub digest: String,
}

/// Whether `chunks` chunks (or a chunk number's place, as its count) fit in one run
/// ([`MAX_RUN_CHUNKS`]); `what` names the field for the message.
pub fn check_chunk_count(chunks: u64, what: &str) -> Result<(), String> {
    if chunks > MAX_RUN_CHUNKS {
        return Err(format!(
            "the {what} says {} chunks, more than a run can hold ({MAX_RUN_CHUNKS}, a week of one-minute chunks)",
            chunks
        ));
    }
    Ok(())
}

/// The server's answer to a finalize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeReply {
    pub confirmed: bool,
    /// Chunks the server lacks (resend them, then finalize again).
    #[serde(default)]
    pub missing: Vec<u64>,
    #[serde(default)]
    pub message: String,
}

/// Every error body: what was wrong, for a person to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// A chunk ready to send: its index, the JSON's digest, the body and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedChunk {
    pub index: u64,
    pub digest: String,
    pub body: Vec<u8>,
    /// How `body` is encoded (a chunk asked for as columnar that would not come back byte
    /// for byte is gzip JSON).
    pub encoding: ChunkEncoding,
    pub samples: u64,
    pub cues: u64,
    pub events: u64,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The digest of a whole run: SHA-256 over its chunks' digests in order, one per line.
pub fn run_digest<'a>(chunk_digests: impl IntoIterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for d in chunk_digests {
        joined.push_str(d);
        joined.push('\n');
    }
    sha256_hex(joined.as_bytes())
}

/// Splits a run's log into its chunks, chunk 0 to the one holding the last entry (empty
/// minutes included, so that chunks are contiguous). Events without a time go in chunk 0.
pub fn chunks_of(log: &RunLog) -> Result<Vec<Chunk>, String> {
    let index_of = |t_ms: u64| t_ms / CHUNK_MS;
    let last = log
        .inputs
        .iter()
        .map(|(_, t, _)| index_of(*t))
        .chain(log.cues.iter().map(|c| index_of(c.at_ms)))
        .chain(log.events.iter().map(|(_, e)| index_of(e.t_ms)))
        .max()
        .unwrap_or(0);
    let mut chunks: Vec<Chunk> = (0..=last)
        .map(|index| Chunk { index, samples: Vec::new(), cues: Vec::new(), events: Vec::new() })
        .collect();
    for (seq, t_ms, json) in &log.inputs {
        let input = serde_json::value::RawValue::from_string(json.clone())
            .map_err(|e| format!("stored input {seq}: {e}"))?;
        chunks[index_of(*t_ms) as usize].samples.push(WireSample { seq: *seq, t_ms: *t_ms, input });
    }
    for c in &log.cues {
        chunks[index_of(c.at_ms) as usize].cues.push(WireCue {
            utterance_id: c.utterance_id,
            at_ms: c.at_ms,
            kinds: c.kinds.clone(),
            text: c.text.clone(),
        });
    }
    for (seq, e) in &log.events {
        let event = serde_json::from_str(&e.json).map_err(|err| format!("stored event {seq}: {err}"))?;
        chunks[index_of(e.t_ms) as usize].events.push(WireEvent { seq: *seq, t_ms: e.t_ms, event });
    }
    Ok(chunks)
}

/// JSON, digested, then gzip.
pub fn encode_chunk(chunk: &Chunk) -> Result<EncodedChunk, String> {
    encode_chunk_as(chunk, ChunkEncoding::GzipJson)
}

/// JSON, digested, then sent in `encoding` (gzip JSON when the columnar body would not come
/// back as the same JSON).
pub fn encode_chunk_as(chunk: &Chunk, encoding: ChunkEncoding) -> Result<EncodedChunk, String> {
    let json = serde_json::to_vec(chunk).map_err(|e| e.to_string())?;
    let columnar = match encoding {
        ChunkEncoding::Columnar => crate::columnar::encode(chunk, &json),
        ChunkEncoding::GzipJson => None,
    };
    let (body, encoding) = match columnar {
        Some(body) => (body, ChunkEncoding::Columnar),
        None => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&json).map_err(|e| e.to_string())?;
            (gz.finish().map_err(|e| e.to_string())?, ChunkEncoding::GzipJson)
        }
    };
    Ok(EncodedChunk {
        index: chunk.index,
        digest: sha256_hex(&json),
        body,
        encoding,
        samples: chunk.samples.len() as u64,
        cues: chunk.cues.len() as u64,
        events: chunk.events.len() as u64,
    })
}

/// A received chunk body, gzip JSON or columnar (told apart by the columnar magic bytes, so a
/// stored body says its own encoding): decoded within [`MAX_CHUNK_JSON_BYTES`], checked to be
/// chunk `index` with every entry inside its minute. Returns the chunk and its JSON digest.
pub fn decode_chunk(index: u64, body: &[u8]) -> Result<(Chunk, String), String> {
    check_chunk_count(index.saturating_add(1), "chunk number")?;
    if body.starts_with(crate::columnar::MAGIC) {
        let chunk = crate::columnar::decode(body)?;
        let json =
            serde_json::to_vec(&chunk).map_err(|e| format!("the columnar chunk is not a chunk: {e}"))?;
        if json.len() > MAX_CHUNK_JSON_BYTES {
            return Err(format!("the chunk is larger than {MAX_CHUNK_JSON_BYTES} bytes uncompressed"));
        }
        check_chunk(index, &chunk)?;
        return Ok((chunk, sha256_hex(&json)));
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_CHUNK_JSON_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the chunk body is not gzip-compressed JSON: {e}"))?;
    if json.len() > MAX_CHUNK_JSON_BYTES {
        return Err(format!("the chunk is larger than {MAX_CHUNK_JSON_BYTES} bytes uncompressed"));
    }
    let chunk: Chunk =
        serde_json::from_slice(&json).map_err(|e| format!("the chunk's JSON is not a chunk: {e}"))?;
    check_chunk(index, &chunk)?;
    Ok((chunk, sha256_hex(&json)))
}

/// What a chunk may hold, whichever encoding brought it: it is chunk `index`, within a
/// minute's counts, every entry inside its minute, no sample sequence number twice.
fn check_chunk(index: u64, chunk: &Chunk) -> Result<(), String> {
    if chunk.index != index {
        return Err(format!("the body is chunk {} but was sent as chunk {index}", chunk.index));
    }
    let most = chunk.samples.len().max(chunk.cues.len()).max(chunk.events.len());
    if most > MAX_SAMPLES_PER_CHUNK {
        return Err(format!(
            "chunk {index} holds {} samples, {} cues and {} events: more than a minute can hold ({MAX_SAMPLES_PER_CHUNK} each)",
            chunk.samples.len(),
            chunk.cues.len(),
            chunk.events.len()
        ));
    }
    let minute = index * CHUNK_MS..(index + 1) * CHUNK_MS;
    if let Some(s) = chunk.samples.iter().find(|s| !minute.contains(&s.t_ms)) {
        return Err(format!("sample {} at {} ms is outside chunk {index}'s minute", s.seq, s.t_ms));
    }
    if let Some(c) = chunk.cues.iter().find(|c| !minute.contains(&c.at_ms)) {
        return Err(format!("cue {} at {} ms is outside chunk {index}'s minute", c.utterance_id, c.at_ms));
    }
    let mut seqs: Vec<u64> = chunk.samples.iter().map(|s| s.seq).collect();
    seqs.sort_unstable();
    if seqs.windows(2).any(|w| w[0] == w[1]) {
        return Err("the chunk repeats a sample sequence number".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SpokenCue, StoredEvent};

    fn log() -> RunLog {
        RunLog {
            inputs: (0..150)
                .map(|s| (s, s * 1000, format!(r#"{{"type":"tick","t_ms":{}}}"#, s * 1000)))
                .collect(),
            cues: vec![SpokenCue {
                utterance_id: 1,
                at_ms: 61_000,
                kinds: "split".into(),
                text: "One".into(),
            }],
            events: vec![(0, StoredEvent { t_ms: 0, json: r#"{"event":"heat_adjusted","pct":2.0}"#.into() })],
        }
    }

    fn encoded(encoding: ChunkEncoding) -> Vec<EncodedChunk> {
        let chunks = chunks_of(&log()).expect("chunks");
        chunks.iter().map(|c| encode_chunk_as(c, encoding)).collect::<Result<_, _>>().expect("encodes")
    }

    #[test]
    fn a_run_splits_into_contiguous_minutes_that_decode_back() {
        let chunks = encoded(ChunkEncoding::GzipJson);
        assert_eq!(chunks.iter().map(|c| c.index).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(chunks.iter().map(|c| c.samples).collect::<Vec<_>>(), vec![60, 60, 30]);
        assert_eq!((chunks[1].cues, chunks[0].events), (1, 1));
        let columnar = encoded(ChunkEncoding::Columnar);
        for (c, compact) in chunks.iter().zip(&columnar) {
            let (chunk, digest) = decode_chunk(c.index, &c.body).expect("decodes");
            assert_eq!((chunk.index, digest.as_str()), (c.index, c.digest.as_str()));
            // The other encoding carries the same chunk under the same digest.
            assert_eq!(compact.encoding, ChunkEncoding::Columnar);
            assert!(compact.body.len() < c.body.len(), "{} against {}", compact.body.len(), c.body.len());
            let (same, same_digest) = decode_chunk(c.index, &compact.body).expect("decodes");
            assert_eq!((same, same_digest), (chunk, digest));
        }
        // Encoding is deterministic: a retry sends the same bytes under the same URL.
        assert_eq!(encoded(ChunkEncoding::GzipJson), chunks);
        assert_eq!(encoded(ChunkEncoding::Columnar), columnar);
    }

    #[test]
    fn a_cursor_offers_the_columnar_encoding_and_old_cursors_read_as_gzip_json() {
        let old: Cursor =
            serde_json::from_str(r#"{"contiguous_chunks":3,"highest_contiguous":2}"#).expect("old");
        assert_eq!(old.chunk_encoding(), ChunkEncoding::GzipJson);
        let new = Cursor::new(3, true);
        assert_eq!(new.chunk_encoding(), ChunkEncoding::Columnar);
        // An old client reads the new cursor (unknown fields are ignored) ...
        let json = serde_json::to_string(&new).expect("json");
        assert!(json.contains(r#""columnar_chunks":1"#), "{json}");
        // ... and a server that does not take it says nothing about it.
        assert!(!serde_json::to_string(&Cursor::new(3, false)).expect("json").contains("columnar"));
        let future = Cursor { columnar_chunks: Some(0), ..new };
        assert_eq!(future.chunk_encoding(), ChunkEncoding::GzipJson);
    }

    #[test]
    fn bad_chunk_bodies_say_what_is_wrong() {
        let chunks = encoded(ChunkEncoding::GzipJson);
        assert!(decode_chunk(0, b"not gzip").expect_err("garbage").contains("gzip"));
        assert!(decode_chunk(1, &chunks[0].body).expect_err("wrong index").contains("sent as chunk 1"));
        let mut moved = decode_chunk(0, &chunks[0].body).expect("ok").0;
        moved.samples[0].t_ms = 999_999;
        let moved = encode_chunk(&moved).expect("encode");
        assert!(decode_chunk(0, &moved.body).expect_err("outside").contains("outside"));
        // A gzip bomb stops at the limit.
        let zeros = vec![b' '; MAX_CHUNK_JSON_BYTES + 10];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&zeros).expect("write");
        let bomb = gz.finish().expect("finish");
        assert!(bomb.len() < MAX_CHUNK_BODY_BYTES);
        assert!(decode_chunk(0, &bomb).expect_err("bomb").contains("larger"));
        // More samples than a minute can hold, every one inside the minute.
        let crowded = Chunk {
            index: 0,
            samples: (0..=MAX_SAMPLES_PER_CHUNK as u64)
                .map(|seq| WireSample {
                    seq,
                    t_ms: seq % CHUNK_MS,
                    input: serde_json::value::RawValue::from_string("{}".into()).expect("raw"),
                })
                .collect(),
            cues: vec![],
            events: vec![],
        };
        let crowded = encode_chunk(&crowded).expect("encode");
        assert!(decode_chunk(0, &crowded.body).expect_err("crowded").contains("more than a minute can hold"));
    }
}

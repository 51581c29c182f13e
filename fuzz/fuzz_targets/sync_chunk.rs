//! A chunk body from the network (gzip JSON or columnar) must decode or be refused with a
//! message, never panic or grow without bound; a finalize claim and a run header likewise.
#![no_main]
use std::io::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pacenote_sync::wire::decode_chunk(0, data);
    let _ = serde_json::from_slice::<pacenote_sync::wire::FinalizeClaim>(data);
    let _ = serde_json::from_slice::<pacenote_sync::wire::RunHeader>(data);
    // The same bytes as a columnar payload, deflated behind the magic, reach its parser.
    let mut columnar = pacenote_sync::columnar::MAGIC.to_vec();
    let mut deflate = flate2::write::DeflateEncoder::new(&mut columnar, flate2::Compression::fast());
    if deflate.write_all(data).is_ok() && deflate.finish().is_ok() {
        let _ = pacenote_sync::wire::decode_chunk(0, &columnar);
    }
    // The same bytes as an uncompressed chunk, gzipped, exercise the JSON checks; and the
    // chunk they hold goes columnar and back.
    if let Ok(chunk) = serde_json::from_slice::<pacenote_sync::wire::Chunk>(data) {
        for encoding in [pacenote_sync::wire::ChunkEncoding::GzipJson, pacenote_sync::wire::ChunkEncoding::Columnar] {
            if let Ok(encoded) = pacenote_sync::wire::encode_chunk_as(&chunk, encoding) {
                let _ = pacenote_sync::wire::decode_chunk(chunk.index, &encoded.body);
            }
        }
    }
});

//! A chunk body from the network (gzip JSON) must decode or be refused with a message, never
//! panic or grow without bound; a finalize claim and a run header likewise.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pacenote_sync::wire::decode_chunk(0, data);
    let _ = serde_json::from_slice::<pacenote_sync::wire::FinalizeClaim>(data);
    let _ = serde_json::from_slice::<pacenote_sync::wire::RunHeader>(data);
    // The same bytes as an uncompressed chunk, gzipped, exercise the JSON checks.
    if let Ok(chunk) = serde_json::from_slice::<pacenote_sync::wire::Chunk>(data)
        && let Ok(encoded) = pacenote_sync::wire::encode_chunk(&chunk)
    {
        let _ = pacenote_sync::wire::decode_chunk(chunk.index, &encoded.body);
    }
});

//! GPX import must turn any bytes into a recording or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(recording) = pacenote_track::gpx::parse(data) {
        let _ = recording.summary();
    }
});

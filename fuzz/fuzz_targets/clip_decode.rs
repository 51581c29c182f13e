//! A downloaded clip must decode or give an error, never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pacenote_audio::pack::decode(data);
});

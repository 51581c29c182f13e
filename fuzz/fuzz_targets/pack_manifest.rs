//! A pack manifest from the network must parse or be refused, never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<pacenote_audio::pack::Manifest>(data);
});

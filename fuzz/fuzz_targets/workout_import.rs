//! intervals.icu text and Zwift .zwo import must give a valid plan or an error, never panic.
#![no_main]
use pacenote_core::plan::{icu, validate, zwo};
use pacenote_core::units::SecondsPerKm;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(imported) = icu::import(text, "fuzz", "Fuzz") {
        assert!(validate(&imported.plan).is_empty());
    }
    if let Ok(imported) = zwo::import(text, "fuzz", Some(SecondsPerKm(270.0))) {
        assert!(validate(&imported.plan).is_empty());
    }
});

//! Plan reading must accept a valid plan or list its problems, never panic; an accepted plan
//! expands within the step limit.
#![no_main]
use pacenote_core::plan::{MAX_EXPANDED_STEPS, Plan};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = Plan::from_json(data) {
        assert!(plan.expanded_steps().len() <= MAX_EXPANDED_STEPS);
        let again = Plan::from_json(plan.to_json_pretty().as_bytes()).expect("a plan re-reads");
        assert_eq!(again, plan);
    }
});

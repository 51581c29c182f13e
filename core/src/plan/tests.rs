//! Plan reading and checking: bundled plans are valid, broken plans are rejected precisely.

use proptest::prelude::*;

use super::*;
use crate::BUNDLED_PLANS;

fn problems(json: &str) -> Vec<String> {
    match Plan::from_json(json.as_bytes()) {
        Ok(plan) => panic!("accepted a broken plan: {plan:?}"),
        Err(err) => err.problems().iter().map(ToString::to_string).collect(),
    }
}

fn with_step(step: &str) -> String {
    format!(r#"{{"version":1,"id":"p","name":"P","steps":[{{"kind":"warmup","end":"open"}},{step}]}}"#)
}

#[test]
fn every_bundled_plan_is_valid_and_round_trips() {
    for (file, json) in BUNDLED_PLANS {
        let plan = Plan::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let again = Plan::from_json(plan.to_json_pretty().as_bytes()).expect("re-reads");
        assert_eq!(plan, again, "{file} changes when written and read again");
        assert!(file.starts_with(&plan.id), "{file} should be named after its id {}", plan.id);
    }
}

#[test]
fn a_plans_notes_are_each_listed_once_in_running_order() {
    let (_, json) = BUNDLED_PLANS.iter().find(|(f, _)| *f == "intervals-5x1k.json").expect("bundled");
    let plan = Plan::from_json(json.as_bytes()).expect("valid");
    // Five reps and five jogs share two notes: four notes for twelve steps.
    assert_eq!(
        plan.notes(),
        [
            "Ten minutes easy to get warm.",
            "Smooth and controlled. Even effort the whole kilometre.",
            "Jog it out.",
            "Easy jog home. Press lap when you are done."
        ]
    );
    let plain =
        Plan::from_json(with_step(r#"{"kind":"work","end":{"time_s":60}}"#).as_bytes()).expect("valid");
    assert!(plain.notes().is_empty());
}

#[test]
fn a_plan_says_the_language_of_its_notes_and_nothing_else() {
    let german = r#"{"version":1,"id":"p","name":"P","language":"de","steps":[{"kind":"easy","end":"open","note":"Locker bleiben."}]}"#;
    let plan = Plan::from_json(german.as_bytes()).expect("valid");
    assert_eq!(plan.language, Some(Language::De));
    assert_eq!(Plan::from_json(plan.to_json_pretty().as_bytes()).expect("round trip"), plan);
    let klingon = german.replace(r#""language":"de""#, r#""language":"tlh""#);
    let found = problems(&klingon);
    assert!(found.iter().any(|p| p.starts_with("language: \"tlh\" is not a language")), "{found:?}");
    // Said nothing: unknown, and every coach may voice the notes.
    assert_eq!(
        Plan::from_json(with_step(r#"{"kind":"work","end":"open"}"#).as_bytes()).expect("ok").language,
        None
    );
}

#[test]
fn intervals_expand_with_rep_numbers() {
    let plan = Plan::from_json(BUNDLED_PLANS[1].1.as_bytes()).expect("valid");
    let steps = plan.expanded_steps();
    assert_eq!(steps.len(), 12);
    assert_eq!(steps[3].reps, vec![(2, 5)]);
    assert_eq!(steps[3].path, "steps[1].steps[0]");
    assert_eq!(steps[3].describe(), "work 1.00 km @ 4:45–4:55/km (rep 2/5)");
    let totals = plan.totals();
    assert_eq!(totals.to_string(), "12 steps: 20:00 by time + 5.00 km by distance + 1 open (until lap)");
}

#[test]
fn pace_band_the_wrong_way_round_names_path_and_fix() {
    let found = problems(&with_step(
        r#"{"kind":"work","end":{"time_s":60},"target":{"pace":{"fastest":"5:00","slowest":"4:30"}}}"#,
    ));
    assert_eq!(
        found,
        vec![
            "steps[1].target.pace: fastest 5:00/km is slower than slowest 4:30/km; swap them (fastest has fewer seconds per km)"
        ]
    );
}

#[test]
fn shape_errors_carry_the_json_path() {
    let found = problems(&with_step(r#"{"kind":"sprint","end":"open"}"#));
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("steps[1].kind: unknown variant `sprint`"), "{found:?}");
    assert!(found[0].contains("`work`"), "lists what is allowed: {found:?}");

    let found = problems(&with_step(r#"{"kind":"work","end":"open","tagret":{}}"#));
    assert!(found[0].contains("unknown field `tagret`"), "{found:?}");

    let found = problems(&with_step(
        r#"{"kind":"work","end":"open","target":{"pace":{"fastest":"4.30","slowest":"5:00"}}}"#,
    ));
    assert!(found[0].starts_with("steps[1].target.pace.fastest: pace \"4.30\" is not"), "{found:?}");

    let found = problems(r#"{"version":1,"id":"p","name":"P","steps":["#);
    assert!(found[0].contains("ends early"), "{found:?}");
    let found = problems("");
    assert_eq!(found.len(), 1);
    let found = problems(r#"{"version":1,"id":"p","name":"P"}"#);
    assert!(found[0].contains("missing field `steps`"), "{found:?}");
}

#[test]
fn every_value_problem_is_reported_at_once() {
    let json = r#"{"version":2,"id":"Bad Id","name":" ","steps":[
        {"kind":"work","end":{"time_s":0}},
        {"kind":"work","end":{"distance_m":-1},"target":{"hr_zone":7}},
        {"repeat":0,"steps":[{"kind":"work","end":"open","target":{"hr_range":{"min_bpm":180,"max_bpm":150}}}]},
        {"kind":"easy","end":"open","target":{"hr_range":{}}, "note":""},
        {"kind":"easy","end":"open","target":{"effort":{"rpe":11}}},
        {"repeat":3,"kind":"work","steps":[]},
        {"kind":"work"}
    ]}"#;
    let found = problems(json);
    let paths: Vec<&str> = found.iter().map(|p| p.split(": ").next().unwrap_or_default()).collect();
    assert_eq!(
        paths,
        vec![
            "version",
            "id",
            "name",
            "steps[0].end.time_s",
            "steps[1].end.distance_m",
            "steps[1].target.hr_zone",
            "steps[2].repeat",
            "steps[2].steps[0].target.hr_range",
            "steps[3].note",
            "steps[3].target.hr_range",
            "steps[4].target.effort.rpe",
            "steps[5]",
            "steps[5].steps",
            "steps[6]",
        ],
        "{found:#?}"
    );
}

#[test]
fn absurd_repeats_are_refused_before_expansion() {
    let inner = r#"{"kind":"work","end":{"time_s":1}}"#;
    let nested = format!(r#"{{"repeat":100,"steps":[{{"repeat":100,"steps":[{inner}]}}]}}"#);
    let found = problems(&with_step(&nested));
    assert!(found.iter().any(|p| p.contains("expands to 10001 steps")), "{found:?}");

    let deep = format!(
        r#"{{"repeat":2,"steps":[{{"repeat":2,"steps":[{{"repeat":2,"steps":[{{"repeat":2,"steps":[{inner}]}}]}}]}}]}}"#
    );
    let found = problems(&with_step(&deep));
    assert!(found.iter().any(|p| p.contains("nested more than 3 deep")), "{found:?}");
}

#[test]
fn out_of_range_paces_suggest_a_typo() {
    let found = problems(&with_step(
        r#"{"kind":"work","end":"open","target":{"pace":{"fastest":60,"slowest":2000}}}"#,
    ));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("allowed 2:00 to 20:00 per km"), "{found:?}");
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Plan::from_json(&bytes);
    }

    #[test]
    fn never_panics_on_plan_like_json(
        kind in "(warmup|work|rest|x)",
        times in 0u32..200,
        seconds in -10.0f64..1e6,
        fastest in 0u32..2000,
        slowest in 0u32..2000,
    ) {
        let json = format!(
            r#"{{"version":1,"id":"p","name":"P","steps":[{{"repeat":{times},"steps":[
               {{"kind":"{kind}","end":{{"time_s":{seconds}}},"target":{{"pace":{{"fastest":{fastest},"slowest":{slowest}}}}}}}]}}]}}"#
        );
        if let Ok(plan) = Plan::from_json(json.as_bytes()) {
            prop_assert!(validate(&plan).is_empty());
            prop_assert!(plan.expanded_steps().len() <= MAX_EXPANDED_STEPS);
        }
    }
}

//! Persona scripts: complete, well-formed, never pushing through pain; lines chosen without
//! repeats; the three personas give the same facts in different words.

use proptest::prelude::*;

use super::*;
use crate::cue::{CueSlots, Priority};
use crate::plan::StepKind;
use crate::units::SecondsPerKm;

fn cue(kind: CueKind, slots: CueSlots) -> Cue {
    Cue { id: 1, kind, priority: kind.priority(), slots, step: None, at_ms: 0, expires_at_ms: 1 }
}

/// Slots as full as the engine ever fills them, for every kind.
fn full_slots() -> CueSlots {
    CueSlots {
        pace: Some(SecondsPerKm(298.0)),
        target_pace: Some((SecondsPerKm(285.0), SecondsPerKm(295.0))),
        distance_m: Some(1000.0),
        duration_s: Some(10.0),
        bpm: Some(172.0),
        zone: Some(3),
        target_bpm: Some((150.0, 160.0)),
        rep: Some(2),
        reps: Some(5),
        step_kind: Some(StepKind::Work),
        step_note: Some("Stay relaxed.".into()),
        split_km: Some(3),
        escalation: Some(1),
        runs_done: Some(4),
        runs_planned: Some(4),
        streak_weeks: Some(6),
    }
}

/// Every bundled script, loaded.
fn every_script() -> Vec<(String, Persona)> {
    BUNDLED_SCRIPTS
        .iter()
        .map(|(id, lang, _)| {
            let name = format!("{id} ({})", lang.code());
            let persona = Persona::bundled_in(id, *lang).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((persona.id.as_str(), persona.language), (*id, *lang), "{name}");
            (name, persona)
        })
        .collect()
}

#[test]
fn every_bundled_persona_loads_and_covers_every_kind() {
    for (id, persona) in every_script() {
        for kind in CueKind::ALL {
            let needed = if RARE_KINDS.contains(&kind) { MIN_VARIANTS_RARE } else { MIN_VARIANTS };
            assert!(persona.variants(kind).len() >= needed, "{id} {kind:?}");
        }
    }
}

#[test]
fn every_line_of_every_persona_renders_with_full_slots() {
    for (id, persona) in every_script() {
        for kind in CueKind::ALL {
            let mut chooser = LineChooser::new(1);
            let c = cue(kind, full_slots());
            let n = persona.variants(kind).len();
            let said: std::collections::BTreeSet<String> =
                (0..n).map(|_| persona.say(&c, &mut chooser)).collect();
            assert_eq!(said.len(), n, "{id} {kind:?}: every variant once in {n} turns: {said:?}");
            for text in &said {
                assert!(!text.contains('{') && !text.contains('}'), "{id}: unfilled slot in {text:?}");
                assert!(!text.chars().any(|c| c.is_ascii_digit()), "{id}: digits in {text:?}");
            }
        }
    }
}

#[test]
fn a_cue_without_optional_slots_still_gets_a_line() {
    for (id, persona) in every_script() {
        let bare = cue(CueKind::HrAboveZone, CueSlots::default());
        let mut chooser = LineChooser::new(3);
        for _ in 0..10 {
            let text = persona.say(&bare, &mut chooser);
            assert!(!text.is_empty() && !text.contains('{'), "{id}: {text}");
        }
    }
}

#[test]
fn personas_differ_in_words_but_give_the_same_facts() {
    let c = cue(CueKind::SpeedUp, full_slots());
    let mut texts = Vec::new();
    for (id, _) in BUNDLED_PERSONAS {
        let persona = Persona::bundled(id).expect("loads");
        let text = persona.say(&c, &mut LineChooser::new(9));
        assert!(
            text.to_lowercase().contains("four forty-five to four fifty-five"),
            "{id} gives the target: {text}"
        );
        texts.push(text);
    }
    texts.dedup();
    assert_eq!(texts.len(), 3, "three different wordings");
    let split = cue(CueKind::Split, full_slots());
    for (id, _) in BUNDLED_PERSONAS {
        let text = Persona::bundled(id).expect("loads").say(&split, &mut LineChooser::new(2)).to_lowercase();
        assert!(text.contains("three") && text.contains("four fifty-eight"), "{id}: {text}");
    }
}

#[test]
fn step_notes_are_spoken_after_the_step() {
    let persona = Persona::bundled("jenna").expect("loads");
    let text = persona.say(&cue(CueKind::StepStart, full_slots()), &mut LineChooser::new(1));
    assert!(text.contains("work, rep two of five, one kilometre at four forty-five"), "{text}");
    assert!(text.ends_with("Stay relaxed."), "{text}");
}

#[test]
fn broken_scripts_are_refused_precisely() {
    let stone = BUNDLED_PERSONAS[0].1;
    let err = |text: &str| Persona::from_toml(text).expect_err("refused").to_string();

    let lacking = stone.replace("back_in_zone = [", "back_in_zonx = [");
    let e = err(&lacking);
    assert!(e.contains("lines.back_in_zonx: no cue kind"), "{e}");
    assert!(e.contains("lines.back_in_zone: has 0 variants"), "{e}");

    let unknown_slot =
        stone.replace("\"Kilometre {split_km}. {pace}.\"", "\"Kilometre {split_km}. {speed}.\"");
    assert!(err(&unknown_slot).contains("lines.split[0]: unknown slot {speed}"), "{}", err(&unknown_slot));

    let wrong_slot = stone.replace("\"Halfway. Hold form.\"", "\"Halfway. {bpm}.\"");
    assert!(
        err(&wrong_slot).contains("slot {bpm} is not available for step_halfway"),
        "{}",
        err(&wrong_slot)
    );

    let pushing = stone.replace("\"Solid. Keep going.\"", "\"Push through the pain, soldier.\"");
    assert!(err(&pushing).contains("no persona pushes through pain"), "{}", err(&pushing));

    let shaming = stone.replace("\"Solid. Keep going.\"", "\"No excuses today.\"");
    assert!(err(&shaming).contains("\"no excuses\""), "{}", err(&shaming));

    assert!(err("persona = 3").starts_with("not a persona script"));
    assert_eq!(
        Persona::bundled("yoda").expect_err("unknown").to_string(),
        "no persona \"yoda\"; the bundled ones are stone, jakes and jenna"
    );
}

/// The run's first utterance: the start, and the first step.
fn start_utterance() -> Utterance {
    Utterance {
        id: 1,
        at_ms: 0,
        early_ms: 0,
        priority: Priority::StepChange,
        cues: vec![cue(CueKind::RunStart, CueSlots::default()), cue(CueKind::StepStart, full_slots())],
        interrupts: None,
    }
}

#[test]
fn utterances_join_the_persona_lines() {
    let persona = Persona::bundled("stone").expect("loads");
    let u = start_utterance();
    let text = persona.say_utterance(&u, &mut LineChooser::new(4));
    assert!(text.contains("work, rep two of five"), "{text}");
    assert!(text.split(". ").count() >= 2, "{text}");
}

#[test]
fn a_wording_is_a_persona_or_the_plain_words_with_the_one_line_seed() {
    let u = start_utterance();
    let mut plain = Wording::named(NEUTRAL_PERSONA).expect("the plain wording");
    assert_eq!(plain.name(), NEUTRAL_PERSONA);
    let (text, lines) = plain.lines(&u);
    assert_eq!(text, u.neutral_text());
    assert!(lines.iter().all(|l| l.parts == vec![Spoken::Free(l.text.clone())]));
    let mut stone = Wording::named("stone").expect("stone");
    assert_eq!(stone.name(), "stone");
    let persona = Persona::bundled("stone").expect("loads");
    assert_eq!(stone.say(&u), persona.say_utterance(&u, &mut LineChooser::new(LINE_SEED)));
    assert!(matches!(Wording::named("yoda"), Err(PersonaError::Unknown(_))));
}

proptest! {
    #[test]
    fn no_line_repeats_before_all_were_used(seed in any::<u64>(), turns in 1usize..40) {
        let persona = Persona::bundled("jakes").expect("loads");
        let c = cue(CueKind::Encouragement, full_slots());
        let n = persona.variants(CueKind::Encouragement).len();
        let mut chooser = LineChooser::new(seed);
        let said: Vec<String> = (0..turns).map(|_| persona.say(&c, &mut chooser)).collect();
        for window in said.chunks(n) {
            let unique: std::collections::BTreeSet<&String> = window.iter().collect();
            prop_assert_eq!(unique.len(), window.len());
        }
        // Deterministic per seed.
        let mut again = LineChooser::new(seed);
        let said_again: Vec<String> = (0..turns).map(|_| persona.say(&c, &mut again)).collect();
        prop_assert_eq!(said, said_again);
    }
}

/// Words that shame a runner for a missed run or a slow day (DESIGN §9: missed runs are not
/// failures), beyond the phrases the loader already refuses; and the words a pain check must
/// use (stop or walk), per language.
fn shaming_and_stopping(lang: Language) -> (&'static [&'static str], &'static [&'static str]) {
    match lang {
        Language::En => (
            &[
                "you missed",
                "you skipped",
                "disappoint",
                "failure",
                "you failed",
                "weak",
                "quitter",
                "excuse",
                "soft",
            ],
            &["stop", "walk"],
        ),
        Language::De => (
            &["verpasst", "geschwänzt", "enttäusch", "versag", "schwach", "aufgeber", "ausrede", "schlapp"],
            &["stopp", "anhalten", "halt an", "geh ", "gehen", "aufhören", "hör auf"],
        ),
        Language::Es => (
            &["te saltaste", "fallaste", "decepcion", "fracas", "débil", "rajado", "excusa", "blando"],
            &["para", "detente", "camina", "caminar"],
        ),
        Language::Fr => (
            &["tu as raté", "tu as séché", "déçu", "décevant", "échec", "faible", "lâcheur", "excuse", "mou"],
            &["arrête", "stop", "marche"],
        ),
    }
}

#[test]
fn no_line_of_any_persona_pushes_through_pain_or_shames_a_missed_run() {
    for (id, persona) in every_script() {
        let (shaming, stopping) = shaming_and_stopping(persona.language);
        let mut checked = 0;
        for (kind, variants) in &persona.lines {
            for (text, _) in variants {
                let lower = text.to_lowercase();
                for bad in forbidden_phrases(persona.language).iter().chain(shaming) {
                    assert!(!lower.contains(bad), "{id} {kind:?}: {text:?} says {bad:?}");
                }
                if *kind == CueKind::PainCheck {
                    assert!(
                        stopping.iter().any(|w| lower.contains(w)),
                        "{id}: {text:?} must say stop or walk"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= CueKind::ALL.len() * MIN_VARIANTS_RARE, "{id}: only {checked} lines");
    }
}

#[test]
fn the_linter_knows_each_languages_ways_of_pushing_through_pain() {
    let english = BUNDLED_PERSONAS[0].1;
    for (lang, bad) in [
        (Language::De, "Beiß dich durch, Soldat."),
        (Language::Es, "Aguanta el dolor, soldado."),
        (Language::Fr, "Serre les dents, soldat."),
    ] {
        let script = english
            .replacen("language = \"en\"", &format!("language = \"{}\"", lang.code()), 1)
            .replacen("Pain noted. Stop and walk.", bad, 1);
        let err = Persona::from_toml(&script).expect_err("refused").to_string();
        assert!(err.contains("no persona pushes through pain"), "{}: {err}", lang.code());
    }
}

#[test]
fn sentences_start_with_a_capital_after_spanish_opening_marks() {
    use super::capitalize_sentences;
    assert_eq!(capitalize_sentences("done. nine kilometres!"), "Done. Nine kilometres!");
    assert_eq!(
        capitalize_sentences("¡diez segundos! ¡cinco minutos! ¿cómo?"),
        "¡Diez segundos! ¡Cinco minutos! ¿Cómo?"
    );
    assert_eq!(capitalize_sentences("Pulso 150, ¡vamos!"), "Pulso 150, ¡vamos!");
}

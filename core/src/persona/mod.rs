//! Personas (DESIGN §5): the coach's words as data. One TOML script per persona per language
//! (`core/personas/en/stone.toml`) holds, for every cue kind, several variants — templates
//! with typed slots (`{pace}`, `{target_pace}`, `{distance}`, `{duration}`, `{bpm}`, `{zone}`,
//! `{rep}`, `{reps}`, `{step}`, `{split_km}`). The personas differ in words, never in the facts
//! they give; none of them ever tells a runner to push through pain.
//!
//! Loading checks a script completely — every kind present with enough variants, every slot
//! known and available for its kind, no line that pushes through pain or shames — so an app
//! team's own persona is held to the same bar as ours. Choosing a line is least-recently-used
//! with a seeded tie-break: deterministic per run, and no line repeats until every variant of
//! its kind has been said. Pure: scripts come in as text.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;

use crate::cue::{Cue, CueKind, Utterance, join_sentences, neutral_text};
use crate::speech::language::Join;
use crate::speech::{Language, Said};

/// The personas that ship, as (id, TOML script).
pub const BUNDLED_PERSONAS: [(&str, &str); 3] = [
    ("stone", include_str!("../../personas/en/stone.toml")),
    ("jakes", include_str!("../../personas/en/jakes.toml")),
    ("jenna", include_str!("../../personas/en/jenna.toml")),
];

/// Every bundled script: the English ones above and their counterparts in German, Spanish and
/// French, written per language in each persona's character.
pub const BUNDLED_SCRIPTS: [(&str, Language, &str); 12] = [
    ("stone", Language::En, BUNDLED_PERSONAS[0].1),
    ("jakes", Language::En, BUNDLED_PERSONAS[1].1),
    ("jenna", Language::En, BUNDLED_PERSONAS[2].1),
    ("stone", Language::De, include_str!("../../personas/de/stone.toml")),
    ("jakes", Language::De, include_str!("../../personas/de/jakes.toml")),
    ("jenna", Language::De, include_str!("../../personas/de/jenna.toml")),
    ("stone", Language::Es, include_str!("../../personas/es/stone.toml")),
    ("jakes", Language::Es, include_str!("../../personas/es/jakes.toml")),
    ("jenna", Language::Es, include_str!("../../personas/es/jenna.toml")),
    ("stone", Language::Fr, include_str!("../../personas/fr/stone.toml")),
    ("jakes", Language::Fr, include_str!("../../personas/fr/jakes.toml")),
    ("jenna", Language::Fr, include_str!("../../personas/fr/jenna.toml")),
];

/// Variants every persona needs per cue kind, so a long run does not say the same line twice
/// in a row; rare kinds (said a few times a run at most) need fewer.
pub const MIN_VARIANTS: usize = 4;
pub const MIN_VARIANTS_RARE: usize = 3;

/// Kinds said at most a few times in a run.
const RARE_KINDS: [CueKind; 13] = [
    CueKind::RunFinish,
    CueKind::FreeToStop,
    CueKind::HeatAdjusted,
    CueKind::CheckIn,
    CueKind::StreakCelebration,
    CueKind::SessionComplete,
    CueKind::RunHalfway,
    CueKind::HrVeryHigh,
    CueKind::PainCheck,
    CueKind::GpsLost,
    CueKind::GpsBack,
    CueKind::AutoPaused,
    CueKind::AutoResumed,
];

/// Phrases no persona may say, per language: pushing through pain, or shaming (DESIGN §9: pain
/// is a reason to stop, never a challenge; missed runs are not failures). Matched in lower case
/// anywhere in a line.
fn forbidden_phrases(lang: Language) -> &'static [&'static str] {
    match lang {
        Language::En => &[
            "push through",
            "through the pain",
            "pain is weakness",
            "no pain",
            "ignore the pain",
            "ignore it",
            "suck it up",
            "run through it",
            "toughen up",
            "lazy",
            "pathetic",
            "no excuses",
        ],
        Language::De => &[
            "beiß dich durch",
            "beiss dich durch",
            "durchbeißen",
            "durchbeissen",
            "schmerz ist schwäche",
            "ohne schmerz",
            "ignorier den schmerz",
            "ignoriere den schmerz",
            "trotz schmerz",
            "stell dich nicht so an",
            "reiß dich zusammen",
            "faul",
            "erbärmlich",
            "keine ausreden",
            "weichei",
            "jammer nicht",
        ],
        Language::Es => &[
            "aguanta el dolor",
            "a pesar del dolor",
            "el dolor es debilidad",
            "sin dolor no hay",
            "ignora el dolor",
            "no seas flojo",
            "flojo",
            "vago",
            "patético",
            "sin excusas",
            "deja de quejarte",
        ],
        Language::Fr => &[
            "malgré la douleur",
            "la douleur c'est la faiblesse",
            "la douleur est une faiblesse",
            "pas de douleur",
            "ignore la douleur",
            "serre les dents",
            "fainéant",
            "paresseux",
            "pathétique",
            "pas d'excuses",
            "pas d'excuse",
            "mauviette",
            "arrête de te plaindre",
        ],
    }
}

/// A value a template can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Pace,
    TargetPace,
    Distance,
    Duration,
    Bpm,
    Zone,
    Rep,
    Reps,
    /// The step in a runner's words: "work, rep two of five, one kilometre at ...".
    Step,
    SplitKm,
    RunsDone,
    RunsPlanned,
    StreakWeeks,
}

impl Slot {
    const ALL: [(&'static str, Slot); 13] = [
        ("pace", Slot::Pace),
        ("target_pace", Slot::TargetPace),
        ("distance", Slot::Distance),
        ("duration", Slot::Duration),
        ("bpm", Slot::Bpm),
        ("zone", Slot::Zone),
        ("rep", Slot::Rep),
        ("reps", Slot::Reps),
        ("step", Slot::Step),
        ("split_km", Slot::SplitKm),
        ("runs_done", Slot::RunsDone),
        ("runs_planned", Slot::RunsPlanned),
        ("streak_weeks", Slot::StreakWeeks),
    ];

    fn parse(name: &str) -> Option<Slot> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, s)| *s == self).map_or("?", |(n, _)| n)
    }

    /// The words for this slot in a cue, in `lang`, when the cue has the value.
    fn words(self, cue: &Cue, lang: Language) -> Option<Said> {
        let s = &cue.slots;
        let count = |n: Option<u32>| n.map(|n| lang.number(u64::from(n)));
        match self {
            Slot::Pace => s.pace.map(|p| lang.pace(p)),
            Slot::TargetPace => s.target_pace.map(|(fast, slow)| pace_range(lang, fast, slow)),
            Slot::Distance => s.distance_m.map(|d| lang.distance(d)),
            Slot::Duration => s.duration_s.map(|t| lang.duration(t)),
            Slot::Bpm => s.bpm.map(|b| lang.number(b.round().max(0.0) as u64)),
            Slot::Zone => s.zone.map(|z| lang.number(u64::from(z))),
            Slot::Rep => count(s.rep),
            Slot::Reps => count(s.reps),
            Slot::Step => Some(step_words(cue, lang)),
            Slot::SplitKm => count(s.split_km),
            Slot::RunsDone => count(s.runs_done),
            Slot::RunsPlanned => count(s.runs_planned),
            Slot::StreakWeeks => count(s.streak_weeks),
        }
    }
}

/// "four forty-five to four fifty-five".
fn pace_range(lang: Language, fast: crate::units::SecondsPerKm, slow: crate::units::SecondsPerKm) -> Said {
    lang.pace(fast).then(Said::word(step_vocabulary(lang).to)).then(lang.pace(slow))
}

/// The slots the engine fills for each kind (some only sometimes: a variant using one is said
/// only when the cue has it).
fn allowed_slots(kind: CueKind) -> &'static [Slot] {
    use Slot::*;
    match kind {
        CueKind::RunFinish | CueKind::SessionComplete => &[Distance, Duration],
        CueKind::StepStart => &[Step, Rep, Reps, Distance, Duration, TargetPace, Zone],
        CueKind::Countdown => &[Duration],
        CueKind::Split => &[SplitKm, Pace],
        CueKind::SpeedUp | CueKind::SlowDown => &[Pace, TargetPace],
        CueKind::HrAboveZone | CueKind::HrBelowZone | CueKind::HrVeryHigh => &[Bpm],
        CueKind::Encouragement => &[Pace],
        CueKind::EasyEaseOff => &[Bpm],
        CueKind::StreakCelebration => &[RunsDone, RunsPlanned, StreakWeeks],
        CueKind::RunStart
        | CueKind::FreeToStop
        | CueKind::HeatAdjusted
        | CueKind::CheckIn
        | CueKind::StepHalfway
        | CueKind::RunHalfway
        | CueKind::BackOnPace
        | CueKind::BackInZone
        | CueKind::PainCheck
        | CueKind::GpsLost
        | CueKind::GpsBack
        | CueKind::AutoPaused
        | CueKind::AutoResumed
        | CueKind::HillEffort => &[],
    }
}

/// The words `{step}` is made of in one language, besides numbers and units.
struct StepVocabulary {
    /// Warm-up, work, recovery, cool-down, easy, rest (in [`StepKind`]'s order).
    kinds: [&'static str; 6],
    next_step: &'static str,
    rep: &'static str,
    of: &'static str,
    at: &'static str,
    in_zone: &'static str,
    /// Between the two paces of a range.
    to: &'static str,
}

impl StepVocabulary {
    fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.iter().copied().chain([self.next_step, self.rep, self.of, self.at, self.in_zone, self.to])
    }
}

fn step_vocabulary(lang: Language) -> &'static StepVocabulary {
    const EN: StepVocabulary = StepVocabulary {
        kinds: ["warmup", "work", "recovery", "cooldown", "easy", "rest"],
        next_step: "next step",
        rep: "rep",
        of: "of",
        at: "at",
        in_zone: "in zone",
        to: "to",
    };
    const DE: StepVocabulary = StepVocabulary {
        kinds: ["Aufwärmen", "Belastung", "Erholung", "Auslaufen", "locker", "Pause"],
        next_step: "nächster Abschnitt",
        rep: "Wiederholung",
        of: "von",
        at: "bei",
        in_zone: "in Zone",
        to: "bis",
    };
    const ES: StepVocabulary = StepVocabulary {
        kinds: ["calentamiento", "trabajo", "recuperación", "vuelta a la calma", "suave", "descanso"],
        next_step: "siguiente bloque",
        rep: "repetición",
        of: "de",
        at: "a ritmo de",
        in_zone: "en zona",
        to: "a",
    };
    const FR: StepVocabulary = StepVocabulary {
        kinds: ["échauffement", "effort", "récupération", "retour au calme", "footing", "repos"],
        next_step: "bloc suivant",
        rep: "répétition",
        of: "sur",
        at: "à une allure de",
        in_zone: "en zone",
        to: "à",
    };
    match lang {
        Language::En => &EN,
        Language::De => &DE,
        Language::Es => &ES,
        Language::Fr => &FR,
    }
}

/// "work, rep two of five, one kilometre at four forty-five to four fifty-five".
fn step_words(cue: &Cue, lang: Language) -> Said {
    let s = &cue.slots;
    let words = step_vocabulary(lang);
    let mut said = Said::word(s.step_kind.map_or(words.next_step, |k| words.kinds[k as usize]));
    if let (Some(r), Some(n)) = (s.rep, s.reps) {
        let rep = Said::word(words.rep).then(lang.number(u64::from(r))).then(Said::word(words.of));
        said = said.joined(Join::Comma, rep.then(lang.number(u64::from(n))));
    }
    if let Some(d) = s.distance_m {
        said = said.joined(Join::Comma, lang.distance(d));
    } else if let Some(t) = s.duration_s {
        said = said.joined(Join::Comma, lang.duration(t));
    }
    if let Some((fast, slow)) = s.target_pace {
        said = said.then(Said::word(words.at)).then(pace_range(lang, fast, slow));
    } else if let Some(z) = s.zone {
        said = said.then(Said::word(words.in_zone)).then(lang.number(u64::from(z)));
    }
    said
}

/// A piece of an utterance as a voice pack speaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spoken {
    /// Fixed text of a persona line: one clip in the pack.
    Fragment(String),
    /// A vocabulary word of a slot value ("four", "fifty", "kilometres"): one clip.
    Word(String),
    /// Text no pack holds (a plan's step note): the platform's speech fallback says it.
    Free(String),
}

/// A chosen line: its text and how a pack speaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub parts: Vec<Spoken>,
}

/// A line with its slots found.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Slot(Slot),
}

#[derive(Debug, Clone, PartialEq)]
struct Template {
    parts: Vec<Part>,
}

impl Template {
    fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.parts.iter().filter_map(|p| if let Part::Slot(s) = p { Some(*s) } else { None })
    }

    fn render_parts(&self, cue: &Cue, lang: Language) -> Option<Vec<Spoken>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) if t.chars().any(char::is_alphanumeric) => {
                    out.push(Spoken::Fragment(t.trim().to_owned()))
                }
                Part::Text(_) => {}
                Part::Slot(s) => {
                    out.extend(s.words(cue, lang)?.pack_words().map(|w| Spoken::Word(w.to_owned())))
                }
            }
        }
        Some(out)
    }

    fn render(&self, cue: &Cue, lang: Language) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(s) => out.push_str(&s.words(cue, lang)?.to_string()),
            }
        }
        Some(out)
    }
}

/// One problem in a persona script, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for PersonaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a persona script could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonaError {
    #[error("not a persona script: {0}")]
    Toml(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<PersonaProblem>),
    #[error("no persona {0:?}; the bundled ones are stone, jakes and jenna")]
    Unknown(String),
    #[error("persona {0:?} has no script in {1:?} yet")]
    NoScript(String, &'static str),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    id: String,
    name: String,
    language: String,
    style: String,
    voice: Voice,
    lines: BTreeMap<String, Vec<String>>,
}

/// How a persona sounds when its pack is rendered with a synthesiser.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    /// espeak-ng voice name (language and variant, e.g. "en-us+m3").
    pub espeak: String,
    /// espeak-ng pitch, 0–99.
    pub pitch: u32,
    /// Speaking rate in words per minute.
    pub rate_wpm: u32,
    /// The neural voice (Piper) the persona's packs are built with where one exists for its
    /// language; espeak-ng above stays the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piper: Option<PiperVoice>,
}

/// A persona's character in a Piper voice model: one packaged model can be three people when
/// pace, pitch and the model's variation differ.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PiperVoice {
    /// The model's name (`<name>.onnx` and `<name>.onnx.json` in the models folder).
    pub model: String,
    /// Phoneme length: below 1 speaks faster, above 1 slower.
    pub length_scale: f32,
    /// Generator noise: lower is flatter and steadier, higher livelier.
    pub noise_scale: f32,
    /// Phoneme-width noise: variation of rhythm.
    pub noise_w: f32,
    /// Pitch shift in semitones (the formants move with it, so a lower voice also sounds
    /// bigger); applied by the pack builder after synthesis.
    pub semitones: f32,
}

impl PiperVoice {
    /// Each setting with the range where the voice stays intelligible and natural (beyond it
    /// Piper slurs or drones, and a shift of more than half an octave turns a voice into a
    /// cartoon).
    fn checked_settings(&self) -> [(&'static str, f32, RangeInclusive<f32>); 4] {
        [
            ("length_scale", self.length_scale, 0.6..=1.6),
            ("noise_scale", self.noise_scale, 0.0..=1.2),
            ("noise_w", self.noise_w, 0.0..=1.2),
            ("semitones", self.semitones, -6.0..=6.0),
        ]
    }
}

/// A coach persona, checked and ready to speak.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub id: String,
    pub name: String,
    pub language: Language,
    pub style: String,
    pub voice: Voice,
    lines: BTreeMap<CueKind, Vec<(String, Template)>>,
}

impl Persona {
    /// One of the personas that ship (stone, jakes, jenna), in English.
    pub fn bundled(id: &str) -> Result<Persona, PersonaError> {
        Persona::bundled_in(id, Language::En)
    }

    /// One of the personas that ship, in `lang`.
    pub fn bundled_in(id: &str, lang: Language) -> Result<Persona, PersonaError> {
        if !BUNDLED_PERSONAS.iter().any(|(p, _)| *p == id) {
            return Err(PersonaError::Unknown(id.to_owned()));
        }
        let (.., script) = BUNDLED_SCRIPTS
            .iter()
            .find(|(p, l, _)| *p == id && *l == lang)
            .ok_or_else(|| PersonaError::NoScript(id.to_owned(), lang.code()))?;
        Persona::from_toml(script)
    }

    /// Reads and checks a persona script.
    pub fn from_toml(text: &str) -> Result<Persona, PersonaError> {
        let raw: RawScript = toml::from_str(text).map_err(|e| PersonaError::Toml(e.to_string()))?;
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push(PersonaProblem { path, message });
        let language = Language::from_code(&raw.language).unwrap_or_else(|| {
            let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
            problem("language".into(), format!("{:?} is not one of {}", raw.language, known.join(", ")));
            Language::En
        });
        if let Some(piper) = &raw.voice.piper {
            for (field, value, range) in piper.checked_settings() {
                if !range.contains(&value) {
                    problem(
                        format!("voice.piper.{field}"),
                        format!("{value} is outside {}..={}", range.start(), range.end()),
                    );
                }
            }
        }
        let mut lines = BTreeMap::new();
        for (key, variants) in &raw.lines {
            let Some(kind) = CueKind::ALL.iter().copied().find(|k| k.as_str() == key) else {
                let known: Vec<&str> = CueKind::ALL.iter().map(|k| k.as_str()).collect();
                problem(
                    format!("lines.{key}"),
                    format!("no cue kind {key:?}; kinds are {}", known.join(", ")),
                );
                continue;
            };
            let mut parsed = Vec::new();
            for (i, line) in variants.iter().enumerate() {
                let path = format!("lines.{key}[{i}]");
                match parse_template(line) {
                    Err(message) => problem(path, message),
                    Ok(template) => {
                        for slot in template.slots() {
                            if !allowed_slots(kind).contains(&slot) {
                                let allowed: Vec<&str> =
                                    allowed_slots(kind).iter().map(|s| s.name()).collect();
                                problem(
                                    path.clone(),
                                    format!(
                                        "slot {{{}}} is not available for {key}; available: {}",
                                        slot.name(),
                                        if allowed.is_empty() {
                                            "none".to_owned()
                                        } else {
                                            allowed.join(", ")
                                        }
                                    ),
                                );
                            }
                        }
                        let lower = line.to_lowercase();
                        if let Some(bad) = forbidden_phrases(language).iter().find(|p| lower.contains(*p)) {
                            problem(
                                path.clone(),
                                format!("says {bad:?}: no persona pushes through pain or shames a runner"),
                            );
                        }
                        parsed.push((line.clone(), template));
                    }
                }
            }
            lines.insert(kind, parsed);
        }
        for kind in CueKind::ALL {
            let needed = if RARE_KINDS.contains(&kind) { MIN_VARIANTS_RARE } else { MIN_VARIANTS };
            let have = lines.get(&kind).map_or(0, Vec::len);
            if have < needed {
                problem(
                    format!("lines.{}", kind.as_str()),
                    format!("has {have} variants; every persona needs at least {needed}"),
                );
            }
            // At least one variant must be sayable whatever optional slots are missing.
            let optional_free = lines.get(&kind).is_some_and(|v| {
                v.iter().any(|(_, t)| t.slots().all(|s| matches!(s, Slot::Step) || always_filled(kind, s)))
            });
            if have > 0 && !optional_free {
                problem(
                    format!("lines.{}", kind.as_str()),
                    "needs at least one variant whose slots the engine always fills".to_owned(),
                );
            }
        }
        if raw.id.is_empty() || raw.name.trim().is_empty() {
            problem("id".into(), "a persona needs an id and a name".into());
        }
        if !problems.is_empty() {
            return Err(PersonaError::Invalid(problems));
        }
        Ok(Persona { id: raw.id, name: raw.name, language, style: raw.style, voice: raw.voice, lines })
    }

    /// Every fixed piece of text the persona can say: the text between slots of every line,
    /// and the words slots are spoken with. A voice pack records each once; numbers and units
    /// are stitched from them at run time (DESIGN §5).
    pub fn fragments(&self) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        for variants in self.lines.values() {
            for (_, template) in variants {
                for part in &template.parts {
                    if let Part::Text(text) = part {
                        let text = text.trim();
                        if text.chars().any(char::is_alphanumeric) {
                            out.insert(text.to_owned());
                        }
                    }
                }
            }
        }
        out.extend(self.language.vocabulary().into_iter().map(str::to_owned));
        out.extend(step_vocabulary(self.language).words().map(str::to_owned));
        out.into_iter().collect()
    }

    /// Every variant of a kind, as written.
    pub fn variants(&self, kind: CueKind) -> Vec<&str> {
        self.lines.get(&kind).map(|v| v.iter().map(|(l, _)| l.as_str()).collect()).unwrap_or_default()
    }

    /// The persona's words for one cue, chosen by `chooser`.
    pub fn say(&self, cue: &Cue, chooser: &mut LineChooser) -> String {
        self.line(cue, chooser).text
    }

    /// The persona's line for one cue, chosen by `chooser`: its text and its pack parts.
    pub fn line(&self, cue: &Cue, chooser: &mut LineChooser) -> Line {
        let neutral = || Line { text: neutral_text(cue), parts: vec![Spoken::Free(neutral_text(cue))] };
        let Some(variants) = self.lines.get(&cue.kind) else { return neutral() };
        let sayable: Vec<(usize, String)> = variants
            .iter()
            .enumerate()
            .filter_map(|(i, (_, t))| t.render(cue, self.language).map(|text| (i, text)))
            .collect();
        let Some(index) = chooser.choose(cue.kind, sayable.iter().map(|(i, _)| *i)) else { return neutral() };
        let mut text = capitalize_sentences(
            &sayable.into_iter().find(|(i, _)| *i == index).map(|(_, t)| t).unwrap_or_default(),
        );
        let mut parts = variants[index].1.render_parts(cue, self.language).unwrap_or_default();
        if cue.kind == CueKind::StepStart
            && let Some(note) = &cue.slots.step_note
        {
            text = join_sentences([text, note.clone()]);
            parts.push(Spoken::Free(note.clone()));
        }
        Line { text, parts }
    }

    /// The persona's words for a whole utterance.
    pub fn say_utterance(&self, utterance: &Utterance, chooser: &mut LineChooser) -> String {
        join_sentences(utterance.cues.iter().map(|c| self.say(c, chooser)))
    }
}

/// Capital letters where sentences start ("Done. Nine kilometres", not "Done. nine"; Spanish
/// "¡Diez segundos!", the opening mark leaving the sentence's start where it was).
pub(crate) fn capitalize_sentences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.push(c);
            if matches!(c, '.' | '!' | '?') {
                start = true;
            } else if !c.is_whitespace() && !matches!(c, '¡' | '¿') {
                start = false;
            }
        }
    }
    out
}

/// Which slots the engine fills every time it emits a kind.
fn always_filled(kind: CueKind, slot: Slot) -> bool {
    use Slot::*;
    match kind {
        CueKind::RunFinish | CueKind::SessionComplete => matches!(slot, Distance | Duration),
        CueKind::Countdown => slot == Duration,
        CueKind::Split => matches!(slot, SplitKm | Pace),
        CueKind::SpeedUp | CueKind::SlowDown => slot == TargetPace,
        CueKind::HrVeryHigh => slot == Bpm,
        _ => false,
    }
}

fn parse_template(line: &str) -> Result<Template, String> {
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("unclosed '{{' in {line:?}"))?;
        let name = &after[..close];
        let slot = Slot::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Slot::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown slot {{{name}}}; slots are {}", known.join(", "))
        })?;
        parts.push(Part::Slot(slot));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("stray '}}' in {line:?}"));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    if line.trim().is_empty() {
        return Err("empty line".into());
    }
    Ok(Template { parts })
}

/// Least-recently-used choice of variants with a seeded tie-break: deterministic per run, and
/// no variant of a kind repeats before all its (sayable) variants have been used.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChooser {
    seed: u64,
    turn: u64,
    last_used: BTreeMap<(CueKind, usize), u64>,
}

impl LineChooser {
    pub fn new(seed: u64) -> Self {
        Self { seed, turn: 0, last_used: BTreeMap::new() }
    }

    fn choose(&mut self, kind: CueKind, candidates: impl Iterator<Item = usize>) -> Option<usize> {
        self.turn += 1;
        let (seed, turn) = (self.seed, self.turn);
        let chosen = candidates.min_by_key(|i| {
            let used = self.last_used.get(&(kind, *i)).copied().unwrap_or(0);
            (used, mix(seed ^ (*i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (kind as u64) << 32 ^ turn))
        })?;
        self.last_used.insert((kind, chosen), turn);
        Some(chosen)
    }
}

/// The name that asks for the plain wording: no persona, no pack (the platform's speech says
/// it).
pub const NEUTRAL_PERSONA: &str = "neutral";

/// Which of a persona's lines is said is chosen with this seed wherever a run is coached (the
/// library, `pacenote replay`, `record`, the demo's audio), so one run says the same words
/// everywhere.
pub const LINE_SEED: u64 = 1;

/// The words a run is coached in — a persona's, or the plain wording — and its choice of lines
/// so far.
#[derive(Debug, Clone)]
pub struct Wording {
    persona: Option<Persona>,
    chooser: LineChooser,
}

impl Wording {
    /// `persona`'s words, or the plain wording for `None`, choosing lines with [`LINE_SEED`].
    pub fn new(persona: Option<Persona>) -> Self {
        Self { persona, chooser: LineChooser::new(LINE_SEED) }
    }

    /// A bundled persona by id, or the plain wording for [`NEUTRAL_PERSONA`].
    pub fn named(name: &str) -> Result<Self, PersonaError> {
        Self::named_in(name, Language::En)
    }

    /// [`Self::named`], the persona speaking `lang` (the plain wording is English).
    pub fn named_in(name: &str, lang: Language) -> Result<Self, PersonaError> {
        let persona = if name == NEUTRAL_PERSONA { None } else { Some(Persona::bundled_in(name, lang)?) };
        Ok(Self::new(persona))
    }

    pub fn persona(&self) -> Option<&Persona> {
        self.persona.as_ref()
    }

    /// The persona's id, or [`NEUTRAL_PERSONA`].
    pub fn name(&self) -> &str {
        self.persona.as_ref().map_or(NEUTRAL_PERSONA, |p| p.id.as_str())
    }

    /// Each cue's line (its text, and its parts for a pack to stitch; the plain wording is all
    /// free text), and the whole utterance's text.
    pub fn lines(&mut self, utterance: &Utterance) -> (String, Vec<Line>) {
        let lines: Vec<Line> = utterance
            .cues
            .iter()
            .map(|cue| match &self.persona {
                Some(p) => p.line(cue, &mut self.chooser),
                None => {
                    let text = neutral_text(cue);
                    Line { parts: vec![Spoken::Free(text.clone())], text }
                }
            })
            .collect();
        (join_sentences(lines.iter().map(|l| l.text.clone())), lines)
    }

    /// The whole utterance in these words.
    pub fn say(&mut self, utterance: &Utterance) -> String {
        self.lines(utterance).0
    }
}

/// SplitMix64's finaliser: a well-spread hash for tie-breaks.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests;

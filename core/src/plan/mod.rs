//! Session plans (DESIGN §4): what the runner is asked to do, step by step, as versioned JSON.
//!
//! A plan is read in two passes: serde reads the JSON shape (with the JSON path of any error),
//! then [`validate`] checks what serde cannot — sensible ranges, a fast end that is faster than
//! the slow end, repeats that are not absurdly large — and collects every problem with its path
//! so a person can fix a plan in one go. Nothing here guesses a default for a wrong value.
//!
//! This module must not do I/O: callers read the bytes and pass them in.

pub mod icu;
pub mod zwo;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::weather::Conditions;

use crate::speech::Language;
use crate::units::{SecondsPerKm, format_clock_s, format_distance_m};

/// The plan format this build reads and writes.
pub const PLAN_FORMAT_VERSION: u32 = 1;
/// Longest time a single step may last: a day covers any ultra's single stage.
pub const MAX_STEP_TIME_S: f64 = 24.0 * 3600.0;
/// Longest distance a single step may cover: longer than any single-stage ultra people train for.
pub const MAX_STEP_DISTANCE_M: f64 = 250_000.0;
/// Fastest pace a target may ask for. The men's mile world record is about 2:23/km, so a faster
/// target is a typo (often seconds per mile or a speed typed as a pace).
pub const FASTEST_TARGET_PACE: SecondsPerKm = SecondsPerKm(120.0);
/// Slowest pace a target may ask for: a slow walk is about 12–15 min/km.
pub const SLOWEST_TARGET_PACE: SecondsPerKm = SecondsPerKm(1200.0);
/// Heart rates outside this range are strap glitches, not physiology (DESIGN §3).
pub const HR_PLAUSIBLE_BPM: std::ops::RangeInclusive<u16> = 30..=230;
/// Heart-rate zones follow the common five-zone model (Karvonen / Friel).
pub const HR_ZONES: std::ops::RangeInclusive<u8> = 1..=5;
/// Borg CR10 rating of perceived exertion.
pub const RPE_SCALE: std::ops::RangeInclusive<u8> = 1..=10;
/// More repeats than this is a typo (1000 instead of 10), not a workout.
pub const MAX_REPEAT_TIMES: u32 = 100;
/// Repeats inside repeats inside repeats: deeper nesting is never a real workout.
pub const MAX_REPEAT_DEPTH: usize = 3;
/// Steps after expanding repeats: bounds the engine's work and the memory a plan can ask for.
pub const MAX_EXPANDED_STEPS: usize = 1000;
/// A step note is spoken at the step start; 200 characters is about 15 s of speech, already long.
pub const MAX_NOTE_CHARS: usize = 200;
/// Plan ids name files and cache keys: short, lower-case, no spaces.
pub const MAX_ID_CHARS: usize = 64;

/// A session plan: a name and the steps the runner is asked to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub version: u32,
    pub id: String,
    pub name: String,
    pub steps: Vec<PlanStep>,
    /// "Just ten minutes" (DESIGN §9, easy starts): after this much moving time the runner is
    /// told they are free to stop, and the run counts as done whether they stop or go on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_to_stop_after_s: Option<f64>,
    /// The weather expected, preloaded with the plan: pace targets are eased for heat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    /// How pace targets treat hills: grade-adjusted (the default) or raw (a flat-course race
    /// rehearsal).
    #[serde(default, skip_serializing_if = "Hills::is_default")]
    pub hills: Hills,
    /// The language the step notes are written in, where the plan says: a coach speaking
    /// another language leaves them to the phone's voice, and no note clips in the persona's
    /// voice are made or waited for (a German coach does not read English notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// How pace targets treat hills (DESIGN §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hills {
    /// Pace is judged grade-adjusted: a climb at the same effort is on target.
    #[default]
    Gap,
    /// Pace is judged as run, hills or not.
    Raw,
}

impl Hills {
    fn is_default(&self) -> bool {
        *self == Hills::Gap
    }
}

/// The shortest and longest "free to stop" point a plan may set.
pub const FREE_TO_STOP_RANGE_S: (f64, f64) = (60.0, 7200.0);

/// One entry of a plan's step list: a single step, or a block of steps repeated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PlanStep {
    Step(Step),
    Repeat(Repeat),
}

/// A single step: what kind of running, when it ends, and optionally a target and a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub end: StepEnd,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Spoken at the start of the step ("Relax your shoulders").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Steps run `repeat` times in order: `{"repeat": 5, "steps": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repeat {
    pub repeat: u32,
    pub steps: Vec<PlanStep>,
}

/// What sort of running a step is; the coach speaks and judges differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Warmup,
    Work,
    Recovery,
    Cooldown,
    Easy,
    Rest,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warmup => "warmup",
            Self::Work => "work",
            Self::Recovery => "recovery",
            Self::Cooldown => "cooldown",
            Self::Easy => "easy",
            Self::Rest => "rest",
        }
    }
}

/// When a step ends: after a time, after a distance, or when the runner presses lap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum StepEnd {
    /// Seconds of moving time (the timer stops while paused).
    #[serde(rename = "time_s")]
    Time(f64),
    /// Metres run in this step.
    #[serde(rename = "distance_m")]
    Distance(f64),
    /// Until the runner presses lap (or the run finishes).
    #[serde(rename = "open")]
    Open,
}

/// What the runner aims for during a step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// A pace band per kilometre.
    #[serde(rename = "pace")]
    Pace(PaceRange),
    /// A heart-rate zone (1–5) of the runner's profile.
    #[serde(rename = "hr_zone")]
    HrZone(u8),
    /// Heart rate in beats per minute; either bound may be left out (an HR cap has only a max).
    #[serde(rename = "hr_range")]
    HrRange(HrRange),
    /// Perceived effort on the Borg CR10 scale.
    #[serde(rename = "effort")]
    Effort(Effort),
}

/// A pace band. `fastest` has fewer seconds per km than `slowest`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaceRange {
    pub fastest: SecondsPerKm,
    pub slowest: SecondsPerKm,
}

impl PaceRange {
    /// The middle of the band, the pace a runner aiming for this target runs.
    pub fn middle(&self) -> SecondsPerKm {
        SecondsPerKm((self.fastest.0 + self.slowest.0) / 2.0)
    }
}

/// A heart-rate band; a cap has only `max_bpm`, a floor only `min_bpm`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HrRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bpm: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bpm: Option<u16>,
}

/// Rating of perceived exertion, 1 (very easy) to 10 (maximal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effort {
    pub rpe: u8,
}

/// One problem found in a plan, at a JSON path such as `steps[2].target.pace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a plan could not be read. Every variant says where and what is allowed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The bytes are not JSON of the plan's shape.
    #[error("{0}")]
    Shape(PlanProblem),
    /// The JSON has the right shape but values that cannot be coached.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<PlanProblem>),
}

impl PlanError {
    /// Every problem, one per line when printed.
    pub fn problems(&self) -> Vec<PlanProblem> {
        match self {
            Self::Shape(problem) => vec![problem.clone()],
            Self::Invalid(problems) => problems.clone(),
        }
    }
}

/// The JSON shape as written, before checking. Kept private so a `Plan` is always valid.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    version: u32,
    id: String,
    name: String,
    steps: Vec<RawStep>,
    #[serde(default)]
    free_to_stop_after_s: Option<f64>,
    #[serde(default)]
    conditions: Option<RawConditions>,
    #[serde(default)]
    hills: Hills,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditions {
    temp_c: f64,
    dew_point_c: f64,
}

/// A step as written: single steps have `kind` + `end`, repeats have `repeat` + `steps`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    kind: Option<StepKind>,
    end: Option<StepEnd>,
    target: Option<Target>,
    note: Option<String>,
    repeat: Option<u32>,
    steps: Option<Vec<RawStep>>,
}

impl Plan {
    /// Reads and checks a plan from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PlanError> {
        let mut json = serde_json::Deserializer::from_slice(bytes);
        let raw: RawPlan = serde_path_to_error::deserialize(&mut json).map_err(|err| {
            let path = err.path().to_string();
            let path = if path == "." { "plan".to_owned() } else { path };
            PlanError::Shape(PlanProblem { path, message: explain_json_error(err.inner()) })
        })?;
        let mut problems = check_header(raw.version, &raw.id, &raw.name, raw.steps.is_empty());
        let steps: Vec<PlanStep> = raw
            .steps
            .into_iter()
            .enumerate()
            .filter_map(|(i, step)| convert_step(step, &format!("steps[{i}]"), 0, &mut problems))
            .collect();
        problems.extend(check_expanded_size(&steps));
        if let Some(at) = raw.free_to_stop_after_s
            && !(at.is_finite() && (FREE_TO_STOP_RANGE_S.0..=FREE_TO_STOP_RANGE_S.1).contains(&at))
        {
            problems.push(PlanProblem {
                path: "free_to_stop_after_s".into(),
                message: format!(
                    "{at} is not a time to stop at: give seconds from {} to {}",
                    FREE_TO_STOP_RANGE_S.0, FREE_TO_STOP_RANGE_S.1
                ),
            });
        }
        let conditions = match raw.conditions.map(|c| Conditions::new(c.temp_c, c.dew_point_c)) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                problems.push(PlanProblem { path: "conditions".into(), message: e.to_string() });
                None
            }
            None => None,
        };
        let language = raw.language.as_deref().and_then(|code| {
            let language = Language::from_code(code);
            if language.is_none() {
                let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
                problems.push(PlanProblem {
                    path: "language".into(),
                    message: format!(
                        "{code:?} is not a language the coaches speak: give one of {}",
                        known.join(", ")
                    ),
                });
            }
            language
        });
        let plan = Plan {
            version: raw.version,
            id: raw.id,
            name: raw.name,
            steps,
            free_to_stop_after_s: raw.free_to_stop_after_s,
            conditions,
            hills: raw.hills,
            language,
        };
        if problems.is_empty() { Ok(plan) } else { Err(PlanError::Invalid(problems)) }
    }

    /// The plan as pretty JSON, in the form [`Plan::from_json`] reads.
    pub fn to_json_pretty(&self) -> String {
        // A Plan holds only strings, numbers and lists, so serialising it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The steps in the order they are run, repeats expanded.
    pub fn expanded_steps(&self) -> Vec<ExpandedStep> {
        let mut out = Vec::new();
        expand_into(&self.steps, "steps", &[], &mut out);
        for (index, step) in out.iter_mut().enumerate() {
            step.index = index;
        }
        out
    }

    /// The step notes the coach will read out, each once, in the order they first come: what a
    /// plan's note clips are rendered from before the run (a note known in advance is spoken in
    /// the persona's voice, not the phone's).
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = Vec::new();
        for step in self.expanded_steps() {
            if let Some(note) = step.step.note
                && !notes.contains(&note)
            {
                notes.push(note);
            }
        }
        notes
    }

    /// Whether a coach speaking `lang` voices the step notes: they are written in it, or the
    /// plan does not say.
    pub fn notes_are_in(&self, lang: Language) -> bool {
        self.language.is_none_or(|l| l == lang)
    }

    /// Leaves out the step notes when they are written in another language than `lang`: a
    /// coach speaking it would switch language mid-sentence ("Ahora viene recuperación… Jog it
    /// out."). Returns how many distinct notes were left out (0: the notes stay).
    pub fn keep_notes_for(&mut self, lang: Language) -> usize {
        if self.notes_are_in(lang) {
            return 0;
        }
        let left_out = self.notes().len();
        self.drop_notes();
        left_out
    }

    fn drop_notes(&mut self) {
        fn drop_in(steps: &mut [PlanStep]) {
            for step in steps {
                match step {
                    PlanStep::Step(step) => step.note = None,
                    PlanStep::Repeat(repeat) => drop_in(&mut repeat.steps),
                }
            }
        }
        drop_in(&mut self.steps);
    }

    /// What the plan asks for in total, for a one-line summary.
    pub fn totals(&self) -> PlanTotals {
        let mut totals = PlanTotals::default();
        for step in self.expanded_steps() {
            totals.steps += 1;
            match step.step.end {
                StepEnd::Time(s) => totals.time_s += s,
                StepEnd::Distance(m) => totals.distance_m += m,
                StepEnd::Open => totals.open_steps += 1,
            }
        }
        totals
    }
}

/// A step as it is run: its place in the plan and, inside repeats, which repetition it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandedStep {
    /// 0-based position in the run.
    pub index: usize,
    pub step: Step,
    /// JSON path of the step in the plan, for messages.
    pub path: String,
    /// Outermost first: (repetition 1-based, of how many) for each enclosing repeat.
    pub reps: Vec<(u32, u32)>,
}

impl ExpandedStep {
    /// "work 1.00 km @ 4:45–4:55/km" — what the step asks for, in a runner's words.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.step.kind.as_str(), describe_end(self.step.end));
        if let Some(target) = &self.step.target {
            text.push_str(" @ ");
            text.push_str(&describe_target(target));
        }
        if let Some(&(rep, of)) = self.reps.last() {
            text.push_str(&format!(" (rep {rep}/{of})"));
        }
        text
    }
}

/// "10:00", "1.00 km" or "until lap".
pub fn describe_end(end: StepEnd) -> String {
    match end {
        StepEnd::Time(s) => format_clock_s(s),
        StepEnd::Distance(m) => format_distance_m(m),
        StepEnd::Open => "until lap".to_owned(),
    }
}

/// "4:45–4:55/km", "HR zone 2", "HR ≤ 150", "RPE 7".
pub fn describe_target(target: &Target) -> String {
    match target {
        Target::Pace(range) => format!("{}–{}/km", range.fastest, range.slowest),
        Target::HrZone(zone) => format!("HR zone {zone}"),
        Target::HrRange(HrRange { min_bpm: Some(lo), max_bpm: Some(hi) }) => format!("HR {lo}–{hi}"),
        Target::HrRange(HrRange { min_bpm: None, max_bpm: Some(hi) }) => format!("HR ≤ {hi}"),
        Target::HrRange(HrRange { min_bpm: Some(lo), max_bpm: None }) => format!("HR ≥ {lo}"),
        Target::HrRange(HrRange { min_bpm: None, max_bpm: None }) => "HR (no bounds)".to_owned(),
        Target::Effort(effort) => format!("RPE {}", effort.rpe),
    }
}

/// Sums over a plan's expanded steps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlanTotals {
    pub steps: usize,
    pub time_s: f64,
    pub distance_m: f64,
    pub open_steps: usize,
}

impl fmt::Display for PlanTotals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.time_s > 0.0 {
            parts.push(format!("{} by time", format_clock_s(self.time_s)));
        }
        if self.distance_m > 0.0 {
            parts.push(format!("{} by distance", format_distance_m(self.distance_m)));
        }
        if self.open_steps > 0 {
            parts.push(format!("{} open (until lap)", self.open_steps));
        }
        write!(f, "{} steps: {}", self.steps, parts.join(" + "))
    }
}

fn expand_into(steps: &[PlanStep], path: &str, reps: &[(u32, u32)], out: &mut Vec<ExpandedStep>) {
    for (i, entry) in steps.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match entry {
            PlanStep::Step(step) => {
                out.push(ExpandedStep { index: 0, step: step.clone(), path: here, reps: reps.to_vec() })
            }
            PlanStep::Repeat(block) => {
                for rep in 1..=block.repeat {
                    let mut inner = reps.to_vec();
                    inner.push((rep, block.repeat));
                    expand_into(&block.steps, &format!("{here}.steps"), &inner, out);
                }
            }
        }
    }
}

/// Turns a written step into a model step, noting every problem of its shape.
fn convert_step(raw: RawStep, path: &str, depth: usize, problems: &mut Vec<PlanProblem>) -> Option<PlanStep> {
    let problem = |problems: &mut Vec<PlanProblem>, message: String| {
        problems.push(PlanProblem { path: path.to_owned(), message });
    };
    match (raw.repeat, raw.steps) {
        (None, None) => {
            let (Some(kind), Some(end)) = (raw.kind, raw.end) else {
                let missing = match (raw.kind, raw.end) {
                    (None, None) => "`kind` and `end`",
                    (None, Some(_)) => "`kind`",
                    _ => "`end`",
                };
                problem(
                    problems,
                    format!(
                        "a step needs {missing}: e.g. {{\"kind\": \"work\", \"end\": {{\"time_s\": 60}}}}, \
                         or a repeat block {{\"repeat\": 5, \"steps\": [...]}}"
                    ),
                );
                return None;
            };
            let step = Step { kind, end, target: raw.target, note: raw.note };
            validate_step(&step, path, problems);
            Some(PlanStep::Step(step))
        }
        (Some(times), Some(steps)) => {
            let stray: Vec<&str> = [
                raw.kind.map(|_| "kind"),
                raw.end.map(|_| "end"),
                raw.target.map(|_| "target"),
                raw.note.as_ref().map(|_| "note"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !stray.is_empty() {
                problem(
                    problems,
                    format!(
                        "a repeat block has only `repeat` and `steps`; move {} into its steps",
                        stray.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            if depth + 1 > MAX_REPEAT_DEPTH {
                problem(
                    problems,
                    format!("repeats are nested more than {MAX_REPEAT_DEPTH} deep; flatten the plan"),
                );
                return None;
            }
            let inner_path = format!("{path}.steps");
            check_repeat(times, steps.is_empty(), path, problems);
            let steps = steps
                .into_iter()
                .enumerate()
                .filter_map(|(i, step)| {
                    convert_step(step, &format!("{inner_path}[{i}]"), depth + 1, problems)
                })
                .collect();
            Some(PlanStep::Repeat(Repeat { repeat: times, steps }))
        }
        (Some(_), None) => {
            problem(problems, "a repeat block needs `steps`: {\"repeat\": 5, \"steps\": [...]}".into());
            None
        }
        (None, Some(_)) => {
            problem(problems, "`steps` inside a step needs `repeat` (how many times) beside it".into());
            None
        }
    }
}

/// Checks the values of a plan whose shape is right; returns every problem found.
pub fn validate(plan: &Plan) -> Vec<PlanProblem> {
    let mut problems = check_header(plan.version, &plan.id, &plan.name, plan.steps.is_empty());
    validate_steps(&plan.steps, "steps", &mut problems);
    problems.extend(check_expanded_size(&plan.steps));
    problems
}

fn check_header(version: u32, id: &str, name: &str, no_steps: bool) -> Vec<PlanProblem> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(PlanProblem { path: path.to_owned(), message });
    };
    if version != PLAN_FORMAT_VERSION {
        problem(
            "version",
            format!("version {version} is not supported; this build reads version {PLAN_FORMAT_VERSION}"),
        );
    }
    if id.is_empty()
        || id.chars().count() > MAX_ID_CHARS
        || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        problem(
            "id",
            format!(
                "id {id:?} must be 1–{MAX_ID_CHARS} characters of a–z, 0–9, '-' or '_' (e.g. \"intervals-5x1k\")"
            ),
        );
    }
    if name.trim().is_empty() {
        problem("name", "name is empty; give the session a name the runner will see".into());
    }
    if no_steps {
        problem("steps", "a plan needs at least one step".into());
    }
    problems
}

fn check_expanded_size(steps: &[PlanStep]) -> Option<PlanProblem> {
    let expanded = count_expanded(steps);
    (expanded > MAX_EXPANDED_STEPS as u64).then(|| PlanProblem {
        path: "steps".into(),
        message: format!(
            "the plan expands to {expanded} steps with its repeats; at most {MAX_EXPANDED_STEPS} are allowed"
        ),
    })
}

fn check_repeat(times: u32, no_steps: bool, path: &str, problems: &mut Vec<PlanProblem>) {
    if !(1..=MAX_REPEAT_TIMES).contains(&times) {
        problems.push(PlanProblem {
            path: format!("{path}.repeat"),
            message: format!("repeat {times} is out of range; allowed 1 to {MAX_REPEAT_TIMES}"),
        });
    }
    if no_steps {
        problems.push(PlanProblem {
            path: format!("{path}.steps"),
            message: "a repeat block needs at least one step".into(),
        });
    }
}

fn count_expanded(steps: &[PlanStep]) -> u64 {
    steps
        .iter()
        .map(|entry| match entry {
            PlanStep::Step(_) => 1,
            PlanStep::Repeat(block) => u64::from(block.repeat).saturating_mul(count_expanded(&block.steps)),
        })
        .fold(0u64, u64::saturating_add)
}

fn validate_steps(steps: &[PlanStep], path: &str, problems: &mut Vec<PlanProblem>) {
    for (i, entry) in steps.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match entry {
            PlanStep::Step(step) => validate_step(step, &here, problems),
            PlanStep::Repeat(block) => {
                check_repeat(block.repeat, block.steps.is_empty(), &here, problems);
                validate_steps(&block.steps, &format!("{here}.steps"), problems);
            }
        }
    }
}

fn validate_step(step: &Step, path: &str, problems: &mut Vec<PlanProblem>) {
    let mut problem = |field: &str, message: String| {
        problems.push(PlanProblem { path: format!("{path}.{field}"), message });
    };
    match step.end {
        StepEnd::Time(s) if !(s.is_finite() && s > 0.0 && s <= MAX_STEP_TIME_S) => problem(
            "end.time_s",
            format!("time {s} s is out of range; allowed more than 0 up to {MAX_STEP_TIME_S} s (24 h)"),
        ),
        StepEnd::Distance(m) if !(m.is_finite() && m > 0.0 && m <= MAX_STEP_DISTANCE_M) => problem(
            "end.distance_m",
            format!("distance {m} m is out of range; allowed more than 0 up to {MAX_STEP_DISTANCE_M} m"),
        ),
        _ => {}
    }
    if let Some(note) = &step.note {
        if note.trim().is_empty() {
            problem("note", "note is empty; leave `note` out instead".into());
        } else if note.chars().count() > MAX_NOTE_CHARS {
            problem(
                "note",
                format!(
                    "note is {} characters; a spoken note may have at most {MAX_NOTE_CHARS}",
                    note.chars().count()
                ),
            );
        }
    }
    match step.target {
        None => {}
        Some(Target::Pace(range)) => {
            for (field, pace) in [("fastest", range.fastest), ("slowest", range.slowest)] {
                if !(pace.0.is_finite() && pace.0 >= FASTEST_TARGET_PACE.0 && pace.0 <= SLOWEST_TARGET_PACE.0)
                {
                    problem(
                        &format!("target.pace.{field}"),
                        format!(
                            "pace {pace}/km is out of range; allowed {FASTEST_TARGET_PACE} to {SLOWEST_TARGET_PACE} per km"
                        ),
                    );
                }
            }
            if range.fastest.0 > range.slowest.0 {
                problem(
                    "target.pace",
                    format!(
                        "fastest {}/km is slower than slowest {}/km; swap them (fastest has fewer seconds per km)",
                        range.fastest, range.slowest
                    ),
                );
            }
        }
        Some(Target::HrZone(zone)) if !HR_ZONES.contains(&zone) => {
            problem(
                "target.hr_zone",
                format!("zone {zone} does not exist; allowed {} to {}", HR_ZONES.start(), HR_ZONES.end()),
            );
        }
        Some(Target::HrZone(_)) => {}
        Some(Target::HrRange(range)) => {
            if range.min_bpm.is_none() && range.max_bpm.is_none() {
                problem(
                    "target.hr_range",
                    "give `min_bpm`, `max_bpm` or both (an HR cap has only `max_bpm`)".into(),
                );
            }
            for (field, bpm) in [("min_bpm", range.min_bpm), ("max_bpm", range.max_bpm)] {
                if let Some(bpm) = bpm.filter(|b| !HR_PLAUSIBLE_BPM.contains(b)) {
                    problem(
                        &format!("target.hr_range.{field}"),
                        format!(
                            "{bpm} bpm is out of range; allowed {} to {} bpm",
                            HR_PLAUSIBLE_BPM.start(),
                            HR_PLAUSIBLE_BPM.end()
                        ),
                    );
                }
            }
            if let (Some(lo), Some(hi)) = (range.min_bpm, range.max_bpm)
                && lo >= hi
            {
                problem(
                    "target.hr_range",
                    format!("min_bpm {lo} is not below max_bpm {hi}; swap them or widen the range"),
                );
            }
        }
        Some(Target::Effort(effort)) if !RPE_SCALE.contains(&effort.rpe) => {
            problem(
                "target.effort.rpe",
                format!(
                    "RPE {} is out of range; allowed {} (very easy) to {} (maximal)",
                    effort.rpe,
                    RPE_SCALE.start(),
                    RPE_SCALE.end()
                ),
            );
        }
        Some(Target::Effort(_)) => {}
    }
}

/// serde_json's message, with its "at line L column C" kept: that is where to look.
fn explain_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => format!("the file ends early (line {}): unclosed brace or bracket?", err.line()),
        Category::Syntax => format!("not valid JSON: {err}"),
        Category::Data | Category::Io => err.to_string(),
    }
}

#[cfg(test)]
mod tests;

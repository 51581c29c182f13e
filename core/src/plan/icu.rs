//! Import of intervals.icu workout text ("Main set 5x / - 1km 4:45-4:55/km Pace") into a plan.
//!
//! What the text can say and a plan cannot (watts, percentages of a threshold we do not know,
//! ramps) is turned into the nearest thing a runner's coach can use and reported as a warning;
//! what cannot be understood at all is an error naming the line. No I/O here.

use super::{
    Effort, Hills, MAX_NOTE_CHARS, PLAN_FORMAT_VERSION, PaceRange, Plan, PlanStep, Repeat, Step, StepEnd,
    StepKind, Target, validate,
};
use crate::units::SecondsPerKm;

/// Metres in a mile.
const METRES_PER_MILE: f64 = 1609.344;
/// A single pace (not a range) becomes a band this wide either side: ±5 s/km is the usual
/// tolerance coaches give for a goal pace.
const SINGLE_PACE_HALF_BAND_S: f64 = 5.0;

/// A plan read from another format, with what was approximated on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub plan: Plan,
    /// Things the source said that the plan could only approximate, each naming its line.
    pub warnings: Vec<String>,
}

/// Why a workout could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("{0}")]
    Format(String),
    #[error("the imported plan is not valid: {0}")]
    Invalid(String),
}

/// Reads intervals.icu workout text. `id` and `name` name the resulting plan (the text has none).
pub fn import(text: &str, id: &str, name: &str) -> Result<Imported, ImportError> {
    let mut warnings = Vec::new();
    let mut steps: Vec<PlanStep> = Vec::new();
    // The open repeat block, if any: (times, steps so far, line of its header).
    let mut block: Option<(u32, Vec<PlanStep>, usize)> = None;
    let mut section = String::new();

    let close = |block: &mut Option<(u32, Vec<PlanStep>, usize)>, steps: &mut Vec<PlanStep>| {
        if let Some((times, inner, line)) = block.take() {
            if inner.is_empty() {
                return Err(ImportError::Line {
                    line,
                    message: format!("repeat {times}x has no steps under it (steps start with '-')"),
                });
            }
            steps.push(PlanStep::Repeat(Repeat { repeat: times, steps: inner }));
        }
        Ok(())
    };

    for (number, raw_line) in text.lines().enumerate() {
        let line_no = number + 1;
        let line = raw_line.trim();
        if line.is_empty() {
            close(&mut block, &mut steps)?;
            continue;
        }
        if let Some(step_text) = line.strip_prefix('-') {
            let in_repeat = block.as_ref().map(|(_, inner, _)| inner.len());
            let step = parse_step(step_text, &section, in_repeat, line_no, &mut warnings)?;
            match &mut block {
                Some((_, inner, _)) => inner.push(PlanStep::Step(step)),
                None => steps.push(PlanStep::Step(step)),
            }
            continue;
        }
        // A header line: a section name, perhaps ending in "Nx" to repeat what follows.
        close(&mut block, &mut steps)?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let times = words.last().and_then(|w| parse_repeat(w));
        match times {
            Some(Ok(times)) => {
                section = words[..words.len() - 1].join(" ");
                block = Some((times, Vec::new(), line_no));
            }
            Some(Err(message)) => return Err(ImportError::Line { line: line_no, message }),
            None => section = line.to_owned(),
        }
    }
    close(&mut block, &mut steps)?;
    if steps.is_empty() {
        return Err(ImportError::Format(
            "no steps found: intervals.icu steps are lines starting with '-', e.g. \"- 10m Z2 HR\"".into(),
        ));
    }
    let plan = Plan {
        version: PLAN_FORMAT_VERSION,
        id: id.to_owned(),
        name: name.to_owned(),
        steps,
        free_to_stop_after_s: None,
        conditions: None,
        hills: Hills::default(),
        language: None,
    };
    let problems = validate(&plan);
    if !problems.is_empty() {
        let text = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(ImportError::Invalid(text));
    }
    Ok(Imported { plan, warnings })
}

/// "5x" → Some(Ok(5)); "0x" → Some(Err); anything else → None (not a repeat marker).
fn parse_repeat(word: &str) -> Option<Result<u32, String>> {
    let digits = word.strip_suffix(['x', 'X'])?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<u32>() {
        Ok(times) if times >= 1 => Ok(times),
        _ => Err(format!("repeat count {word:?} must be a whole number from 1, e.g. 5x")),
    })
}

/// Parses "- [cue text] 10m|1km [target] [press lap]".
fn parse_step(
    text: &str,
    section: &str,
    position_in_repeat: Option<usize>,
    line: usize,
    warnings: &mut Vec<String>,
) -> Result<Step, ImportError> {
    let err = |message: String| ImportError::Line { line, message };
    let lower = text.to_ascii_lowercase();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut end = None;
    let mut cue_words = Vec::new();
    let mut rest_start = tokens.len();
    for (i, token) in tokens.iter().enumerate() {
        if let Some(parsed) = parse_length(token) {
            end = Some(parsed.map_err(err)?);
            rest_start = i + 1;
            break;
        }
        cue_words.push(*token);
    }
    let Some(mut end) = end else {
        return Err(err(format!(
            "step {:?} has no duration or distance (e.g. 10m, 30s, 1h5m, 1km, 400mtr, 1mi)",
            text.trim()
        )));
    };
    let rest: Vec<&str> = tokens[rest_start..].to_vec();
    let rest_lower: Vec<String> = rest.iter().map(|t| t.to_ascii_lowercase()).collect();
    if lower.contains("press lap") {
        end = StepEnd::Open;
    }
    if rest_lower.iter().any(|t| t == "ramp") {
        warnings.push(format!("line {line}: a ramp is imported as one target at its middle"));
    }
    let target = parse_target(&rest, &rest_lower, line, warnings)?;
    let cue = cue_words.join(" ");
    let kind = infer_kind(&cue, section, position_in_repeat, target.as_ref());
    let note = (!cue.is_empty()).then(|| cue.chars().take(MAX_NOTE_CHARS).collect());
    Ok(Step { kind, end, target, note })
}

/// A duration ("10m", "1h5m30s", "1m30", "5'", "30\"", "1'30\"") or a distance ("1km", "400mtr",
/// "1.5mi"). `None` when the token is not a length at all.
fn parse_length(token: &str) -> Option<Result<StepEnd, String>> {
    let t = token.to_ascii_lowercase();
    for (suffix, metres) in [("km", 1000.0), ("mtr", 1.0), ("mi", METRES_PER_MILE)] {
        if let Some(number) = t.strip_suffix(suffix)
            && let Ok(value) = number.parse::<f64>()
        {
            return Some(if value.is_finite() && value > 0.0 {
                Ok(StepEnd::Distance(value * metres))
            } else {
                Err(format!("distance {token:?} must be more than zero"))
            });
        }
    }
    parse_duration_s(&t).map(|seconds| {
        if seconds > 0.0 {
            Ok(StepEnd::Time(seconds))
        } else {
            Err(format!("duration {token:?} must be more than zero"))
        }
    })
}

/// Seconds in "1h5m30s", "10m", "1m30", "5'", "30\"", "1'30\"".
fn parse_duration_s(t: &str) -> Option<f64> {
    let t = t.replace('\'', "m").replace('"', "s");
    let mut total = 0.0;
    let mut number = String::new();
    let mut last_unit = None;
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += value * unit;
        last_unit = Some(c);
    }
    if !number.is_empty() {
        // "1m30": trailing seconds after minutes.
        if last_unit != Some('m') {
            return None;
        }
        total += number.parse::<f64>().ok()?;
    }
    last_unit.map(|_| total)
}

fn parse_target(
    rest: &[&str],
    lower: &[String],
    line: usize,
    warnings: &mut Vec<String>,
) -> Result<Option<Target>, ImportError> {
    let has = |word: &str| lower.iter().any(|t| t == word);
    // Absolute pace: "4:45/km", "4:45-4:55/km", "7:00/mi", "5:00" (followed by "Pace").
    for token in rest {
        if token.contains(':') {
            let (paces, per_m) = match token.split_once('/') {
                Some((p, unit)) => (
                    p,
                    pace_unit_m(unit).ok_or_else(|| ImportError::Line {
                        line,
                        message: format!("pace unit /{unit} is not one a runner's plan uses; use /km or /mi"),
                    })?,
                ),
                None => (*token, 1000.0),
            };
            let mut bounds = Vec::new();
            for part in paces.split('-') {
                let pace = SecondsPerKm::parse_min_sec(part).ok_or_else(|| ImportError::Line {
                    line,
                    message: format!("pace {part:?} is not m:ss"),
                })?;
                bounds.push(pace.0 * 1000.0 / per_m);
            }
            let (fast, slow) = match bounds.as_slice() {
                [one] => (one - SINGLE_PACE_HALF_BAND_S, one + SINGLE_PACE_HALF_BAND_S),
                [a, b] => (a.min(*b), a.max(*b)),
                _ => {
                    return Err(ImportError::Line {
                        line,
                        message: format!("pace {token:?} is not m:ss or m:ss-m:ss"),
                    });
                }
            };
            return Ok(Some(Target::Pace(PaceRange {
                fastest: SecondsPerKm(fast.round()),
                slowest: SecondsPerKm(slow.round()),
            })));
        }
    }
    // Zones: "Z2 HR" is a heart-rate zone; "Z2" or "Z2 Pace" need zones we do not know.
    for token in lower {
        let Some(zones) = token.strip_prefix('z') else { continue };
        let first = zones.split('-').next().unwrap_or_default();
        let Ok(zone) = first.parse::<u8>() else { continue };
        if zones.contains('-') {
            warnings.push(format!("line {line}: zone range {token} is imported as its lower zone Z{zone}"));
        }
        if has("hr") {
            return Ok(Some(Target::HrZone(zone)));
        }
        warnings.push(format!(
            "line {line}: Z{zone} without HR is a pace or power zone this plan cannot know; imported as effort"
        ));
        return Ok(Some(Target::Effort(Effort { rpe: rpe_for_zone(zone) })));
    }
    // Percentages of a threshold (FTP, threshold pace, max HR): only an effort can be kept.
    for token in lower {
        let Some(number) = token.strip_suffix('%') else { continue };
        let top = number.rsplit('-').next().unwrap_or_default();
        let Ok(percent) = top.parse::<f64>() else { continue };
        warnings.push(format!(
            "line {line}: {token} of a threshold needs the runner's thresholds; imported as effort"
        ));
        return Ok(Some(Target::Effort(Effort { rpe: rpe_for_intensity(percent / 100.0) })));
    }
    if lower.iter().any(|t| t.ends_with('w') && t[..t.len() - 1].parse::<f64>().is_ok()) {
        warnings.push(format!("line {line}: a power target in watts is dropped (no power meter is used)"));
    }
    Ok(None)
}

/// Metres one pace unit stands for.
fn pace_unit_m(unit: &str) -> Option<f64> {
    match unit.to_ascii_lowercase().as_str() {
        "km" => Some(1000.0),
        "mi" => Some(METRES_PER_MILE),
        "400m" => Some(400.0),
        _ => None,
    }
}

/// Rough RPE for a five-zone model: Z1 very easy … Z5 very hard (Borg CR10 descriptors).
pub(crate) fn rpe_for_zone(zone: u8) -> u8 {
    match zone {
        0 | 1 => 2,
        2 => 3,
        3 => 5,
        4 => 7,
        _ => 9,
    }
}

/// Rough RPE for an intensity as a fraction of threshold (1.0 = threshold, about RPE 7–8).
pub(crate) fn rpe_for_intensity(fraction: f64) -> u8 {
    match fraction {
        f if f < 0.65 => 2,
        f if f < 0.75 => 3,
        f if f < 0.85 => 4,
        f if f < 0.92 => 5,
        f if f < 0.98 => 6,
        f if f < 1.03 => 7,
        f if f < 1.10 => 8,
        f if f < 1.20 => 9,
        _ => 10,
    }
}

/// The step kind from the words the workout uses, falling back on position in a repeat.
fn infer_kind(
    cue: &str,
    section: &str,
    position_in_repeat: Option<usize>,
    target: Option<&Target>,
) -> StepKind {
    let words = format!("{cue} {section}").to_ascii_lowercase();
    let said = |keys: &[&str]| keys.iter().any(|k| words.contains(k));
    if said(&["warm"]) {
        StepKind::Warmup
    } else if said(&["cool"]) {
        StepKind::Cooldown
    } else if said(&["recover", "jog", "float"]) {
        StepKind::Recovery
    } else if said(&["rest", "walk"]) {
        StepKind::Rest
    } else if said(&["easy"]) {
        StepKind::Easy
    } else {
        match position_in_repeat {
            Some(0) => StepKind::Work,
            Some(_) => StepKind::Recovery,
            None => match target {
                Some(Target::Effort(Effort { rpe })) if *rpe < 5 => StepKind::Easy,
                Some(Target::HrZone(zone)) if *zone <= 2 => StepKind::Easy,
                None => StepKind::Easy,
                Some(_) => StepKind::Work,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WORKOUT: &str = "Warmup\n- 10m Z2 HR\n\nMain set 5x\n- Strong 1km 4:55-4:45/km Pace\n- 2m Z1 HR\n\nCooldown\n- 5m30s Z1 HR press lap\n";

    #[test]
    fn imports_sections_repeats_paces_and_zones() {
        let imported = import(WORKOUT, "icu-test", "ICU test").expect("imports");
        let steps = imported.plan.expanded_steps();
        assert_eq!(steps.len(), 12);
        assert_eq!(steps[0].step.kind, StepKind::Warmup);
        assert_eq!(steps[0].step.end, StepEnd::Time(600.0));
        assert_eq!(steps[0].step.target, Some(Target::HrZone(2)));
        assert_eq!(steps[1].step.kind, StepKind::Work);
        assert_eq!(steps[1].step.end, StepEnd::Distance(1000.0));
        assert_eq!(
            steps[1].step.target,
            Some(Target::Pace(PaceRange { fastest: SecondsPerKm(285.0), slowest: SecondsPerKm(295.0) }))
        );
        assert_eq!(steps[1].step.note.as_deref(), Some("Strong"));
        assert_eq!(steps[2].step.kind, StepKind::Recovery);
        assert_eq!(steps[11].step.kind, StepKind::Cooldown);
        assert_eq!(steps[11].step.end, StepEnd::Open);
        assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    }

    #[test]
    fn durations_and_distances() {
        assert_eq!(parse_duration_s("1h5m30s"), Some(3930.0));
        assert_eq!(parse_duration_s("1m30"), Some(90.0));
        assert_eq!(parse_duration_s("1m30s"), Some(90.0));
        assert_eq!(parse_duration_s("1'30\""), Some(90.0));
        assert_eq!(parse_duration_s("z2"), None);
        assert_eq!(parse_duration_s("30"), None);
        assert_eq!(parse_length("400mtr"), Some(Ok(StepEnd::Distance(400.0))));
        assert_eq!(parse_length("1mi"), Some(Ok(StepEnd::Distance(METRES_PER_MILE))));
    }

    #[test]
    fn mile_paces_convert_to_km() {
        let imported = import("- 2mi 8:00/mi Pace", "m", "Miles").expect("imports");
        let Some(Target::Pace(range)) = imported.plan.expanded_steps()[0].step.target else {
            panic!("no pace target");
        };
        // 8:00/mi is 4:58/km.
        assert_eq!(range.middle().0.round(), 298.0);
    }

    #[test]
    fn errors_name_the_line() {
        let err = import("Warmup\n- easy Z2 HR\n", "x", "X").unwrap_err();
        assert_eq!(err.to_string().split(':').next(), Some("line 2"));
        let err = import("Main 3x\n\n- 1m Z2 HR", "x", "X").unwrap_err();
        assert!(err.to_string().starts_with("line 1: repeat 3x has no steps"), "{err}");
        assert!(import("just words", "x", "X").is_err());
        let err = import("- 1km 4:45/furlong Pace", "x", "X").unwrap_err();
        assert!(err.to_string().contains("/furlong"), "{err}");
    }

    #[test]
    fn approximations_are_warned_about() {
        let imported = import("- 10m ramp 60-80% Pace\n- 20m 220w", "x", "X").expect("imports");
        assert_eq!(imported.warnings.len(), 3, "{:?}", imported.warnings);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "[-a-zA-Z0-9 :/%'\"\\.\n]{0,200}") {
            let _ = import(&text, "p", "P");
        }
    }
}

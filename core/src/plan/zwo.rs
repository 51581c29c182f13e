//! Import of Zwift workout files (.zwo, XML) into a plan.
//!
//! Zwift gives run intensities as a fraction of the runner's threshold speed. With the runner's
//! threshold pace those become pace bands; without it they become efforts (RPE), and the import
//! says so in a warning. No I/O here: callers pass the file's text.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::icu::{ImportError, Imported, rpe_for_intensity};
use super::{
    Effort, Hills, MAX_NOTE_CHARS, PLAN_FORMAT_VERSION, PaceRange, Plan, PlanStep, Repeat, Step, StepEnd,
    StepKind, Target, validate,
};
use crate::units::SecondsPerKm;

/// A steady block becomes a band this far either side of its pace: ±2.5 % of speed is what a
/// runner can hold on feel and what Zwift's own run targets allow.
const PACE_BAND_FRACTION: f64 = 0.025;
/// Steady blocks at or above this fraction of threshold are work; below, easy running.
const WORK_INTENSITY: f64 = 0.85;
/// Nesting limit for the XML reader: a workout file is three levels deep.
const MAX_XML_DEPTH: usize = 16;

/// Reads a .zwo workout. `threshold_pace` turns intensities into pace bands when given.
pub fn import(
    text: &str,
    fallback_id: &str,
    threshold_pace: Option<SecondsPerKm>,
) -> Result<Imported, ImportError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut warnings = Vec::new();
    let mut steps: Vec<PlanStep> = Vec::new();
    let mut name = String::new();
    let mut sport = String::new();
    let mut by_distance = false;
    let mut stack: Vec<String> = Vec::new();
    let mut saw_root = false;
    let mut in_workout = false;

    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| ImportError::Format(format!("not well-formed XML near byte {position}: {e}")))?;
        match event {
            Event::Start(tag) => {
                let local = local_name(&tag);
                if stack.is_empty() {
                    if local != "workout_file" {
                        return Err(ImportError::Format(format!(
                            "root element is <{local}>, a Zwift workout starts with <workout_file>"
                        )));
                    }
                    saw_root = true;
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(ImportError::Format("elements nested too deep for a workout".into()));
                }
                if in_workout && stack.last().is_some_and(|s| s == "workout") {
                    steps.extend(block_steps(&tag, by_distance, threshold_pace, &mut warnings)?);
                }
                if local == "workout" {
                    in_workout = true;
                }
                stack.push(local);
            }
            Event::Empty(tag) => {
                let local = local_name(&tag);
                if in_workout && stack.last().is_some_and(|s| s == "workout") {
                    steps.extend(block_steps(&tag, by_distance, threshold_pace, &mut warnings)?);
                } else if local == "textevent" || local == "TextEvent" {
                    attach_text_event(&tag, &mut steps)?;
                }
            }
            Event::Text(text) => {
                let value = text.xml10_content().trim().to_owned();
                match stack.last().map(String::as_str) {
                    Some("name") => name = value,
                    Some("sportType") => sport = value.to_ascii_lowercase(),
                    Some("durationType") => by_distance = value.eq_ignore_ascii_case("distance"),
                    _ => {}
                }
            }
            Event::End(_) => in_workout &= stack.pop().as_deref() != Some("workout"),
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(ImportError::Format("no <workout_file> element: not a Zwift workout".into()));
    }
    if !sport.is_empty() && sport != "run" {
        return Err(ImportError::Format(format!(
            "<sportType> is {sport:?}; only run workouts can be coached"
        )));
    }
    if steps.is_empty() {
        return Err(ImportError::Format("<workout> has no steps".into()));
    }
    if threshold_pace.is_none() {
        warnings.push(
            "no threshold pace given: intensities are imported as efforts (RPE); \
             pass --threshold-pace M:SS for pace targets"
                .into(),
        );
    }
    let name = if name.is_empty() { fallback_id.to_owned() } else { name };
    let plan = Plan {
        version: PLAN_FORMAT_VERSION,
        id: slug(fallback_id),
        name,
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

/// A plan id from a file stem: lower case, other characters to '-'.
pub fn slug(text: &str) -> String {
    let mut id: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    id.truncate(super::MAX_ID_CHARS);
    if id.is_empty() { "imported".to_owned() } else { id }
}

fn local_name(tag: &BytesStart<'_>) -> String {
    tag.local_name().as_ref().to_owned()
}

/// Reads an attribute as a number, naming the element and attribute when it is not one.
fn number(tag: &BytesStart<'_>, key: &str) -> Result<Option<f64>, ImportError> {
    for attr in tag.attributes() {
        let attr =
            attr.map_err(|e| ImportError::Format(format!("bad attribute in <{}>: {e}", local_name(tag))))?;
        if attr.key.local_name().as_ref().eq_ignore_ascii_case(key) {
            let value = attr.value.to_string();
            return match value.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(ImportError::Format(format!(
                    "<{} {key}=\"{value}\">: {key} must be a number",
                    local_name(tag)
                ))),
            };
        }
    }
    Ok(None)
}

fn required(tag: &BytesStart<'_>, key: &str) -> Result<f64, ImportError> {
    number(tag, key)?
        .ok_or_else(|| ImportError::Format(format!("<{}> has no {key} attribute", local_name(tag))))
}

/// The plan steps one workout element stands for.
fn block_steps(
    tag: &BytesStart<'_>,
    by_distance: bool,
    threshold: Option<SecondsPerKm>,
    warnings: &mut Vec<String>,
) -> Result<Vec<PlanStep>, ImportError> {
    let element = local_name(tag);
    let end = |amount: f64| -> Result<StepEnd, ImportError> {
        if amount.is_nan() || amount <= 0.0 {
            return Err(ImportError::Format(format!(
                "<{element}> has a length of {amount}; it must be more than zero"
            )));
        }
        Ok(if by_distance { StepEnd::Distance(amount) } else { StepEnd::Time(amount) })
    };
    let single = |kind, end, target| vec![PlanStep::Step(Step { kind, end, target, note: None })];
    let ramp_middle = |tag: &BytesStart<'_>| -> Result<Option<f64>, ImportError> {
        Ok(match (number(tag, "PowerLow")?, number(tag, "PowerHigh")?) {
            (Some(lo), Some(hi)) => Some((lo + hi) / 2.0),
            (one, other) => one.or(other).or(number(tag, "Power")?),
        })
    };
    Ok(match element.as_str() {
        "Warmup" | "Cooldown" | "Ramp" => {
            let kind = match element.as_str() {
                "Warmup" => StepKind::Warmup,
                "Cooldown" => StepKind::Cooldown,
                _ => StepKind::Work,
            };
            let intensity = ramp_middle(tag)?;
            single(kind, end(required(tag, "Duration")?)?, intensity.map(|i| target(i, threshold)))
        }
        "SteadyState" => {
            let intensity = number(tag, "Power")?.or(ramp_middle(tag)?);
            let kind = match intensity {
                Some(i) if i >= WORK_INTENSITY => StepKind::Work,
                _ => StepKind::Easy,
            };
            single(kind, end(required(tag, "Duration")?)?, intensity.map(|i| target(i, threshold)))
        }
        "IntervalsT" => {
            let times = required(tag, "Repeat")?;
            if !(times >= 1.0 && times.fract() == 0.0 && times <= f64::from(u32::MAX)) {
                return Err(ImportError::Format(format!(
                    "<IntervalsT Repeat=\"{times}\">: Repeat must be a whole number from 1"
                )));
            }
            let on = Step {
                kind: StepKind::Work,
                end: end(required(tag, "OnDuration")?)?,
                target: number(tag, "OnPower")?.map(|i| target(i, threshold)),
                note: None,
            };
            let off = Step {
                kind: StepKind::Recovery,
                end: end(required(tag, "OffDuration")?)?,
                target: number(tag, "OffPower")?.map(|i| target(i, threshold)),
                note: None,
            };
            vec![PlanStep::Repeat(Repeat {
                repeat: times as u32,
                steps: vec![PlanStep::Step(on), PlanStep::Step(off)],
            })]
        }
        "FreeRide" | "Freeride" => single(StepKind::Easy, end(required(tag, "Duration")?)?, None),
        "MaxEffort" => {
            single(StepKind::Work, end(required(tag, "Duration")?)?, Some(Target::Effort(Effort { rpe: 10 })))
        }
        other => {
            warnings.push(format!("<{other}> is not a workout block this import knows; skipped"));
            Vec::new()
        }
    })
}

/// The target for an intensity (fraction of threshold speed).
fn target(intensity: f64, threshold: Option<SecondsPerKm>) -> Target {
    match threshold {
        Some(pace) if intensity > 0.0 => {
            let middle = pace.0 / intensity;
            Target::Pace(PaceRange {
                fastest: SecondsPerKm((middle / (1.0 + PACE_BAND_FRACTION)).round()),
                slowest: SecondsPerKm((middle / (1.0 - PACE_BAND_FRACTION)).round()),
            })
        }
        _ => Target::Effort(Effort { rpe: rpe_for_intensity(intensity) }),
    }
}

/// A `<textevent message="...">` inside a block becomes the note of that block's last step.
fn attach_text_event(tag: &BytesStart<'_>, steps: &mut [PlanStep]) -> Result<(), ImportError> {
    let mut message = None;
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| ImportError::Format(format!("bad attribute in <textevent>: {e}")))?;
        if attr.key.local_name().as_ref() == "message" {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| ImportError::Format(format!("bad text in <textevent message>: {e}")))?;
            message = Some(value.trim().chars().take(MAX_NOTE_CHARS).collect::<String>());
        }
    }
    let Some(message) = message.filter(|m| !m.is_empty()) else { return Ok(()) };
    let mut last = steps.last_mut();
    while let Some(PlanStep::Repeat(block)) = last {
        last = block.steps.first_mut();
    }
    if let Some(PlanStep::Step(step)) = last
        && step.note.is_none()
    {
        step.note = Some(message);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WORKOUT: &str = r#"<workout_file>
  <author>Coach</author>
  <name>Threshold 4x5</name>
  <sportType>run</sportType>
  <workout>
    <Warmup Duration="600" PowerLow="0.55" PowerHigh="0.75" pace="0">
      <textevent timeoffset="0" message="Ease into it"/>
    </Warmup>
    <IntervalsT Repeat="4" OnDuration="300" OffDuration="90" OnPower="1.0" OffPower="0.6"/>
    <SteadyState Duration="300" Power="0.7"/>
    <Cooldown Duration="300" PowerLow="0.7" PowerHigh="0.5"/>
  </workout>
</workout_file>"#;

    #[test]
    fn imports_blocks_with_a_threshold_pace() {
        let imported = import(WORKOUT, "threshold", Some(SecondsPerKm(240.0))).expect("imports");
        assert_eq!(imported.plan.name, "Threshold 4x5");
        let steps = imported.plan.expanded_steps();
        assert_eq!(steps.len(), 1 + 8 + 1 + 1);
        assert_eq!(steps[0].step.kind, StepKind::Warmup);
        assert_eq!(steps[0].step.note.as_deref(), Some("Ease into it"));
        assert_eq!(steps[1].step.kind, StepKind::Work);
        let Some(Target::Pace(range)) = steps[1].step.target else { panic!("no pace") };
        assert!(range.fastest.0 < 240.0 && range.slowest.0 > 240.0, "{range:?}");
        assert_eq!(steps[2].step.kind, StepKind::Recovery);
        assert_eq!(steps[9].step.kind, StepKind::Easy);
        assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    }

    #[test]
    fn without_threshold_imports_efforts_and_says_so() {
        let imported = import(WORKOUT, "threshold", None).expect("imports");
        assert!(matches!(imported.plan.expanded_steps()[1].step.target, Some(Target::Effort(_))));
        assert_eq!(imported.warnings.len(), 1);
    }

    #[test]
    fn rejects_what_is_not_a_run_workout() {
        assert!(import("<gpx/>", "x", None).unwrap_err().to_string().contains("<workout_file>"));
        let bike = WORKOUT.replace("<sportType>run", "<sportType>bike");
        assert!(import(&bike, "x", None).unwrap_err().to_string().contains("only run"));
        let broken = WORKOUT.replace("Duration=\"600\"", "Duration=\"ten\"");
        assert!(import(&broken, "x", None).unwrap_err().to_string().contains("Duration"));
        assert!(import("<workout_file><workout>", "x", None).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "[<>/=\" a-zA-Z0-9\\.]{0,200}") {
            let _ = import(&text, "p", None);
        }
    }
}

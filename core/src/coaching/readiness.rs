//! The pre-run readiness check: recovery before discipline (DESIGN §9).
//!
//! From this morning's numbers and how the runner feels, propose running as planned, easy,
//! resting, or seeing a professional — with the reasons in words. The runner decides; the
//! engine swaps the session for an easy one only when asked ([`easy_version`]).
//!
//! Must not: diagnose, or ever suggest pushing through pain.

use serde::{Deserialize, Serialize};

use crate::plan::{Plan, Step, StepKind, Target};

/// Resting HR this far above the runner's baseline, on two or more mornings, points to
/// incomplete recovery, illness or overreaching. Source: Achten & Jeukendrup 2003, "Heart rate
/// monitoring: applications and limitations" (Sports Med 33:517) — a morning rise of ~5 bpm or
/// more; Jeukendrup's and Friel's practical guidance use 5–7 bpm.
pub const RESTING_HR_RISE_BPM: f64 = 5.0;
/// …and this far above, on a single morning, is enough on its own to go easy.
pub const RESTING_HR_RISE_ONE_MORNING_BPM: f64 = 7.0;
/// Morning HRV (rMSSD) below baseline − this many SD: train easy that day. Source: Kiviniemi
/// et al. 2007, "Endurance training guided individually by daily heart rate variability
/// measurements" (Eur J Appl Physiol 101:743); Plews et al. 2013 (Sports Med 43:773).
pub const HRV_LOW_SD: f64 = 1.0;
/// HRV this many SD below baseline together with an elevated resting HR: rest. (Both markers
/// of a stressed autonomic system at once; Plews et al. 2013.)
pub const HRV_VERY_LOW_SD: f64 = 2.0;
/// Two or more nights of poor sleep in a row: go easy. Source: Fullagar et al. 2015, "Sleep
/// and athletic performance" (Sports Med 45:161) — performance and perceived effort suffer
/// after consecutive short nights.
pub const POOR_SLEEP_NIGHTS: u32 = 2;
/// Pain that has lasted this many days is a reason to see a professional, not to run.
/// Source: overuse-injury guidance (e.g. Hreljac 2004, "Impact and overuse injuries in
/// runners", Med Sci Sports Exerc 36:845): pain persisting beyond a few days, or changing how
/// you run, needs assessment.
pub const PAIN_DAYS_SEE_PROFESSIONAL: u32 = 3;
/// How many of the soft signs (heavy legs, dread, poor sleep, a raised resting HR, low HRV)
/// together turn "easy" into "rest".
pub const SOFT_SIGNS_FOR_REST: usize = 3;

/// This morning's check, as the app collects it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MorningCheck {
    pub resting_hr_bpm: Option<f64>,
    pub baseline_resting_hr_bpm: Option<f64>,
    /// Mornings in a row (including today) with resting HR ≥ baseline + 5 bpm; 1 when only
    /// today's reading is known.
    #[serde(default)]
    pub raised_resting_hr_mornings: Option<u32>,
    pub hrv_ms: Option<f64>,
    pub baseline_hrv_ms: Option<f64>,
    pub hrv_sd_ms: Option<f64>,
    #[serde(default)]
    pub poor_sleep_nights: u32,
    #[serde(default)]
    pub heavy_legs: bool,
    #[serde(default)]
    pub dread: bool,
    /// Days in a row something has hurt (0: no pain).
    #[serde(default)]
    pub pain_days: u32,
}

/// What the coach proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    AsPlanned,
    Easy,
    Rest,
    SeeProfessional,
}

/// The proposal and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub recommendation: Recommendation,
    pub reasons: Vec<String>,
}

/// A problem with the numbers given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadinessError {
    #[error("{field} is {value}: {expected}")]
    OutOfRange { field: &'static str, value: f64, expected: &'static str },
    #[error("{given} needs {needs} as well")]
    Incomplete { given: &'static str, needs: &'static str },
}

impl MorningCheck {
    fn validate(&self) -> Result<(), ReadinessError> {
        let check = |field, value: Option<f64>, lo: f64, hi: f64, expected| match value {
            Some(v) if !(v.is_finite() && (lo..=hi).contains(&v)) => {
                Err(ReadinessError::OutOfRange { field, value: v, expected })
            }
            _ => Ok(()),
        };
        check("resting HR", self.resting_hr_bpm, 25.0, 150.0, "expected 25–150 bpm")?;
        check("baseline resting HR", self.baseline_resting_hr_bpm, 25.0, 150.0, "expected 25–150 bpm")?;
        check("HRV", self.hrv_ms, 1.0, 500.0, "expected an rMSSD of 1–500 ms")?;
        check("baseline HRV", self.baseline_hrv_ms, 1.0, 500.0, "expected an rMSSD of 1–500 ms")?;
        check("HRV SD", self.hrv_sd_ms, 0.1, 300.0, "expected 0.1–300 ms")?;
        if self.resting_hr_bpm.is_some() != self.baseline_resting_hr_bpm.is_some() {
            return Err(ReadinessError::Incomplete {
                given: "a resting HR",
                needs: "both today's and the baseline",
            });
        }
        if self.hrv_ms.is_some() && (self.baseline_hrv_ms.is_none() || self.hrv_sd_ms.is_none()) {
            return Err(ReadinessError::Incomplete { given: "HRV", needs: "its baseline and SD" });
        }
        Ok(())
    }
}

/// The readiness rules. Pain that persists comes first; then each soft sign is counted.
pub fn assess(check: &MorningCheck) -> Result<Readiness, ReadinessError> {
    check.validate()?;
    let mut reasons = Vec::new();
    if check.pain_days >= PAIN_DAYS_SEE_PROFESSIONAL {
        reasons.push(format!(
            "pain for {} days: get it looked at by a physio or doctor before running on it",
            check.pain_days
        ));
        return Ok(Readiness { recommendation: Recommendation::SeeProfessional, reasons });
    }
    let mut soft = 0;
    let mut rest = false;
    if check.pain_days > 0 {
        reasons
            .push("something hurts: rest today, and see someone if it is still there in a few days".into());
        rest = true;
    }
    let raised = match (check.resting_hr_bpm, check.baseline_resting_hr_bpm) {
        (Some(today), Some(base)) => today - base,
        _ => 0.0,
    };
    let mornings = check.raised_resting_hr_mornings.unwrap_or(1);
    let hr_raised =
        raised >= RESTING_HR_RISE_ONE_MORNING_BPM || (raised >= RESTING_HR_RISE_BPM && mornings >= 2);
    if hr_raised {
        soft += 1;
        reasons.push(format!("resting heart rate {raised:.0} bpm above your baseline"));
    }
    let hrv_z = match (check.hrv_ms, check.baseline_hrv_ms, check.hrv_sd_ms) {
        (Some(today), Some(base), Some(sd)) => Some((today - base) / sd),
        _ => None,
    };
    if let Some(z) = hrv_z.filter(|z| *z < -HRV_LOW_SD) {
        soft += 1;
        reasons.push(format!("HRV {:.1} SD below your baseline", -z));
        if z < -HRV_VERY_LOW_SD && hr_raised {
            rest = true;
            reasons.push(
                "low HRV and a raised resting heart rate together: your body is asking for rest".into(),
            );
        }
    }
    if check.poor_sleep_nights >= POOR_SLEEP_NIGHTS {
        soft += 1;
        reasons.push(format!("{} nights of poor sleep", check.poor_sleep_nights));
    }
    if check.heavy_legs {
        soft += 1;
        reasons.push("heavy legs".into());
    }
    if check.dread {
        soft += 1;
        reasons.push("dreading the session".into());
    }
    let recommendation = if rest || soft >= SOFT_SIGNS_FOR_REST {
        Recommendation::Rest
    } else if soft > 0 {
        Recommendation::Easy
    } else {
        Recommendation::AsPlanned
    };
    if recommendation == Recommendation::AsPlanned {
        reasons.push("nothing says you need to hold back today".into());
    }
    Ok(Readiness { recommendation, reasons })
}

/// How long the easy version of a session lasts: the planned session's length, capped, since an
/// easy day is about recovery, not volume.
pub const EASY_VERSION_MAX_S: f64 = 40.0 * 60.0;
/// …and at least this long (a short easy run still counts).
pub const EASY_VERSION_MIN_S: f64 = 15.0 * 60.0;
/// The HR cap of an easy run, as a share of max HR: below the first ventilatory threshold for
/// most runners (Seiler 2010, "What is best practice for training intensity and duration
/// distribution in endurance athletes?", IJSPP 5:276 — zone 1 below ~80 % HRmax, so 75 %
/// keeps it conversational).
pub const EASY_HR_CAP_SHARE_OF_MAX: f64 = 0.75;

/// The pace a planned session's distance steps are timed at when it is swapped for an easy
/// one (a typical easy pace; only the easy run's length depends on it, and that is capped).
pub const EASY_SWAP_PACE_S_PER_KM: f64 = 390.0;

/// [`easy_version`] of `plan`, its distance steps timed at [`EASY_SWAP_PACE_S_PER_KM`].
pub fn easy_instead(plan: &Plan, max_hr_bpm: Option<f64>) -> Plan {
    easy_version(plan, planned_seconds(plan, EASY_SWAP_PACE_S_PER_KM), max_hr_bpm)
}

/// How long a plan takes, with distance steps run at `pace_s_per_km` (open steps count 0).
pub fn planned_seconds(plan: &Plan, pace_s_per_km: f64) -> f64 {
    crate::progress::PlanProgress::new(plan)
        .steps()
        .iter()
        .map(|s| match s.step.end {
            crate::plan::StepEnd::Time(t) => t,
            crate::plan::StepEnd::Distance(m) => m / 1000.0 * pace_s_per_km,
            crate::plan::StepEnd::Open => 0.0,
        })
        .sum()
}

/// The runner chose to go easy: the planned session swapped for one easy step of about the
/// same time (capped), under an HR cap when the max HR is known, otherwise by feel.
pub fn easy_version(plan: &Plan, planned_s_at_easy_pace: f64, max_hr_bpm: Option<f64>) -> Plan {
    let seconds = planned_s_at_easy_pace.clamp(EASY_VERSION_MIN_S, EASY_VERSION_MAX_S).round();
    let target = match max_hr_bpm {
        Some(max) => Target::HrRange(crate::plan::HrRange {
            min_bpm: None,
            max_bpm: Some((max * EASY_HR_CAP_SHARE_OF_MAX).round() as u16),
        }),
        None => Target::Effort(crate::plan::Effort { rpe: 3 }),
    };
    Plan {
        version: plan.version,
        id: format!("{}-easy", plan.id),
        name: format!("{} (easy version)", plan.name),
        steps: vec![crate::plan::PlanStep::Step(Step {
            kind: StepKind::Easy,
            end: crate::plan::StepEnd::Time(seconds),
            target: Some(target),
            note: Some("Easy today, as you chose. Conversational pace the whole way.".into()),
        })],
        free_to_stop_after_s: None,
        conditions: plan.conditions,
        hills: plan.hills,
        // The note above is English.
        language: Some(crate::speech::Language::En),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn morning() -> MorningCheck {
        MorningCheck { resting_hr_bpm: Some(50.0), baseline_resting_hr_bpm: Some(50.0), ..Default::default() }
    }

    #[test]
    fn a_normal_morning_runs_as_planned() {
        let r = assess(&morning()).expect("valid");
        assert_eq!(r.recommendation, Recommendation::AsPlanned);
    }

    #[test]
    fn resting_hr_up_six_on_two_mornings_goes_easy_but_one_morning_does_not() {
        let one =
            MorningCheck { resting_hr_bpm: Some(56.0), raised_resting_hr_mornings: Some(1), ..morning() };
        assert_eq!(assess(&one).expect("valid").recommendation, Recommendation::AsPlanned);
        let two = MorningCheck { raised_resting_hr_mornings: Some(2), ..one };
        let r = assess(&two).expect("valid");
        assert_eq!(r.recommendation, Recommendation::Easy);
        assert!(r.reasons[0].contains("6 bpm"), "{:?}", r.reasons);
        let big = MorningCheck { resting_hr_bpm: Some(58.0), ..one };
        assert_eq!(assess(&big).expect("valid").recommendation, Recommendation::Easy);
    }

    #[test]
    fn low_hrv_goes_easy_and_with_raised_hr_rests() {
        let low = MorningCheck {
            hrv_ms: Some(50.0),
            baseline_hrv_ms: Some(65.0),
            hrv_sd_ms: Some(8.0),
            ..morning()
        };
        assert_eq!(assess(&low).expect("valid").recommendation, Recommendation::Easy);
        let very_low = MorningCheck {
            hrv_ms: Some(45.0),
            resting_hr_bpm: Some(58.0),
            raised_resting_hr_mornings: Some(2),
            ..low
        };
        assert_eq!(assess(&very_low).expect("valid").recommendation, Recommendation::Rest);
    }

    #[test]
    fn sleep_legs_and_dread_add_up() {
        let sleep = MorningCheck { poor_sleep_nights: 2, ..morning() };
        assert_eq!(assess(&sleep).expect("valid").recommendation, Recommendation::Easy);
        let one_night = MorningCheck { poor_sleep_nights: 1, ..morning() };
        assert_eq!(assess(&one_night).expect("valid").recommendation, Recommendation::AsPlanned);
        let three = MorningCheck { heavy_legs: true, dread: true, ..sleep };
        assert_eq!(assess(&three).expect("valid").recommendation, Recommendation::Rest);
    }

    #[test]
    fn pain_rests_and_persistent_pain_sees_a_professional() {
        let today = MorningCheck { pain_days: 1, ..morning() };
        assert_eq!(assess(&today).expect("valid").recommendation, Recommendation::Rest);
        let lasting = MorningCheck { pain_days: 4, heavy_legs: true, ..morning() };
        let r = assess(&lasting).expect("valid");
        assert_eq!(r.recommendation, Recommendation::SeeProfessional);
        assert!(r.reasons.iter().all(|s| !s.contains("push")), "{:?}", r.reasons);
    }

    #[test]
    fn bad_numbers_say_what_is_wrong() {
        let nan = MorningCheck { resting_hr_bpm: Some(f64::NAN), ..morning() };
        assert!(assess(&nan).is_err());
        let half = MorningCheck { baseline_resting_hr_bpm: None, ..morning() };
        let e = assess(&half).expect_err("incomplete").to_string();
        assert!(e.contains("baseline"), "{e}");
        let hrv = MorningCheck { hrv_ms: Some(60.0), ..morning() };
        assert!(assess(&hrv).expect_err("no baseline").to_string().contains("SD"));
    }

    #[test]
    fn the_easy_version_is_one_capped_easy_step() {
        let plan = Plan::from_json(crate::BUNDLED_PLANS[1].1.as_bytes()).expect("bundled plan");
        let easy = easy_version(&plan, 3600.0, Some(190.0));
        assert_eq!(easy.steps.len(), 1);
        let crate::plan::PlanStep::Step(step) = &easy.steps[0] else { panic!("a step") };
        assert_eq!(step.kind, StepKind::Easy);
        assert_eq!(step.end, crate::plan::StepEnd::Time(EASY_VERSION_MAX_S));
        assert!(matches!(step.target, Some(Target::HrRange(r)) if r.max_bpm == Some(143)));
        // 5 × 1 km with warm-up and cool-down is over half an hour at 6:30/km.
        assert!(planned_seconds(&plan, 390.0) > 1800.0);
        let by_feel = easy_version(&plan, 600.0, None);
        let crate::plan::PlanStep::Step(step) = &by_feel.steps[0] else { panic!("a step") };
        assert_eq!(step.end, crate::plan::StepEnd::Time(EASY_VERSION_MIN_S));
    }
}

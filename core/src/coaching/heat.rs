//! Pace targets in the heat: slower by how hot and humid it is (DESIGN §9, "Weather").
//!
//! Runners overheat when the air is both warm and humid; the simple, widely used measure is
//! temperature plus dew point (in °F). The table is Mark Hadley's ("Temperature + dew point",
//! published with Runner's World's hot-weather pacing advice and used by the Hansons and
//! McMillan calculators): no change up to 100, then a growing share of pace, and above 180 hard
//! running is not advised at all. Short repeats heat the body less: half the adjustment.
//!
//! Must not: make a target faster, or adjust by anything but the conditions given.

use crate::plan::{Plan, PlanStep, Step, StepEnd, Target};
use crate::units::SecondsPerKm;
pub use crate::weather::{Conditions, HeatError};

/// (temperature + dew point in °F, pace slower by %), Hadley's table at the top of each band;
/// straight lines between.
pub const HADLEY_TABLE: [(f64, f64); 9] = [
    (100.0, 0.0),
    (110.0, 0.5),
    (120.0, 1.0),
    (130.0, 2.0),
    (140.0, 3.0),
    (150.0, 4.5),
    (160.0, 6.0),
    (170.0, 8.0),
    (180.0, 10.0),
];
/// Above this sum Hadley advises against hard running: the coach proposes an easy run.
pub const TOO_HOT_SUM_F: f64 = 180.0;
/// A repeat this short (time) or shorter (distance below) counts as a short repeat: half the
/// adjustment (Hadley: "for intervals, use half").
pub const SHORT_REPEAT_MAX_S: f64 = 180.0;
pub const SHORT_REPEAT_MAX_M: f64 = 800.0;

impl Conditions {
    /// How much slower to run, in % of pace, for continuous running.
    pub fn slowdown_pct(&self) -> f64 {
        let sum = self.sum_f();
        let mut previous = (HADLEY_TABLE[0].0, 0.0);
        for (at, pct) in HADLEY_TABLE {
            if sum <= at {
                let share = if at > previous.0 { (sum - previous.0) / (at - previous.0) } else { 0.0 };
                return (previous.1 + share.clamp(0.0, 1.0) * (pct - previous.1)).max(0.0);
            }
            previous = (at, pct);
        }
        HADLEY_TABLE[HADLEY_TABLE.len() - 1].1
    }

    /// Whether it is too hot for hard running.
    pub fn too_hot(&self) -> bool {
        self.sum_f() > TOO_HOT_SUM_F
    }
}

/// Whether a step is a short repeat (half the adjustment).
pub fn is_short_repeat(step: &Step) -> bool {
    match step.end {
        StepEnd::Time(s) => s <= SHORT_REPEAT_MAX_S,
        StepEnd::Distance(m) => m <= SHORT_REPEAT_MAX_M,
        StepEnd::Open => false,
    }
}

/// The plan with every pace target slowed for the conditions (short repeats by half), and
/// the adjustment for continuous running in %.
pub fn adjust_plan(plan: &Plan, conditions: &Conditions) -> (Plan, f64) {
    let pct = conditions.slowdown_pct();
    let steps = plan.steps.iter().map(|item| adjust_item(item, pct)).collect();
    (Plan { steps, ..plan.clone() }, pct)
}

fn adjust_item(item: &PlanStep, pct: f64) -> PlanStep {
    match item {
        PlanStep::Step(step) => {
            let mut step = step.clone();
            let share = if is_short_repeat(&step) { 0.5 } else { 1.0 };
            if let Some(Target::Pace(range)) = step.target.as_mut() {
                let factor = 1.0 + share * pct / 100.0;
                range.fastest = SecondsPerKm(range.fastest.0 * factor);
                range.slowest = SecondsPerKm(range.slowest.0 * factor);
            }
            PlanStep::Step(step)
        }
        PlanStep::Repeat(block) => {
            let mut block = block.clone();
            block.steps = block.steps.iter().map(|item| adjust_item(item, pct)).collect();
            PlanStep::Repeat(block)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_at_its_anchors_and_between() {
        // 15 °C / 5 °C: 59 + 41 = 100 °F → no change.
        assert_eq!(Conditions::new(15.0, 5.0).expect("ok").slowdown_pct(), 0.0);
        // 25 °C / 20 °C: 77 + 68 = 145 °F → halfway between 3 % and 4.5 %.
        let warm = Conditions::new(25.0, 20.0).expect("ok");
        assert!((warm.sum_f() - 145.0).abs() < 1e-9);
        assert!((warm.slowdown_pct() - 3.75).abs() < 1e-9);
        // 35 °C / 27 °C: 95 + 80.6 > 175 → 9 %+, not yet "too hot"; 38/30 is.
        assert!(Conditions::new(35.0, 27.0).expect("ok").slowdown_pct() > 9.0);
        assert!(Conditions::new(38.0, 30.0).expect("ok").too_hot());
        assert_eq!(Conditions::new(-5.0, -10.0).expect("ok").slowdown_pct(), 0.0);
    }

    #[test]
    fn impossible_weather_is_refused() {
        assert!(Conditions::new(f64::NAN, 10.0).is_err());
        assert!(Conditions::new(20.0, 25.0).is_err());
        assert!(Conditions::new(70.0, 10.0).is_err());
    }

    #[test]
    fn short_repeats_get_half_the_adjustment() {
        let plan = Plan::from_json(
            br#"{"version":1,"id":"h","name":"h","steps":[
                {"kind":"work","end":{"time_s":1200},"target":{"pace":{"fastest":"5:00","slowest":"5:10"}}},
                {"repeat":4,"steps":[{"kind":"work","end":{"distance_m":400},"target":{"pace":{"fastest":"4:00","slowest":"4:10"}}},
                                     {"kind":"recovery","end":{"time_s":90}}]}]}"#,
        )
        .expect("valid plan");
        let warm = Conditions::new(25.0, 20.0).expect("ok");
        let (hot, pct) = adjust_plan(&plan, &warm);
        assert!((pct - 3.75).abs() < 1e-9);
        let PlanStep::Step(tempo) = &hot.steps[0] else { panic!("step") };
        let Some(Target::Pace(r)) = tempo.target else { panic!("pace") };
        assert!((r.fastest.0 - 300.0 * 1.0375).abs() < 1e-9);
        let PlanStep::Repeat(block) = &hot.steps[1] else { panic!("repeat") };
        let PlanStep::Step(rep) = &block.steps[0] else { panic!("step") };
        let Some(Target::Pace(r)) = rep.target else { panic!("pace") };
        assert!((r.fastest.0 - 240.0 * 1.01875).abs() < 1e-9);
    }
}

//! Adapt, don't punish (DESIGN §9): after a layoff the next session restarts smaller and
//! slower; missed runs are never made up; repeated missed targets lead to changing the goal,
//! not to more pressure.
//!
//! Must not: add sessions, make anything harder, or speak of missed runs as failures.

use serde::Serialize;

use crate::plan::{Plan, PlanStep, StepEnd, StepKind, Target};
use crate::units::SecondsPerKm;

/// Fitness kept after days off without cross-training, as a factor on VDOT (Daniels, Daniels'
/// Running Formula, 3rd ed., "Time off" table, FVDOT-1); straight lines between rows.
pub const VDOT_AFTER_DAYS_OFF: [(u32, f64); 14] = [
    (5, 1.000),
    (6, 0.997),
    (7, 0.994),
    (10, 0.985),
    (14, 0.973),
    (21, 0.952),
    (28, 0.931),
    (35, 0.910),
    (42, 0.889),
    (49, 0.868),
    (56, 0.847),
    (63, 0.826),
    (70, 0.805),
    (72, 0.800),
];

/// Share of the planned volume for the first sessions back (Daniels' return-to-running
/// guidance: up to 5 days off, carry on; up to 4 weeks, start at half load; longer, at about
/// a third, building back over the following weeks).
pub const VOLUME_AFTER_DAYS_OFF: [(u32, f64); 3] = [(5, 1.0), (28, 0.5), (u32::MAX, 0.33)];

/// Missed targets in a row after which the coach proposes changing the goal (a goal the runner
/// keeps missing erodes self-efficacy — Bandura 1997; goals must stay hard *and* attainable —
/// Locke & Latham 2002, "Building a practically useful theory of goal setting", Am Psychol 57:705).
pub const MISSED_TARGETS_FOR_GOAL_CHANGE: u32 = 3;

/// The VDOT factor after `days_off`.
pub fn vdot_factor(days_off: u32) -> f64 {
    let mut previous = VDOT_AFTER_DAYS_OFF[0];
    if days_off <= previous.0 {
        return 1.0;
    }
    for (days, factor) in VDOT_AFTER_DAYS_OFF {
        if days_off <= days {
            let share = f64::from(days_off - previous.0) / f64::from(days - previous.0);
            return previous.1 + share * (factor - previous.1);
        }
        previous = (days, factor);
    }
    previous.1
}

/// The share of the planned volume for the next session after `days_off`.
pub fn volume_factor(days_off: u32) -> f64 {
    VOLUME_AFTER_DAYS_OFF.iter().find(|(days, _)| days_off <= *days).map_or(0.33, |(_, f)| *f)
}

/// Oxygen cost of running at `v_m_per_min` (Daniels & Gilbert 1979, "Oxygen Power"):
/// VO₂ = −4.60 + 0.182258 v + 0.000104 v², ml/kg/min.
fn oxygen_cost(v_m_per_min: f64) -> f64 {
    -4.60 + 0.182258 * v_m_per_min + 0.000104 * v_m_per_min * v_m_per_min
}

/// The speed whose oxygen cost is `vo2` (the positive root of the cost formula).
fn speed_for_cost(vo2: f64) -> f64 {
    let (a, b, c) = (0.000104, 0.182258, -4.60 - vo2);
    (-b + (b * b - 4.0 * a * c).sqrt()) / (2.0 * a)
}

/// A pace run at the same share of a VDOT scaled by `factor`: the oxygen cost scales, and the
/// pace follows from the cost formula.
pub fn scale_pace(pace: SecondsPerKm, factor: f64) -> SecondsPerKm {
    if factor == 1.0 {
        return pace;
    }
    let v = 60_000.0 / pace.0;
    let scaled = speed_for_cost(oxygen_cost(v) * factor);
    // Whole seconds: what a runner reads on a watch.
    SecondsPerKm((60_000.0 / scaled).round())
}

/// What adaptation proposes for the next session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adaptation {
    pub days_off: u32,
    pub vdot_factor: f64,
    pub volume_factor: f64,
    /// The next session, smaller and slower.
    pub plan: Plan,
    /// Always 0: missed runs are not added to the sessions ahead.
    pub missed_runs_added: u32,
    /// Proposals to change the goal, when targets keep being missed.
    pub goal_proposals: Vec<GoalProposal>,
    pub notes: Vec<String>,
}

/// A way to change a goal that keeps being missed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum GoalProposal {
    /// Same goal, later.
    Timeline { weeks_later: u32 },
    /// Same kind of goal, smaller: e.g. 5 % slower.
    Magnitude { easier_by_pct: f64 },
    /// A process goal the runner controls instead ("run four days a week").
    Type { process_goal: String },
}

/// How much later and how much smaller the proposals make a goal.
const PROPOSAL_WEEKS_LATER: u32 = 4;
const PROPOSAL_EASIER_PCT: f64 = 5.0;

/// The next session after `days_off` (volume and paces scaled), and goal proposals after
/// `missed_targets` missed in a row.
pub fn adapt(plan: &Plan, days_off: u32, missed_targets: u32) -> Adaptation {
    let vdot = vdot_factor(days_off);
    let volume = volume_factor(days_off);
    let steps = plan.steps.iter().map(|s| scale_item(s, vdot, volume)).collect();
    let mut notes = Vec::new();
    if days_off > VDOT_AFTER_DAYS_OFF[0].0 {
        notes.push(format!(
            "{days_off} days off: paces eased to {:.1} % of your fitness and the session cut to {:.0} % — welcome back",
            vdot * 100.0,
            volume * 100.0
        ));
    }
    notes.push("missed runs are behind you: nothing is added to make them up".to_owned());
    let goal_proposals = if missed_targets >= MISSED_TARGETS_FOR_GOAL_CHANGE {
        notes.push(format!(
            "the last {missed_targets} targets were out of reach: let's change the goal, not push harder"
        ));
        vec![
            GoalProposal::Timeline { weeks_later: PROPOSAL_WEEKS_LATER },
            GoalProposal::Magnitude { easier_by_pct: PROPOSAL_EASIER_PCT },
            GoalProposal::Type { process_goal: "run four days a week, any pace".to_owned() },
        ]
    } else {
        Vec::new()
    };
    Adaptation {
        days_off,
        vdot_factor: vdot,
        volume_factor: volume,
        plan: Plan { steps, ..plan.clone() },
        missed_runs_added: 0,
        goal_proposals,
        notes,
    }
}

fn scale_item(item: &PlanStep, vdot: f64, volume: f64) -> PlanStep {
    match item {
        PlanStep::Step(step) => {
            let mut step = step.clone();
            // Warm-up, recovery and cool-down keep their length: it is the work that restarts
            // small, not the care around it.
            let volume = if matches!(step.kind, StepKind::Work | StepKind::Easy) { volume } else { 1.0 };
            step.end = match step.end {
                StepEnd::Time(s) => StepEnd::Time((s * volume).round().max(60.0)),
                StepEnd::Distance(m) => StepEnd::Distance((m * volume / 10.0).round().max(10.0) * 10.0),
                StepEnd::Open => StepEnd::Open,
            };
            if let Some(Target::Pace(range)) = step.target.as_mut() {
                range.fastest = scale_pace(range.fastest, vdot);
                range.slowest = scale_pace(range.slowest, vdot);
            }
            PlanStep::Step(step)
        }
        PlanStep::Repeat(block) => {
            let mut block = block.clone();
            // Fewer repeats rather than shorter ones: the rep keeps its purpose.
            block.repeat = ((f64::from(block.repeat) * volume).round() as u32).max(1);
            block.steps = block.steps.iter().map(|s| scale_item(s, vdot, 1.0)).collect();
            PlanStep::Repeat(block)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daniels_table_at_its_rows_and_between() {
        assert_eq!(vdot_factor(3), 1.0);
        assert!((vdot_factor(7) - 0.994).abs() < 1e-12);
        assert!((vdot_factor(14) - 0.973).abs() < 1e-12);
        assert!((vdot_factor(28) - 0.931).abs() < 1e-12);
        assert!((vdot_factor(12) - (0.985 + 0.5 * (0.973 - 0.985))).abs() < 1e-12);
        assert_eq!(vdot_factor(400), 0.8);
    }

    #[test]
    fn paces_slow_with_fitness_lost() {
        // 5:00/km with 2.7 % less VDOT: the oxygen cost formula gives about 5:07.
        let slower = scale_pace(SecondsPerKm(300.0), 0.973);
        assert!(slower.0 > 305.0 && slower.0 < 310.0, "{}", slower.0);
        assert_eq!(scale_pace(SecondsPerKm(300.0), 1.0).0.round(), 300.0);
    }

    #[test]
    fn a_two_week_layoff_halves_the_session_and_eases_the_paces() {
        let plan = Plan::from_json(crate::BUNDLED_PLANS[1].1.as_bytes()).expect("bundled");
        let a = adapt(&plan, 14, 0);
        assert_eq!(a.volume_factor, 0.5);
        assert_eq!(a.missed_runs_added, 0);
        assert!(a.goal_proposals.is_empty());
        let reps = |p: &Plan| {
            p.steps.iter().find_map(|s| if let PlanStep::Repeat(r) = s { Some(r.repeat) } else { None })
        };
        assert!(reps(&a.plan) < reps(&plan), "fewer repeats");
        // No step gets harder: every pace is the same or slower.
        let paces = |p: &Plan| {
            crate::progress::PlanProgress::new(p)
                .steps()
                .iter()
                .filter_map(
                    |s| if let Some(Target::Pace(r)) = s.step.target { Some(r.fastest.0) } else { None },
                )
                .collect::<Vec<_>>()
        };
        let (before, after) = (paces(&plan), paces(&a.plan));
        assert!(after.iter().zip(&before).all(|(a, b)| a > b));
    }

    #[test]
    fn repeated_misses_propose_timeline_magnitude_and_type() {
        let plan = Plan::from_json(crate::BUNDLED_PLANS[2].1.as_bytes()).expect("bundled");
        assert!(adapt(&plan, 0, 2).goal_proposals.is_empty());
        let a = adapt(&plan, 0, 3);
        assert_eq!(a.goal_proposals.len(), 3);
        assert!(matches!(a.goal_proposals[2], GoalProposal::Type { .. }));
        assert_eq!(a.plan, plan, "no layoff: the session is unchanged");
    }
}

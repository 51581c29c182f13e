//! Plan progress: which step the runner is on, when each step ends, kilometre splits and
//! pauses, from the run clock, the distance run so far, lap presses and pause/resume.
//!
//! Step ends and splits are placed on the exact millisecond by linear interpolation between
//! updates, so a 1 Hz feed still gives a step change "on the second". Time steps count moving
//! time only: a paused timer does not eat into a rep. This is pure state: no I/O, no clock of
//! its own; bad input (time going backwards, non-finite distance) is ignored, never a panic.

use crate::plan::{ExpandedStep, Plan, StepEnd};
use crate::units::METRES_PER_KM;

/// Something that happened to the runner's place in the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProgressEvent {
    /// Step `index` (0-based, repeats expanded) began.
    StepStarted { index: usize, at_ms: u64, distance_m: f64, moving_ms: u64 },
    /// Kilometre `km` (1-based) was completed in `split_ms` of moving time.
    Split { km: u32, at_ms: u64, split_ms: u64 },
    /// The timer stopped (by the runner or auto-pause).
    Paused { at_ms: u64 },
    /// The timer started again.
    Resumed { at_ms: u64 },
    /// The last step ended; the runner may keep running.
    PlanComplete { at_ms: u64, distance_m: f64, moving_ms: u64 },
}

/// Where the runner is in a plan.
#[derive(Debug, Clone)]
pub struct PlanProgress {
    steps: Vec<ExpandedStep>,
    /// Index of the step being run; `steps.len()` once the plan is complete.
    current: usize,
    started: bool,
    paused: bool,
    /// Last update: run clock, distance, moving time (all f64 so interpolation does not drift).
    last_ms: f64,
    distance_m: f64,
    moving_ms: f64,
    step_start_distance_m: f64,
    step_start_moving_ms: f64,
    /// Moving time when the last kilometre was completed.
    last_split_moving_ms: f64,
    next_split_m: f64,
    /// The last total distance the caller reported, and how much of it was covered while
    /// paused (which does not count).
    last_reported_m: f64,
    paused_offset_m: f64,
}

/// A point on the straight line between two updates.
#[derive(Debug, Clone, Copy)]
struct Point {
    at_ms: f64,
    distance_m: f64,
    moving_ms: f64,
}

impl PlanProgress {
    pub fn new(plan: &Plan) -> Self {
        Self {
            steps: plan.expanded_steps(),
            current: 0,
            started: false,
            paused: false,
            last_ms: 0.0,
            distance_m: 0.0,
            moving_ms: 0.0,
            step_start_distance_m: 0.0,
            step_start_moving_ms: 0.0,
            last_split_moving_ms: 0.0,
            next_split_m: METRES_PER_KM,
            last_reported_m: 0.0,
            paused_offset_m: 0.0,
        }
    }

    /// The steps of the plan, repeats expanded.
    pub fn steps(&self) -> &[ExpandedStep] {
        &self.steps
    }

    /// The step being run, or `None` once the plan is complete.
    pub fn current_step(&self) -> Option<&ExpandedStep> {
        self.steps.get(self.current)
    }

    pub fn is_complete(&self) -> bool {
        self.current >= self.steps.len()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Distance run so far in metres.
    pub fn distance_m(&self) -> f64 {
        self.distance_m
    }

    /// Moving time so far in milliseconds.
    pub fn moving_ms(&self) -> u64 {
        self.moving_ms as u64
    }

    /// Starts the run at `at_ms` with the first step.
    pub fn start(&mut self, at_ms: u64) -> Vec<ProgressEvent> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        self.last_ms = at_ms as f64;
        let mut events = Vec::new();
        if !self.steps.is_empty() {
            events.push(ProgressEvent::StepStarted { index: 0, at_ms, distance_m: 0.0, moving_ms: 0 });
        }
        events
    }

    /// Moves the run clock to `at_ms` with `distance_m` run in total so far.
    pub fn update(&mut self, at_ms: u64, distance_m: f64) -> Vec<ProgressEvent> {
        let mut events = self.start(at_ms);
        let at = at_ms as f64;
        if at < self.last_ms {
            return events;
        }
        let reported =
            if distance_m.is_finite() { distance_m.max(self.last_reported_m) } else { self.last_reported_m };
        if self.paused {
            self.paused_offset_m += reported - self.last_reported_m;
        }
        self.last_reported_m = reported;
        let from = Point { at_ms: self.last_ms, distance_m: self.distance_m, moving_ms: self.moving_ms };
        let to = Point {
            at_ms: at,
            distance_m: reported - self.paused_offset_m,
            moving_ms: self.moving_ms + if self.paused { 0.0 } else { at - self.last_ms },
        };
        self.advance(from, to, &mut events);
        self.last_ms = to.at_ms;
        self.distance_m = to.distance_m;
        self.moving_ms = to.moving_ms;
        events
    }

    /// Stops the timer at `at_ms` (distance and moving time stop counting).
    pub fn pause(&mut self, at_ms: u64, distance_m: f64) -> Vec<ProgressEvent> {
        let mut events = self.update(at_ms, distance_m);
        if !self.paused {
            self.paused = true;
            events.push(ProgressEvent::Paused { at_ms });
        }
        events
    }

    /// Starts the timer again at `at_ms`; `distance_m` is the total so far, so distance
    /// recorded while paused does not count.
    pub fn resume(&mut self, at_ms: u64, distance_m: f64) -> Vec<ProgressEvent> {
        let mut events = self.update(at_ms, distance_m);
        if self.paused {
            self.paused = false;
            events.push(ProgressEvent::Resumed { at_ms });
        }
        events
    }

    /// The runner pressed lap: an open step ends; other steps are unaffected.
    pub fn lap(&mut self, at_ms: u64, distance_m: f64) -> Vec<ProgressEvent> {
        let mut events = self.update(at_ms, distance_m);
        if self.current_step().is_some_and(|s| s.step.end == StepEnd::Open) {
            let here = Point { at_ms: self.last_ms, distance_m: self.distance_m, moving_ms: self.moving_ms };
            self.next_step(here, &mut events);
        }
        events
    }

    /// The runner skipped the step: it ends now, whatever its kind.
    pub fn skip(&mut self, at_ms: u64, distance_m: f64) -> Vec<ProgressEvent> {
        let mut events = self.update(at_ms, distance_m);
        if !self.is_complete() {
            let here = Point { at_ms: self.last_ms, distance_m: self.distance_m, moving_ms: self.moving_ms };
            self.next_step(here, &mut events);
        }
        events
    }

    /// Where the runner is in the current step: (moving ms, metres) since it started.
    pub fn step_elapsed(&self) -> (u64, f64) {
        (
            (self.moving_ms - self.step_start_moving_ms).max(0.0) as u64,
            (self.distance_m - self.step_start_distance_m).max(0.0),
        )
    }

    /// Follows the line from `from` to `to`, emitting step ends and splits in time order.
    fn advance(&mut self, from: Point, to: Point, events: &mut Vec<ProgressEvent>) {
        let mut from = from;
        loop {
            let step_end = self.current_step().and_then(|s| match s.step.end {
                StepEnd::Time(seconds) => {
                    fraction(from.moving_ms, to.moving_ms, self.step_start_moving_ms + seconds * 1000.0)
                }
                StepEnd::Distance(metres) => {
                    fraction(from.distance_m, to.distance_m, self.step_start_distance_m + metres)
                }
                StepEnd::Open => None,
            });
            let split = fraction(from.distance_m, to.distance_m, self.next_split_m);
            let (f, is_split) = match (step_end, split) {
                (None, None) => return,
                (Some(s), Some(k)) if k < s => (k, true),
                (Some(s), _) => (s, false),
                (None, Some(k)) => (k, true),
            };
            let here = Point {
                at_ms: from.at_ms + f * (to.at_ms - from.at_ms),
                distance_m: from.distance_m + f * (to.distance_m - from.distance_m),
                moving_ms: from.moving_ms + f * (to.moving_ms - from.moving_ms),
            };
            if is_split {
                let km = (self.next_split_m / METRES_PER_KM).round() as u32;
                events.push(ProgressEvent::Split {
                    km,
                    at_ms: here.at_ms.round() as u64,
                    split_ms: (here.moving_ms - self.last_split_moving_ms).round() as u64,
                });
                self.last_split_moving_ms = here.moving_ms;
                self.next_split_m += METRES_PER_KM;
                // The split sits exactly on the kilometre; do not find it again.
                from = Point { distance_m: self.next_split_m - METRES_PER_KM, ..here };
            } else {
                self.next_step(here, events);
                from = here;
            }
        }
    }

    fn next_step(&mut self, here: Point, events: &mut Vec<ProgressEvent>) {
        self.current += 1;
        self.step_start_distance_m = here.distance_m;
        self.step_start_moving_ms = here.moving_ms;
        let at_ms = here.at_ms.round() as u64;
        let moving_ms = here.moving_ms.round() as u64;
        if self.current < self.steps.len() {
            events.push(ProgressEvent::StepStarted {
                index: self.current,
                at_ms,
                distance_m: here.distance_m,
                moving_ms,
            });
        } else if self.current == self.steps.len() {
            events.push(ProgressEvent::PlanComplete { at_ms, distance_m: here.distance_m, moving_ms });
        }
    }
}

/// Where along `from..to` the value `mark` is reached, as a fraction in (0, 1]; `None` if not
/// reached. A mark already passed (at `from` exactly) counts as reached at once.
fn fraction(from: f64, to: f64, mark: f64) -> Option<f64> {
    if mark <= from {
        return Some(0.0);
    }
    if to < mark || to <= from {
        return None;
    }
    Some((mark - from) / (to - from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan(json: &str) -> Plan {
        Plan::from_json(json.as_bytes()).expect("valid plan")
    }

    const INTERVALS: &str = r#"{"version":1,"id":"t","name":"T","steps":[
        {"kind":"warmup","end":{"time_s":60}},
        {"repeat":2,"steps":[
            {"kind":"work","end":{"distance_m":400}},
            {"kind":"recovery","end":{"time_s":30}}]},
        {"kind":"cooldown","end":"open"}]}"#;

    /// Runs at `speed_mps` with 1 Hz updates for `seconds`.
    fn run(progress: &mut PlanProgress, speed_mps: f64, seconds: u64) -> Vec<ProgressEvent> {
        (0..=seconds).flat_map(|s| progress.update(s * 1000, s as f64 * speed_mps)).collect()
    }

    #[test]
    fn steps_end_on_time_and_distance_between_samples() {
        let mut progress = PlanProgress::new(&plan(INTERVALS));
        let events = run(&mut progress, 4.0, 330);
        let starts: Vec<(usize, u64)> = events
            .iter()
            .filter_map(|e| match e {
                ProgressEvent::StepStarted { index, at_ms, .. } => Some((*index, *at_ms)),
                _ => None,
            })
            .collect();
        // 60 s warm-up, 400 m at 4 m/s = 100 s, 30 s recovery, twice, then the open cool-down.
        assert_eq!(starts, vec![(0, 0), (1, 60_000), (2, 160_000), (3, 190_000), (4, 290_000), (5, 320_000)]);
        assert_eq!(progress.current_step().map(|s| s.index), Some(5));
        let done = progress.lap(331_000, 1324.0);
        assert!(matches!(done.as_slice(), [ProgressEvent::PlanComplete { at_ms: 331_000, .. }]));
        assert!(progress.is_complete());
    }

    #[test]
    fn splits_are_interpolated_and_pauses_stop_the_clock() {
        let mut progress = PlanProgress::new(&plan(INTERVALS));
        let mut events = progress.update(0, 0.0);
        events.extend(progress.update(200_000, 900.0));
        events.extend(progress.pause(200_000, 900.0));
        // Distance while paused does not count, nor does the time.
        events.extend(progress.resume(260_000, 950.0));
        events.extend(progress.update(280_000, 1050.0));
        let split = events.iter().find_map(|e| match e {
            ProgressEvent::Split { km, at_ms, split_ms } => Some((*km, *at_ms, *split_ms)),
            _ => None,
        });
        // The 50 m covered while paused do not count, so the first kilometre ends at 280 s
        // after 220 s of moving time.
        assert_eq!(split, Some((1, 280_000, 220_000)));
        assert!(events.contains(&ProgressEvent::Paused { at_ms: 200_000 }));
        assert!(events.contains(&ProgressEvent::Resumed { at_ms: 260_000 }));
        assert_eq!(progress.moving_ms(), 220_000);
    }

    #[test]
    fn bad_input_is_ignored() {
        let mut progress = PlanProgress::new(&plan(INTERVALS));
        progress.update(10_000, 50.0);
        assert!(progress.update(5_000, 80.0).is_empty());
        progress.update(11_000, f64::NAN);
        progress.update(12_000, -5.0);
        assert_eq!(progress.distance_m(), 50.0);
    }

    proptest! {
        #[test]
        fn step_starts_are_in_order_and_never_panic(
            updates in proptest::collection::vec((0u64..5_000, -10.0f64..50.0), 0..300)
        ) {
            let mut progress = PlanProgress::new(&plan(INTERVALS));
            let (mut t, mut d) = (0u64, 0.0f64);
            let mut last_start = 0u64;
            let mut last_index = 0usize;
            for (dt, dd) in updates {
                t += dt;
                d += dd;
                for event in progress.update(t, d) {
                    if let ProgressEvent::StepStarted { index, at_ms, .. } = event {
                        prop_assert!(at_ms >= last_start && at_ms <= t);
                        prop_assert!(index >= last_index);
                        last_start = at_ms;
                        last_index = index;
                    }
                }
            }
        }
    }
}

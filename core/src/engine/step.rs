//! Coaching within one step: its targets (pace band, heart-rate zone, the early-rep check),
//! its countdown and halfway mark, and the speeds that become the next rep's reference.
//!
//! Must not: queue or speak; it hands decisions to the session, which words and schedules them.

use super::news::countdown::Countdown;
use super::news::halfway::StepHalfway;
use super::targets::{Decision, EarlyRepMonitor, HeartRateMonitor, PaceMonitor};
use crate::cue::{CueKind, CueSlots};
use crate::plan::{ExpandedStep, StepEnd, StepKind, Target};
use crate::signal::display::DisplayPace;
use crate::signal::grade::GradeEstimator;
use crate::signal::heart_rate::HeartRateZones;
use crate::signal::pace::PaceEstimate;
use crate::units::SecondsPerKm;

/// Speed reference of a rep (for judging the next rep's start by pace): the last seconds of it.
const REP_REFERENCE_WINDOW_MS: u64 = 60_000;
/// A rep reference needs at least this many speeds (seconds) to be worth keeping.
const REP_REFERENCE_MIN_SPEEDS: usize = 10;
/// Heart rates are said up to this (an open-ended range has no top worth saying).
const MAX_SPOKEN_BPM: f64 = 250.0;

/// Per-step coaching state, new at every step start.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCoach {
    pub index: usize,
    /// An easy or recovery step: guard the HR cap, never praise speed.
    pub easy: bool,
    pub pace: Option<PaceMonitor>,
    heart_rate: Option<HeartRateMonitor>,
    early_rep: Option<EarlyRepMonitor>,
    pub countdown: Countdown,
    pub halfway: StepHalfway,
    /// The estimate's speeds over the last minute of the step: the pace to speak, and the next
    /// rep's reference.
    speeds: DisplayPace,
}

impl StepCoach {
    /// The coach of `step` and what its start cue says: `extra_tolerance_s` widens pace bands
    /// (the runner said it feels hard); `rep_reference_mps` is how this step's last rep ended.
    pub fn start(
        step: &ExpandedStep,
        zones: Option<HeartRateZones>,
        extra_tolerance_s: f64,
        rep_reference_mps: Option<f64>,
    ) -> (Self, CueSlots) {
        let easy_kind = matches!(
            step.step.kind,
            StepKind::Warmup | StepKind::Easy | StepKind::Recovery | StepKind::Cooldown | StepKind::Rest
        );
        let mut slots = CueSlots {
            step_kind: Some(step.step.kind),
            step_note: step.step.note.clone(),
            rep: step.reps.last().map(|r| r.0),
            reps: step.reps.last().map(|r| r.1),
            ..CueSlots::default()
        };
        match step.step.end {
            StepEnd::Time(s) => slots.duration_s = Some(s),
            StepEnd::Distance(m) => slots.distance_m = Some(m),
            StepEnd::Open => {}
        }
        let mut pace = None;
        let mut heart_rate = None;
        match step.step.target {
            Some(Target::Pace(range)) => {
                slots.target_pace = Some((range.fastest, range.slowest));
                pace = Some(PaceMonitor::new(range.fastest.0, range.slowest.0, extra_tolerance_s));
            }
            Some(Target::HrZone(zone)) => {
                slots.zone = Some(zone);
                if let Some((lo, hi)) = zones.and_then(|z| z.range(zone)) {
                    slots.target_bpm = Some((lo, hi));
                    heart_rate = Some(HeartRateMonitor::new(lo, hi, !easy_kind));
                }
            }
            Some(Target::HrRange(range)) => {
                let lo = range.min_bpm.map_or(0.0, f64::from);
                let hi = range.max_bpm.map_or(f64::INFINITY, f64::from);
                slots.target_bpm = Some((lo, hi.min(MAX_SPOKEN_BPM)));
                heart_rate = Some(HeartRateMonitor::new(lo, hi, !easy_kind && range.min_bpm.is_some()));
            }
            Some(Target::Effort(_)) | None => {}
        }
        // Only HR reps are judged early by pace: a pace rep has its own band from the start.
        let early_rep = rep_reference_mps.filter(|_| heart_rate.is_some()).map(EarlyRepMonitor::new);
        let coach = Self {
            index: step.index,
            easy: matches!(step.step.kind, StepKind::Easy | StepKind::Recovery),
            pace,
            heart_rate,
            early_rep,
            countdown: Countdown::default(),
            halfway: StepHalfway::default(),
            speeds: DisplayPace::keeping(REP_REFERENCE_WINDOW_MS),
        };
        (coach, slots)
    }

    /// The mean speed of the step's last minute, when there is enough of it: the next rep of
    /// the same step is judged against it.
    pub fn rep_reference_mps(&self, at_ms: u64) -> Option<f64> {
        self.speeds.mean_mps(at_ms, REP_REFERENCE_WINDOW_MS, REP_REFERENCE_MIN_SPEEDS)
    }

    /// Keeps the speed of the last minute.
    pub fn note_speed(&mut self, now_ms: u64, estimate: &PaceEstimate) {
        self.speeds.note(now_ms, estimate);
    }

    /// The target decisions of this instant, in the order they are to be queued.
    pub fn judge_targets(
        &mut self,
        now_ms: u64,
        step_moving_ms: u64,
        estimate: &PaceEstimate,
        bpm: Option<f64>,
        terrain: Option<&GradeEstimator>,
    ) -> Vec<Decision> {
        let mut decisions = Vec::new();
        let speeds = &self.speeds;
        let spoken = || speeds.pace(now_ms, estimate);
        if let Some(monitor) = self.pace.as_mut()
            && let Some(d) = monitor.update(now_ms, step_moving_ms, estimate, spoken, terrain)
        {
            decisions.push(d);
        }
        if let Some(monitor) = self.heart_rate.as_mut() {
            if let Some(d) = self.early_rep.as_mut().and_then(|m| m.update(now_ms, step_moving_ms, estimate))
            {
                decisions.push(d);
            }
            if let Some(mut d) = monitor.update(now_ms, step_moving_ms, bpm) {
                // Easy days run easy: over the cap on an easy step is "conversational pace".
                if self.easy && d.kind == CueKind::HrAboveZone {
                    d.kind = CueKind::EasyEaseOff;
                }
                decisions.push(d);
            }
        }
        decisions
    }

    /// The heart-rate band this step coaches to, capped for speech.
    pub fn target_bpm(&self) -> Option<(f64, f64)> {
        self.heart_rate.as_ref().map(|m| {
            let (lo, hi) = m.band_bpm();
            (lo, hi.min(MAX_SPOKEN_BPM))
        })
    }

    /// The pace to speak ([`DisplayPace`]), steadier than the instantaneous estimate the
    /// corrections are decided on.
    pub fn spoken_pace(&self, now_ms: u64, estimate: &PaceEstimate) -> Option<SecondsPerKm> {
        self.speeds.pace(now_ms, estimate)
    }
}

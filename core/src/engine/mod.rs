//! The run engine (DESIGN §2): a run session fed by inputs that carry the host's run clock —
//! location fixes, heart rate, cadence, ticks, pause/resume, lap, skip, finish, runner
//! feedback, `cue_finished` — that advances the plan, decides cues and schedules them into
//! utterances.
//!
//! Deterministic: the same inputs give the same utterances, byte for byte. No I/O, no clock of
//! its own, no global state. Inputs with time going backwards are ignored (the sensors' own
//! filters reject their stale readings); nothing here panics on any input.

pub mod replay;
pub mod scheduler;
pub mod targets;

use serde::{Deserialize, Serialize};

use crate::coaching::goals::ProcessStatus;
use crate::coaching::heat::{self, Conditions};
use crate::cue::{Cue, CueKind, CueSlots, Priority, Utterance};
use crate::plan::{ExpandedStep, Plan, StepEnd, StepKind, Target};
use crate::profile::RunnerProfile;
use crate::progress::{PlanProgress, ProgressEvent};
use crate::sensor::{CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix};
use crate::signal::heart_rate::{HeartRateFilter, HeartRateZones};
use crate::signal::motion::{AutoPause, Motion};
use crate::signal::pace::{GpsStatus, PaceEstimate, PaceEstimator};
use crate::units::SecondsPerKm;
use scheduler::Scheduler;
pub use scheduler::{Chattiness, SchedulerCounts};
use targets::{EARLY_REP_TOO_FAST_SHARE, HeartRateMonitor, HeartRateSafety, PACE_DWELL_MS, PaceMonitor};

/// Seconds before a step change that the countdown is said.
pub const COUNTDOWN_LEAD_S: f64 = 10.0;
/// Steps shorter than this get no countdown: it would be half the step.
const COUNTDOWN_MIN_STEP_S: f64 = 45.0;
/// Steps get a "halfway" only when at least this long (time) or far (distance).
const HALFWAY_MIN_STEP_S: f64 = 240.0;
const HALFWAY_MIN_STEP_M: f64 = 800.0;
/// GPS lost is said only once it has been gone this long (shorter losses only make the pace
/// unknown for a moment), and not again within [`GPS_LOST_REPEAT_MS`].
const GPS_LOST_ANNOUNCE_AFTER_MS: u64 = 15_000;
const GPS_LOST_REPEAT_MS: u64 = 600_000;
/// "GPS is back" only after a loss at least this long (short losses are not news).
const GPS_BACK_AFTER_LOSS_MS: u64 = 15_000;
/// Encouragement only after this much silence: it never crowds out information.
const ENCOURAGE_AFTER_SILENCE_MS: u64 = 120_000;
/// Speed reference of a rep (for judging the next rep's start by pace): the last seconds of it.
const REP_REFERENCE_WINDOW_MS: u64 = 60_000;
/// The pace a correction speaks is averaged over this long: the runner hears a figure that
/// matches their watch, not one second's wobble.
const SPOKEN_PACE_WINDOW_MS: u64 = 10_000;
/// No corrections in a step's last seconds: the step is ending, the countdown says so, and a
/// correction would be about a pace that no longer matters.
const NO_CORRECTIONS_IN_LAST_S: f64 = 15.0;
/// Auto-pause and resume are announced at most this often; the timer still follows the
/// runner in between (a runner dithering at a crossing does not need a running commentary).
const PAUSE_ANNOUNCE_GAP_MS: u64 = 20_000;
/// A cadence reading older than this says nothing about now (the pedometer stops reporting
/// when the runner stands still).
const CADENCE_FRESH_MS: u64 = 3_000;
/// Extra tolerance on pace targets after the runner says it feels too hard.
const TOO_HARD_EXTRA_TOLERANCE_S: f64 = 10.0;

/// Something the runner said about the run (voice or a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerFeedback {
    /// This feels too hard: the coach loosens pace targets and stops pushing.
    TooHard,
    /// This feels easy.
    TooEasy,
    /// Something hurts: no more pushing for the rest of the run, and a safety cue.
    Pain,
}

/// An input to the engine, with the host's run clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    Start {
        t_ms: u64,
    },
    Fix(LocationFix),
    HeartRate(HeartRateReading),
    Cadence(CadenceReading),
    DeviceSpeed(DeviceSpeedReading),
    Tick {
        t_ms: u64,
    },
    Pause {
        t_ms: u64,
    },
    Resume {
        t_ms: u64,
    },
    Lap {
        t_ms: u64,
    },
    SkipStep {
        t_ms: u64,
    },
    Finish {
        t_ms: u64,
    },
    Feedback {
        t_ms: u64,
        feedback: RunnerFeedback,
    },
    CueFinished {
        utterance_id: u64,
        at_ms: u64,
    },
    /// The post-run check-in's answer: how hard it felt, 1 (very easy) to 10 (maximal).
    /// Taken after the finish too.
    CheckIn {
        t_ms: u64,
        effort: u8,
    },
}

impl Input {
    /// The run clock the input carries.
    pub fn t_ms(&self) -> u64 {
        match *self {
            Self::Fix(f) => f.t_ms,
            Self::HeartRate(r) => r.t_ms,
            Self::Cadence(r) => r.t_ms,
            Self::DeviceSpeed(r) => r.t_ms,
            Self::CueFinished { at_ms, .. } => at_ms,
            Self::Start { t_ms }
            | Self::Tick { t_ms }
            | Self::Pause { t_ms }
            | Self::Resume { t_ms }
            | Self::Lap { t_ms }
            | Self::SkipStep { t_ms }
            | Self::Finish { t_ms }
            | Self::Feedback { t_ms, .. }
            | Self::CheckIn { t_ms, .. } => t_ms,
        }
    }
}

/// How the engine behaves, beyond the plan and the runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub chattiness: Chattiness,
    /// Pause the timer when the runner stops (traffic lights).
    pub auto_pause: bool,
    /// The audio layer reports `cue_finished`: speech lasts until it does (with a generous
    /// safety limit), not until the estimate from the words runs out.
    pub audio_reports_finish: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { chattiness: Chattiness::Normal, auto_pause: true, audio_reports_finish: false }
    }
}

/// The figures of a run so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunSummary {
    pub distance_m: f64,
    pub moving_time_s: f64,
    pub steps_completed: usize,
    pub cues_spoken: u64,
    pub cues_dropped: u64,
    pub utterances: u64,
    /// Whether the run counts as a completed session: the plan done, or the "free to stop"
    /// point reached (stopping then or going on both count).
    pub counts_as_completed: bool,
    /// The check-in answer, 1–10, once given.
    pub effort: Option<u8>,
}

/// What else the engine knows at the start of a run, beyond plan, profile and settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    /// The weather now (overrides conditions preloaded with the plan): pace targets are eased.
    pub conditions: Option<Conditions>,
    /// The runner's process goals before this run: celebrated at the finish.
    pub process: Option<ProcessStatus>,
}

/// A record for the run's log: what the runner said and what the coach changed because of it.
/// The host stores these with the run (and syncs them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogRecord {
    Feedback {
        t_ms: u64,
        feedback: RunnerFeedback,
    },
    /// Target coaching stopped (pain).
    TargetsStopped {
        t_ms: u64,
    },
    CheckIn {
        t_ms: u64,
        effort: u8,
    },
    FreeToStop {
        t_ms: u64,
    },
    /// Pace targets eased by this much for heat, %.
    HeatAdjusted {
        pct: f64,
    },
    /// A check-in answer outside 1–10, ignored.
    CheckInRejected {
        t_ms: u64,
        effort: u8,
    },
}

impl LogRecord {
    /// The run clock the record happened at (the heat adjustment, made at the start, has none).
    pub fn t_ms(&self) -> Option<u64> {
        match *self {
            Self::Feedback { t_ms, .. }
            | Self::TargetsStopped { t_ms }
            | Self::CheckIn { t_ms, .. }
            | Self::FreeToStop { t_ms }
            | Self::CheckInRejected { t_ms, .. } => Some(t_ms),
            Self::HeatAdjusted { .. } => None,
        }
    }
}

/// Check-in answers are RPE on Borg's CR-10 scale as used for session RPE (Foster et al. 2001,
/// "A new approach to monitoring exercise training", J Strength Cond Res 15:109).
pub const CHECK_IN_RANGE: (u8, u8) = (1, 10);

/// How long the whole plan is, when it can be said: all steps by time or all by distance.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PlanLength {
    Time(f64),
    Distance(f64),
    Mixed,
}

impl PlanLength {
    fn of(steps: &[ExpandedStep]) -> Self {
        let (mut time_s, mut distance_m) = (0.0, 0.0);
        let (mut any_time, mut any_distance, mut any_open) = (false, false, false);
        for s in steps {
            match s.step.end {
                StepEnd::Time(t) => (time_s, any_time) = (time_s + t, true),
                StepEnd::Distance(d) => (distance_m, any_distance) = (distance_m + d, true),
                StepEnd::Open => any_open = true,
            }
        }
        match (any_time, any_distance, any_open) {
            (true, false, false) => PlanLength::Time(time_s),
            (false, true, false) => PlanLength::Distance(distance_m),
            _ => PlanLength::Mixed,
        }
    }
}

/// Per-step coaching state, new at every step start.
#[derive(Debug, Clone, PartialEq)]
struct StepCoach {
    index: usize,
    /// An easy or recovery step: guard the HR cap, never praise speed.
    easy: bool,
    pace: Option<PaceMonitor>,
    heart_rate: Option<HeartRateMonitor>,
    countdown_said: bool,
    halfway_said: bool,
    early_rep_said: bool,
    early_rep_since: Option<u64>,
    /// The speed this step's earlier rep ended at, if there was one (looked up at the start).
    rep_reference_mps: Option<f64>,
    /// (t_ms, speed) over the last minute of the step, for the next rep's reference.
    speeds: std::collections::VecDeque<(u64, f64)>,
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct RunSession {
    config: EngineConfig,
    profile: RunnerProfile,
    zones: Option<HeartRateZones>,
    progress: PlanProgress,
    /// Worked out once: the halfway mark is checked on every input.
    plan_length: PlanLength,
    pace: PaceEstimator,
    heart: HeartRateFilter,
    auto_pause: AutoPause,
    safety: HeartRateSafety,
    scheduler: Scheduler,
    coach: Option<StepCoach>,
    /// The speed each step path ran at the end of its last rep.
    rep_reference: Vec<(String, f64)>,
    started: bool,
    finished: bool,
    /// Finish was asked for; the last word waits for current speech to end.
    finishing: bool,
    manually_paused: bool,
    now_ms: u64,
    next_cue_id: u64,
    /// The latest cadence reading (t_ms, steps/min); stale after [`CADENCE_FRESH_MS`].
    cadence: Option<(u64, f64)>,
    gps_lost_said_ms: Option<u64>,
    gps_lost_since: Option<u64>,
    run_halfway_said: bool,
    last_utterance_ms: u64,
    last_encouragement_ms: u64,
    no_pushing: bool,
    extra_tolerance_s: f64,
    last_pause_news_ms: Option<u64>,
    /// Pain was reported: no more target coaching this run.
    targets_stopped: bool,
    free_to_stop_after_ms: Option<u64>,
    free_to_stop_said: bool,
    process: Option<ProcessStatus>,
    effort: Option<u8>,
    log: Vec<LogRecord>,
}

impl RunSession {
    pub fn new(plan: &Plan, profile: RunnerProfile, config: EngineConfig) -> Self {
        Self::with_context(plan, profile, config, RunContext::default())
    }

    /// A run with what the host knows beyond the plan: the weather, the runner's week so far.
    pub fn with_context(
        plan: &Plan,
        profile: RunnerProfile,
        config: EngineConfig,
        context: RunContext,
    ) -> Self {
        let mut log = Vec::new();
        let heat = context.conditions.or(plan.conditions).map(|c| heat::adjust_plan(plan, &c));
        let plan = match &heat {
            Some((hot, pct)) if *pct > 0.0 => {
                log.push(LogRecord::HeatAdjusted { pct: *pct });
                hot
            }
            _ => plan,
        };
        let progress = PlanProgress::new(plan);
        Self {
            config,
            profile,
            zones: profile.zones(),
            plan_length: PlanLength::of(progress.steps()),
            progress,
            pace: PaceEstimator::new(),
            heart: HeartRateFilter::new(),
            auto_pause: AutoPause::new(),
            safety: HeartRateSafety::default(),
            scheduler: Scheduler::with_reported_finish(config.chattiness, config.audio_reports_finish),
            coach: None,
            rep_reference: Vec::new(),
            started: false,
            finished: false,
            finishing: false,
            manually_paused: false,
            now_ms: 0,
            next_cue_id: 1,
            cadence: None,
            gps_lost_said_ms: None,
            gps_lost_since: None,
            run_halfway_said: false,
            last_utterance_ms: 0,
            last_encouragement_ms: 0,
            no_pushing: false,
            extra_tolerance_s: 0.0,
            last_pause_news_ms: None,
            targets_stopped: false,
            free_to_stop_after_ms: plan.free_to_stop_after_s.map(|s| (s * 1000.0) as u64),
            free_to_stop_said: false,
            process: context.process,
            effort: None,
            log,
        }
    }

    /// What the runner said and what the coach changed because of it, in order.
    pub fn log(&self) -> &[LogRecord] {
        &self.log
    }

    /// The steps of the plan, repeats expanded.
    pub fn steps(&self) -> &[ExpandedStep] {
        self.progress.steps()
    }

    /// Whether the run has finished (no more cues).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// How the engine behaves (as built).
    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// The step being run (index into [`Self::steps`]); `None` before the start and after the
    /// last step.
    pub fn current_step_index(&self) -> Option<usize> {
        self.progress.current_step().map(|s| s.index)
    }

    /// The run clock of the latest input.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The pace estimate now.
    pub fn pace_estimate(&self) -> PaceEstimate {
        self.pace.estimate(self.now_ms)
    }

    /// When the engine next needs a tick to be on time (a countdown, the end of speech, a
    /// waiting cue); the host ticks at least this soon, and anyway every second or so.
    pub fn next_wakeup_ms(&self) -> Option<u64> {
        let countdown = self.countdown_due_ms().filter(|t| *t > self.now_ms);
        match (countdown, self.scheduler.next_wakeup_ms()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn summary(&self) -> RunSummary {
        let counts = self.scheduler.counts();
        let steps_completed = if self.progress.is_complete() {
            self.progress.steps().len()
        } else {
            self.progress.current_step().map_or(0, |s| s.index)
        };
        RunSummary {
            distance_m: self.progress.distance_m(),
            moving_time_s: self.progress.moving_ms() as f64 / 1000.0,
            steps_completed,
            cues_spoken: counts.cues_spoken,
            cues_dropped: counts.cues_dropped,
            utterances: counts.utterances,
            counts_as_completed: self.progress.is_complete() || self.free_to_stop_said,
            effort: self.effort,
        }
    }

    /// Takes one input; returns what to say now (usually nothing).
    pub fn handle(&mut self, input: &Input) -> Vec<Utterance> {
        // The check-in is answered after the finish, usually.
        if let Input::CheckIn { t_ms, effort } = *input {
            self.check_in(t_ms, effort);
            return Vec::new();
        }
        if self.finished {
            return Vec::new();
        }
        if self.finishing {
            // Only the audio's report matters now: the last word follows the current one.
            if let Input::CueFinished { utterance_id, at_ms } = *input {
                self.scheduler.finished(utterance_id, at_ms);
                let out = self.speak(self.now_ms.max(at_ms));
                self.finished = out.iter().any(|u| u.cues.iter().any(|c| c.kind == CueKind::RunFinish));
                return out;
            }
            return Vec::new();
        }
        let t_ms = input.t_ms();
        if let Input::CueFinished { utterance_id, at_ms } = *input {
            self.scheduler.finished(utterance_id, at_ms);
            return self.speak(self.now_ms.max(at_ms));
        }
        // Sensors judge their own time order; control inputs from the past are ignored.
        let is_sensor =
            matches!(input, Input::Fix(_) | Input::HeartRate(_) | Input::Cadence(_) | Input::DeviceSpeed(_));
        if !is_sensor && self.started && t_ms < self.now_ms {
            return Vec::new();
        }
        if !self.started {
            self.start(t_ms);
        }
        match *input {
            Input::Fix(fix) => {
                self.pace.on_fix(&fix);
            }
            Input::HeartRate(reading) => {
                self.heart.on_reading(&reading);
            }
            Input::Cadence(reading) => {
                self.pace.on_cadence(&reading);
                if reading.spm.is_finite() && self.cadence.is_none_or(|(t, _)| reading.t_ms > t) {
                    self.cadence = Some((reading.t_ms, reading.spm));
                }
            }
            Input::DeviceSpeed(reading) => self.pace.on_device_speed(&reading),
            Input::Start { .. } | Input::Tick { .. } | Input::CueFinished { .. } | Input::CheckIn { .. } => {}
            Input::Pause { t_ms } => {
                self.manually_paused = true;
                self.pause_timer(t_ms, None);
            }
            Input::Resume { t_ms } => {
                self.manually_paused = false;
                self.resume_timer(t_ms, None);
            }
            Input::Lap { t_ms } => {
                let events = self.progress.lap(t_ms, self.pace.estimate(t_ms).distance_m);
                self.on_progress(events);
            }
            Input::SkipStep { t_ms } => {
                let events = self.progress.skip(t_ms, self.pace.estimate(t_ms).distance_m);
                self.on_progress(events);
            }
            Input::Feedback { t_ms, feedback } => {
                self.log.push(LogRecord::Feedback { t_ms, feedback });
                self.on_feedback(t_ms, feedback);
            }
            Input::Finish { t_ms } => return self.finish(t_ms),
        }
        let now = t_ms.max(self.now_ms);
        self.advance(now);
        self.speak(now)
    }

    fn start(&mut self, t_ms: u64) {
        self.started = true;
        self.now_ms = t_ms;
        self.last_utterance_ms = t_ms;
        self.last_encouragement_ms = t_ms;
        self.queue(CueKind::RunStart, CueSlots::default(), t_ms);
        if self.log.iter().any(|r| matches!(r, LogRecord::HeatAdjusted { .. })) {
            self.queue(CueKind::HeatAdjusted, CueSlots::default(), t_ms);
        }
        let events = self.progress.start(t_ms);
        self.on_progress(events);
    }

    fn finish(&mut self, t_ms: u64) -> Vec<Utterance> {
        let now = t_ms.max(self.now_ms);
        self.advance(now);
        let summary = self.summary();
        let slots = CueSlots {
            distance_m: Some(summary.distance_m),
            duration_s: Some(summary.moving_time_s),
            ..CueSlots::default()
        };
        self.queue(CueKind::RunFinish, slots, now);
        if let Some(process) = self.process {
            let after = process.with_run(summary.moving_time_s);
            let slots = CueSlots {
                runs_done: Some(after.this_week.done).filter(|_| after.this_week.planned > 0),
                runs_planned: Some(after.this_week.planned).filter(|p| *p > 0),
                streak_weeks: Some(after.streak_weeks).filter(|w| *w >= 2),
                ..CueSlots::default()
            };
            self.queue(CueKind::StreakCelebration, slots, now);
        }
        self.queue(CueKind::CheckIn, CueSlots::default(), now);
        let mut out = self.speak(now);
        let said =
            |out: &[Utterance]| out.iter().any(|u| u.cues.iter().any(|c| c.kind == CueKind::RunFinish));
        if said(&out) {
            self.finished = true;
        } else if self.config.audio_reports_finish {
            // The last word waits for the voice that is speaking (and never expires).
            self.finishing = true;
        } else {
            // No one will report the end of the current speech: the finish is the last word.
            out.extend(self.force_speak(now));
            self.finished = true;
        }
        out
    }

    fn on_feedback(&mut self, t_ms: u64, feedback: RunnerFeedback) {
        match feedback {
            RunnerFeedback::TooHard => {
                self.extra_tolerance_s = TOO_HARD_EXTRA_TOLERANCE_S;
                if let Some(coach) = self.coach.as_mut()
                    && let Some(step) = self.progress.current_step()
                    && let Some(Target::Pace(range)) = step.step.target
                {
                    coach.pace =
                        Some(PaceMonitor::new(range.fastest.0, range.slowest.0, self.extra_tolerance_s));
                }
            }
            RunnerFeedback::TooEasy => {}
            RunnerFeedback::Pain => {
                // Stop target coaching at once: nothing about pace or heart rate is said again,
                // and what was waiting to be said is dropped.
                self.no_pushing = true;
                self.targets_stopped = true;
                self.scheduler.drop_pending(|c| c.priority == Priority::Correction);
                self.log.push(LogRecord::TargetsStopped { t_ms });
                self.queue(CueKind::PainCheck, CueSlots::default(), t_ms);
            }
        }
    }

    fn check_in(&mut self, t_ms: u64, effort: u8) {
        if (CHECK_IN_RANGE.0..=CHECK_IN_RANGE.1).contains(&effort) {
            self.effort = Some(effort);
            self.log.push(LogRecord::CheckIn { t_ms, effort });
        } else {
            self.log.push(LogRecord::CheckInRejected { t_ms, effort });
        }
    }

    fn pause_timer(&mut self, t_ms: u64, say: Option<CueKind>) {
        if self.progress.is_paused() {
            return;
        }
        let events = self.progress.pause(t_ms, self.pace.estimate(t_ms).distance_m);
        self.pace.set_paused(true);
        self.on_progress(events);
        // A resume not yet announced and over already: say neither.
        let unsaid_resume = self.scheduler.drop_pending(|c| c.kind == CueKind::AutoResumed) > 0;
        if let Some(kind) = say.filter(|_| !unsaid_resume) {
            self.announce_pause_news(kind, t_ms);
        }
    }

    fn announce_pause_news(&mut self, kind: CueKind, t_ms: u64) {
        if self.last_pause_news_ms.is_none_or(|last| t_ms.saturating_sub(last) >= PAUSE_ANNOUNCE_GAP_MS) {
            self.last_pause_news_ms = Some(t_ms);
            self.queue(kind, CueSlots::default(), t_ms);
        }
    }

    fn resume_timer(&mut self, t_ms: u64, say: Option<CueKind>) {
        if !self.progress.is_paused() {
            return;
        }
        self.pace.set_paused(false);
        let events = self.progress.resume(t_ms, self.pace.estimate(t_ms).distance_m);
        self.on_progress(events);
        if let Some(monitor) = self.coach.as_mut().and_then(|c| c.pace.as_mut()) {
            monitor.restart_grace(t_ms);
        }
        // A pause not yet announced and over already: say neither.
        let unsaid_pause = self.scheduler.drop_pending(|c| c.kind == CueKind::AutoPaused) > 0;
        if let Some(kind) = say.filter(|_| !unsaid_pause) {
            self.announce_pause_news(kind, t_ms);
        }
    }

    /// Everything that follows from time passing: estimates, auto-pause, plan progress,
    /// countdowns, halfway marks, target coaching, GPS news, encouragement.
    fn advance(&mut self, now: u64) {
        self.now_ms = now;
        self.pace.on_tick(now);
        let estimate = self.pace.estimate(now);
        let bpm = self.heart.estimate(now).bpm;

        if self.config.auto_pause && !self.manually_paused {
            let cadence =
                self.cadence.filter(|(t, _)| now.saturating_sub(*t) <= CADENCE_FRESH_MS).map(|(_, spm)| spm);
            match self.auto_pause.update(now, estimate.speed_mps, cadence) {
                Some(Motion::Stopped) => self.pause_timer(now, Some(CueKind::AutoPaused)),
                Some(Motion::Moving) => self.resume_timer(now, Some(CueKind::AutoResumed)),
                None => {}
            }
        }
        let events = self.progress.update(now, estimate.distance_m);
        self.on_progress(events);
        self.gps_news(now, estimate.gps);
        if self.progress.is_paused() || self.progress.is_complete() {
            return;
        }
        self.countdown_and_halfway(now, &estimate);
        self.free_to_stop(now);
        if !self.targets_stopped {
            self.coach_targets(now, &estimate, bpm);
        }
        if self.safety.update(now, bpm, self.profile.max_hr_bpm) {
            let slots = CueSlots { bpm, ..CueSlots::default() };
            self.queue(CueKind::HrVeryHigh, slots, now);
        }
        self.encourage(now, &estimate);
    }

    fn on_progress(&mut self, events: Vec<ProgressEvent>) {
        for event in events {
            match event {
                ProgressEvent::StepStarted { index, at_ms, .. } => self.start_step(index, at_ms),
                ProgressEvent::Split { km, at_ms, split_ms } => {
                    let target_pace = self.current_pace_band();
                    let slots = CueSlots {
                        split_km: Some(km),
                        pace: Some(SecondsPerKm(split_ms as f64 / 1000.0)),
                        duration_s: Some(split_ms as f64 / 1000.0),
                        target_pace,
                        ..CueSlots::default()
                    };
                    self.queue(CueKind::Split, slots, at_ms);
                }
                ProgressEvent::PlanComplete { at_ms, distance_m, moving_ms } => {
                    self.end_step(at_ms);
                    self.coach = None;
                    let slots = CueSlots {
                        distance_m: Some(distance_m),
                        duration_s: Some(moving_ms as f64 / 1000.0),
                        ..CueSlots::default()
                    };
                    self.queue(CueKind::SessionComplete, slots, at_ms);
                }
                ProgressEvent::Paused { .. } | ProgressEvent::Resumed { .. } => {}
            }
        }
    }

    fn current_pace_band(&self) -> Option<(SecondsPerKm, SecondsPerKm)> {
        match self.progress.current_step()?.step.target? {
            Target::Pace(range) => Some((range.fastest, range.slowest)),
            _ => None,
        }
    }

    fn end_step(&mut self, at_ms: u64) {
        let Some(coach) = self.coach.as_ref() else { return };
        let Some(step) = self.progress.steps().get(coach.index) else { return };
        let recent: Vec<f64> = coach
            .speeds
            .iter()
            .filter(|(t, _)| at_ms.saturating_sub(*t) <= REP_REFERENCE_WINDOW_MS)
            .map(|(_, v)| *v)
            .collect();
        if recent.len() >= 10 {
            let mean = recent.iter().sum::<f64>() / recent.len() as f64;
            let path = step.path.clone();
            self.rep_reference.retain(|(p, _)| *p != path);
            self.rep_reference.push((path, mean));
        }
    }

    fn start_step(&mut self, index: usize, at_ms: u64) {
        self.end_step(at_ms);
        // Corrections decided for the step that just ended are about it, not this one.
        self.scheduler.drop_pending(|c| c.priority == Priority::Correction);
        let Some(step) = self.progress.steps().get(index).cloned() else { return };
        let easy = matches!(
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
                pace = Some(PaceMonitor::new(range.fastest.0, range.slowest.0, self.extra_tolerance_s));
            }
            Some(Target::HrZone(zone)) => {
                slots.zone = Some(zone);
                if let Some((lo, hi)) = self.zones.and_then(|z| z.range(zone)) {
                    slots.target_bpm = Some((lo, hi));
                    heart_rate = Some(HeartRateMonitor::new(lo, hi, !easy));
                }
            }
            Some(Target::HrRange(range)) => {
                let lo = range.min_bpm.map_or(0.0, f64::from);
                let hi = range.max_bpm.map_or(f64::INFINITY, f64::from);
                slots.target_bpm = Some((lo, hi.min(250.0)));
                heart_rate = Some(HeartRateMonitor::new(lo, hi, !easy && range.min_bpm.is_some()));
            }
            Some(Target::Effort(_)) | None => {}
        }
        let rep_reference_mps = self.rep_reference.iter().find(|(p, _)| *p == step.path).map(|(_, v)| *v);
        self.coach = Some(StepCoach {
            easy: matches!(step.step.kind, StepKind::Easy | StepKind::Recovery),
            rep_reference_mps,
            index,
            pace,
            heart_rate,
            countdown_said: false,
            halfway_said: false,
            early_rep_said: false,
            early_rep_since: None,
            speeds: std::collections::VecDeque::new(),
        });
        self.queue(CueKind::StepStart, slots, at_ms);
    }

    /// When the countdown of the current step is due, if it has one.
    fn countdown_due_ms(&self) -> Option<u64> {
        let coach = self.coach.as_ref().filter(|c| !c.countdown_said)?;
        let step = self.progress.steps().get(coach.index)?;
        let (moving_ms, metres) = self.progress.step_elapsed();
        match step.step.end {
            StepEnd::Time(seconds) if seconds >= COUNTDOWN_MIN_STEP_S => {
                let left_ms = ((seconds - COUNTDOWN_LEAD_S) * 1000.0) as i64 - moving_ms as i64;
                Some(self.now_ms.saturating_add_signed(left_ms))
            }
            StepEnd::Distance(total) => {
                let speed = self.pace.estimate(self.now_ms).speed_mps.filter(|v| *v > 0.5)?;
                let left_s = (total - metres) / speed;
                if total / speed < COUNTDOWN_MIN_STEP_S {
                    return None;
                }
                let due_in_ms = ((left_s - COUNTDOWN_LEAD_S) * 1000.0) as i64;
                Some(self.now_ms.saturating_add_signed(due_in_ms))
            }
            _ => None,
        }
    }

    fn countdown_and_halfway(&mut self, now: u64, estimate: &PaceEstimate) {
        if let Some(due) = self.countdown_due_ms()
            && due <= now
        {
            if let Some(coach) = self.coach.as_mut() {
                coach.countdown_said = true;
            }
            let slots = CueSlots { duration_s: Some(COUNTDOWN_LEAD_S), ..CueSlots::default() };
            // A countdown is due on its second: it carries that time, not the tick's.
            self.queue(CueKind::Countdown, slots, due.max(now.saturating_sub(1000)));
        }
        let Some(coach) = self.coach.as_ref() else { return };
        let Some(step) = self.progress.steps().get(coach.index) else { return };
        let (moving_ms, metres) = self.progress.step_elapsed();
        let past_half = match step.step.end {
            StepEnd::Time(s) if s >= HALFWAY_MIN_STEP_S => moving_ms as f64 / 1000.0 >= s / 2.0,
            StepEnd::Distance(m) if m >= HALFWAY_MIN_STEP_M => metres >= m / 2.0,
            _ => false,
        };
        if past_half && !coach.halfway_said {
            if let Some(coach) = self.coach.as_mut() {
                coach.halfway_said = true;
            }
            self.queue(CueKind::StepHalfway, CueSlots::default(), now);
        }
        if !self.run_halfway_said
            && let Some(done) = self.plan_fraction_done(estimate)
            && done >= 0.5
        {
            self.run_halfway_said = true;
            self.queue(CueKind::RunHalfway, CueSlots::default(), now);
        }
    }

    /// "Just ten minutes": once the moving time is reached, the runner may stop.
    fn free_to_stop(&mut self, now: u64) {
        if let Some(at) = self.free_to_stop_after_ms
            && !self.free_to_stop_said
            && self.progress.moving_ms() >= at
        {
            self.free_to_stop_said = true;
            self.log.push(LogRecord::FreeToStop { t_ms: now });
            let slots = CueSlots { duration_s: Some(at as f64 / 1000.0), ..CueSlots::default() };
            self.queue(CueKind::FreeToStop, slots, now);
        }
    }

    /// How much of the plan is done, when the plan is all time or all distance.
    fn plan_fraction_done(&self, estimate: &PaceEstimate) -> Option<f64> {
        match self.plan_length {
            PlanLength::Time(total_s) => Some(self.progress.moving_ms() as f64 / 1000.0 / total_s),
            PlanLength::Distance(total_m) => Some(estimate.distance_m / total_m),
            PlanLength::Mixed => None,
        }
    }

    /// Seconds left in the current step, when its end is known (time, or distance at the
    /// current speed).
    fn step_seconds_left(&self, estimate: &PaceEstimate) -> Option<f64> {
        let step = self.progress.current_step()?;
        let (moving_ms, metres) = self.progress.step_elapsed();
        match step.step.end {
            StepEnd::Time(s) => Some(s - moving_ms as f64 / 1000.0),
            StepEnd::Distance(m) => estimate.speed_mps.filter(|v| *v > 0.5).map(|v| (m - metres) / v),
            StepEnd::Open => None,
        }
    }

    fn coach_targets(&mut self, now: u64, estimate: &PaceEstimate, bpm: Option<f64>) {
        let (step_moving_ms, _) = self.progress.step_elapsed();
        let allow_push = !self.no_pushing;
        let ending = self.step_seconds_left(estimate).is_some_and(|left| left < NO_CORRECTIONS_IN_LAST_S);
        let band = self.current_pace_band();
        let Some(coach) = self.coach.as_mut() else { return };
        if let Some(v) = estimate.speed_mps
            && coach.speeds.back().is_none_or(|(t, _)| *t < now)
        {
            coach.speeds.push_back((now, v));
            while coach.speeds.front().is_some_and(|(t, _)| now.saturating_sub(*t) > REP_REFERENCE_WINDOW_MS)
            {
                coach.speeds.pop_front();
            }
        }
        let mut decisions = Vec::new();
        if ending {
            return;
        }
        if let Some(monitor) = coach.pace.as_mut()
            && let Some(d) = monitor.update(now, step_moving_ms, estimate, allow_push)
        {
            decisions.push(d);
        }
        if let Some(monitor) = coach.heart_rate.as_mut() {
            // Early in an HR rep, heart rate has not caught up: judge by pace against the
            // runner's own earlier reps of this step instead.
            if step_moving_ms < targets::HR_LAG_GRACE_MS
                && !coach.early_rep_said
                && let (Some(reference), Some(v)) = (coach.rep_reference_mps, estimate.speed_mps)
            {
                if v > reference * (1.0 + EARLY_REP_TOO_FAST_SHARE) && estimate.confidence > 0.5 {
                    let since = *coach.early_rep_since.get_or_insert(now);
                    if now - since >= PACE_DWELL_MS {
                        coach.early_rep_said = true;
                        decisions.push(targets::Decision { kind: CueKind::SlowDown, escalation: 1 });
                    }
                } else {
                    coach.early_rep_since = None;
                }
            }
            if let Some(mut d) = monitor.update(now, step_moving_ms, bpm, allow_push) {
                // Easy days run easy: over the cap on an easy step is "conversational pace".
                if coach.easy && d.kind == CueKind::HrAboveZone {
                    d.kind = CueKind::EasyEaseOff;
                }
                decisions.push(d);
            }
        }
        let target_bpm = coach.heart_rate.as_ref().map(HeartRateMonitor::band_bpm);
        if decisions.is_empty() {
            return;
        }
        // Only now, on the rare input that decides something: this is the per-sample path.
        let spoken_pace = recent_pace(&coach.speeds, now).or(estimate.pace());
        for d in decisions {
            let slots = CueSlots {
                pace: spoken_pace,
                target_pace: band,
                bpm,
                target_bpm: target_bpm.map(|(lo, hi)| (lo, hi.min(250.0))),
                escalation: (d.escalation > 0).then_some(d.escalation),
                ..CueSlots::default()
            };
            self.queue(d.kind, slots, now);
        }
    }

    fn gps_news(&mut self, now: u64, gps: GpsStatus) {
        match gps {
            GpsStatus::Lost { since_ms } => {
                let since = *self.gps_lost_since.get_or_insert(since_ms);
                let announced = self.gps_lost_said_ms.is_some_and(|t| t >= since);
                let repeat_ok =
                    self.gps_lost_said_ms.is_none_or(|t| now.saturating_sub(t) >= GPS_LOST_REPEAT_MS);
                if !announced
                    && repeat_ok
                    && now.saturating_sub(since) >= GPS_LOST_ANNOUNCE_AFTER_MS
                    && !self.progress.is_paused()
                {
                    self.gps_lost_said_ms = Some(now);
                    self.queue(CueKind::GpsLost, CueSlots::default(), now);
                }
            }
            GpsStatus::Good => {
                if let Some(since) = self.gps_lost_since.take()
                    && now.saturating_sub(since) >= GPS_BACK_AFTER_LOSS_MS
                    && self.gps_lost_said_ms.is_some_and(|t| t >= since)
                {
                    self.queue(CueKind::GpsBack, CueSlots::default(), now);
                }
            }
            GpsStatus::Waiting => {}
        }
    }

    fn encourage(&mut self, now: u64, estimate: &PaceEstimate) {
        let Some(every) = self.config.chattiness.encouragement_every_ms() else { return };
        if now.saturating_sub(self.last_utterance_ms) < ENCOURAGE_AFTER_SILENCE_MS
            || now.saturating_sub(self.last_encouragement_ms) < every
            || self.scheduler.is_speaking()
            || self.scheduler.has_pending()
        {
            return;
        }
        // Only when nothing needs correcting: praise must be true.
        let on_target = match self.current_pace_band() {
            Some((fast, slow)) => estimate.pace().is_some_and(|p| p.0 >= fast.0 - 5.0 && p.0 <= slow.0 + 5.0),
            None => true,
        };
        if on_target {
            self.last_encouragement_ms = now;
            // No praise for speed on easy days: encouragement there never mentions pace.
            let easy = self.coach.as_ref().is_some_and(|c| c.easy);
            let slots = CueSlots { pace: estimate.pace().filter(|_| !easy), ..CueSlots::default() };
            self.queue(CueKind::Encouragement, slots, now);
        }
    }

    fn queue(&mut self, kind: CueKind, slots: CueSlots, at_ms: u64) {
        let cue = Cue::new(self.next_cue_id, kind, slots, self.coach.as_ref().map(|c| c.index), at_ms);
        self.next_cue_id += 1;
        self.scheduler.push(cue);
    }

    fn speak(&mut self, now: u64) -> Vec<Utterance> {
        let mut out = Vec::new();
        while let Some(u) = self.scheduler.poll(now) {
            self.last_utterance_ms = now;
            let interrupting = u.interrupts.is_some();
            out.push(u);
            if !interrupting {
                break;
            }
        }
        out
    }

    /// Speaks whatever is waiting now, cutting off current speech (used for the last word).
    fn force_speak(&mut self, now: u64) -> Option<Utterance> {
        if let Some(id) = self.scheduler.speaking_id() {
            self.scheduler.finished(id, now);
        }
        let u = self.scheduler.poll(now)?;
        self.last_utterance_ms = now;
        Some(u)
    }
}

/// The pace to speak: the mean speed of the last [`SPOKEN_PACE_WINDOW_MS`], steadier than the
/// instantaneous estimate the corrections are decided on.
fn recent_pace(speeds: &std::collections::VecDeque<(u64, f64)>, now: u64) -> Option<SecondsPerKm> {
    let recent: Vec<f64> = speeds
        .iter()
        .filter(|(t, _)| now.saturating_sub(*t) <= SPOKEN_PACE_WINDOW_MS)
        .map(|(_, v)| *v)
        .collect();
    if recent.is_empty() {
        return None;
    }
    SecondsPerKm::from_speed_mps(recent.iter().sum::<f64>() / recent.len() as f64)
}

#[cfg(test)]
mod tests;

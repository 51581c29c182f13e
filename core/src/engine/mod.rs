//! The run engine (DESIGN §2): a run session fed by inputs that carry the host's run clock —
//! location fixes, heart rate, cadence, ticks, pause/resume, lap, skip, finish, runner
//! feedback, `cue_finished` — that advances the plan, decides cues and schedules them into
//! utterances.
//!
//! The session only wires things together: target coaching lives in [`step`] and
//! [`targets`], each kind of news (countdown, halfway, GPS, pause, encouragement, free to stop)
//! in [`news`], the order of speech in [`scheduler`].
//!
//! Deterministic: the same inputs give the same utterances, byte for byte. No I/O, no clock of
//! its own, no global state. Inputs with time going backwards are ignored (the sensors' own
//! filters reject their stale readings); nothing here panics on any input.

pub mod input;
pub mod log;
pub mod news;
pub mod replay;
pub mod scheduler;
pub mod state;
pub mod step;
pub mod targets;

pub use input::{EngineConfig, Input, NotFinite, RunContext, RunnerFeedback};
pub use log::{CHECK_IN_RANGE, LogRecord, RunSummary};
pub use news::countdown::COUNTDOWN_LEAD_S;
pub use scheduler::SchedulerCounts;

pub use crate::profile::Chattiness;

use crate::coaching::goals::ProcessStatus;
use crate::coaching::heat;
use crate::cue::{Cue, CueKind, CueSlots, LEAD_IN_MS, Priority, Utterance};
use crate::plan::{ExpandedStep, Hills, Plan, StepEnd, Target};
use crate::profile::RunnerProfile;
use crate::progress::{PlanProgress, ProgressEvent};
use crate::signal::grade::GradeEstimator;
use crate::signal::heart_rate::{HeartRateFilter, HeartRateZones};
use crate::signal::motion::{AutoPause, Motion};
use crate::signal::pace::{FixVerdict, PaceEstimate, PaceEstimator};
use crate::units::SecondsPerKm;
use news::News;
use news::encouragement::{Encouragement, Moment};
use news::free_to_stop::FreeToStop;
use news::gps::GpsNews;
use news::halfway::RunHalfway;
use news::pause::PauseNews;
use scheduler::Scheduler;
use step::StepCoach;
use targets::{HeartRateSafety, PaceMonitor};

/// No corrections in a step's last seconds: the step is ending, the countdown says so, and a
/// correction would be about a pace that no longer matters.
const NO_CORRECTIONS_IN_LAST_S: f64 = 15.0;
/// A cadence reading older than this says nothing about now (the pedometer stops reporting
/// when the runner stands still).
const CADENCE_FRESH_MS: u64 = 3_000;
/// Extra tolerance on pace targets after the runner says it feels too hard.
const TOO_HARD_EXTRA_TOLERANCE_S: f64 = 10.0;
/// Below this speed a distance step's end cannot be foreseen.
const MIN_FORESEEING_SPEED_MPS: f64 = 0.5;

/// Where the run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No input yet.
    NotStarted,
    Running,
    /// Finish was asked for; the last word waits for current speech to end.
    Finishing,
    /// The last word is said: no more cues (a check-in answer is still taken).
    Finished,
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct RunSession {
    config: EngineConfig,
    profile: RunnerProfile,
    zones: Option<HeartRateZones>,
    progress: PlanProgress,
    phase: Phase,
    now_ms: u64,
    pace: PaceEstimator,
    /// The speed as of the last [`Self::advance`] (every input that changes the estimator ends
    /// in one): the countdown's foresight reads it instead of cloning the filter again.
    speed_now_mps: Option<f64>,
    /// The estimate of the last [`Self::advance`], with its instant and the estimator's
    /// generation: several inputs at one instant (a fix, its heart rate, its altitude, a tick)
    /// that leave the estimator as it was reuse it.
    estimate_now: Option<(u64, u64, PaceEstimate)>,
    grade: GradeEstimator,
    /// Whether pace targets are judged grade-adjusted (the plan's `hills`).
    hills: Hills,
    heart: HeartRateFilter,
    auto_pause: AutoPause,
    manually_paused: bool,
    /// The latest cadence reading (t_ms, steps/min); stale after [`CADENCE_FRESH_MS`].
    cadence: Option<(u64, f64)>,
    safety: HeartRateSafety,
    scheduler: Scheduler,
    next_cue_id: u64,
    coach: Option<StepCoach>,
    /// The speed each step path ran at the end of its last rep.
    rep_reference: Vec<(String, f64)>,
    /// The step whose start was announced a lead-in before its time (a time step's end is
    /// known in advance): not announced again when it starts.
    announced_step: Option<usize>,
    run_halfway: RunHalfway,
    gps_news: GpsNews,
    pause_news: PauseNews,
    encouragement: Encouragement,
    free_to_stop: FreeToStop,
    extra_tolerance_s: f64,
    /// Pain was reported: no more target coaching this run.
    targets_stopped: bool,
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
            run_halfway: RunHalfway::new(progress.steps()),
            progress,
            phase: Phase::NotStarted,
            now_ms: 0,
            pace: PaceEstimator::new(),
            speed_now_mps: None,
            estimate_now: None,
            grade: GradeEstimator::default(),
            hills: plan.hills,
            heart: HeartRateFilter::new(),
            auto_pause: AutoPause::new(),
            manually_paused: false,
            cadence: None,
            safety: HeartRateSafety::default(),
            scheduler: Scheduler::with_reported_finish(config.chattiness, config.audio_reports_finish),
            next_cue_id: 1,
            coach: None,
            rep_reference: Vec::new(),
            announced_step: None,
            gps_news: GpsNews::default(),
            pause_news: PauseNews::default(),
            encouragement: Encouragement::default(),
            free_to_stop: FreeToStop::new(plan.free_to_stop_after_s),
            extra_tolerance_s: 0.0,
            targets_stopped: false,
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
        self.phase == Phase::Finished
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
        // Once finishing, ticks move nothing (only the audio's report does): a wake-up asked for
        // then would be ticked at for ever by a host that ticks when asked.
        if matches!(self.phase, Phase::Finishing | Phase::Finished) {
            return None;
        }
        let countdown = self.countdown_wakeup_ms().filter(|t| *t > self.now_ms);
        let step_start = self
            .next_step_start_ms()
            .map(|(_, at_ms)| at_ms.saturating_sub(LEAD_IN_MS))
            .filter(|t| *t > self.now_ms);
        let halfway = self.halfway_wakeup_ms().filter(|t| *t > self.now_ms);
        [countdown, step_start, halfway, self.scheduler.next_wakeup_ms()].into_iter().flatten().min()
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
            counts_as_completed: self.progress.is_complete() || self.free_to_stop.reached(),
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
        match self.phase {
            Phase::Finished => return Vec::new(),
            Phase::Finishing => {
                // Only the audio's report matters now: the last word follows the current one.
                if let Input::CueFinished { utterance_id, at_ms } = *input {
                    self.scheduler.finished(utterance_id, at_ms);
                    let out = self.speak(self.now_ms.max(at_ms));
                    if said_the_finish(&out) {
                        self.phase = Phase::Finished;
                    }
                    return out;
                }
                return Vec::new();
            }
            Phase::NotStarted | Phase::Running => {}
        }
        let t_ms = input.t_ms();
        if let Input::CueFinished { utterance_id, at_ms } = *input {
            self.scheduler.finished(utterance_id, at_ms);
            return self.speak(self.now_ms.max(at_ms));
        }
        // Sensors judge their own time order; control inputs from the past are ignored.
        let is_sensor = matches!(
            input,
            Input::Fix(_)
                | Input::HeartRate(_)
                | Input::Cadence(_)
                | Input::DeviceSpeed(_)
                | Input::Altitude(_)
        );
        if !is_sensor && self.phase == Phase::Running && t_ms < self.now_ms {
            return Vec::new();
        }
        if self.phase == Phase::NotStarted {
            self.start(t_ms);
        }
        match *input {
            Input::Fix(fix) => {
                let verdict = self.pace.on_fix(&fix);
                if let (FixVerdict::Accepted, Some(altitude_m)) = (verdict, fix.altitude_m) {
                    self.grade.on_gps_altitude(fix.t_ms, self.pace.distance_m(), altitude_m);
                }
            }
            Input::Altitude(reading) => {
                self.grade.on_barometer(reading.t_ms, self.pace.distance_m(), reading.altitude_m);
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
                self.pause_timer(t_ms, false);
            }
            Input::Resume { t_ms } => {
                self.manually_paused = false;
                self.resume_timer(t_ms);
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
        self.phase = Phase::Running;
        self.now_ms = t_ms;
        self.encouragement.start(t_ms);
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
        if said_the_finish(&out) {
            self.phase = Phase::Finished;
        } else if self.config.audio_reports_finish {
            // The last word waits for the voice that is speaking (and never expires).
            self.phase = Phase::Finishing;
        } else {
            // No one will report the end of the current speech: the finish is the last word.
            out.extend(self.force_speak(now));
            self.phase = Phase::Finished;
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

    /// Stops the timer; `say`: by auto-pause, which the runner hears about.
    fn pause_timer(&mut self, t_ms: u64, say: bool) {
        if self.progress.is_paused() {
            return;
        }
        let events = self.progress.pause(t_ms, self.pace.estimate(t_ms).distance_m);
        self.pace.set_paused(true);
        self.grade.reset();
        self.on_progress(events);
        // A "moving again" not yet said and over already: drop it, and the "paused" it
        // answered still waits for its pair; this stop is not said.
        if self.scheduler.drop_pending(|c| c.kind == CueKind::AutoResumed) > 0 {
            self.pause_news.resume_unsaid();
        } else if say {
            let news = self.pause_news.paused(t_ms);
            self.queue_news(news);
        }
    }

    fn resume_timer(&mut self, t_ms: u64) {
        if !self.progress.is_paused() {
            return;
        }
        self.pace.set_paused(false);
        let events = self.progress.resume(t_ms, self.pace.estimate(t_ms).distance_m);
        self.on_progress(events);
        if let Some(monitor) = self.coach.as_mut().and_then(|c| c.pace.as_mut()) {
            monitor.restart_grace(t_ms);
        }
        // A "paused" not yet said and over already: say neither. Otherwise a "paused" that
        // was said gets its "moving again", whoever restarted the timer.
        if self.scheduler.drop_pending(|c| c.kind == CueKind::AutoPaused) > 0 {
            self.pause_news.pause_unsaid();
        } else {
            let news = self.pause_news.resumed(t_ms);
            self.queue_news(news);
        }
    }

    /// Everything that follows from time passing: estimates, auto-pause, plan progress,
    /// countdowns, halfway marks, target coaching, GPS news, encouragement.
    fn advance(&mut self, now: u64) {
        self.now_ms = now;
        self.pace.on_tick(now);
        let generation = self.pace.generation();
        let estimate = match self.estimate_now.take() {
            Some((at_ms, g, estimate)) if at_ms == now && g == generation => estimate,
            _ => self.pace.estimate(now),
        };
        self.estimate_now = Some((now, generation, estimate));
        self.speed_now_mps = estimate.speed_mps;
        let bpm = self.heart.estimate(now).bpm;

        if self.config.auto_pause && !self.manually_paused {
            let cadence =
                self.cadence.filter(|(t, _)| now.saturating_sub(*t) <= CADENCE_FRESH_MS).map(|(_, spm)| spm);
            match self.auto_pause.update(now, estimate.speed_mps, cadence) {
                Some(Motion::Stopped) => self.pause_timer(now, true),
                Some(Motion::Moving) => self.resume_timer(now),
                None => {}
            }
        }
        let events = self.progress.update(now, estimate.distance_m);
        self.on_progress(events);
        let news = self.gps_news.update(now, estimate.gps, self.progress.is_paused());
        self.queue_news(news);
        if self.progress.is_paused() || self.progress.is_complete() {
            return;
        }
        self.step_news(now, &estimate);
        self.announce_next_step(now);
        let news = self.run_halfway.update(now, self.progress.moving_ms(), estimate.distance_m);
        self.queue_news(news);
        if let Some(news) = self.free_to_stop.update(now, self.progress.moving_ms()) {
            self.log.push(LogRecord::FreeToStop { t_ms: now });
            self.queue_news(Some(news));
        }
        if !self.targets_stopped {
            self.coach_targets(now, &estimate, bpm);
        }
        if self.safety.update(now, bpm, self.profile.max_hr_bpm) {
            let slots = CueSlots { bpm, ..CueSlots::default() };
            self.queue(CueKind::HrVeryHigh, slots, now);
        }
        let moment = Moment {
            now_ms: now,
            every_ms: self.config.chattiness.encouragement_every_ms(),
            busy: self.scheduler.is_speaking() || self.scheduler.has_pending(),
            band: self.current_pace_band(),
            pace: estimate.pace(),
            easy: self.coach.as_ref().is_some_and(|c| c.easy),
        };
        let news = self.encouragement.update(moment);
        self.queue_news(news);
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

    /// Keeps how the step's rep ended, for the next rep of the same step.
    fn end_step(&mut self, at_ms: u64) {
        let Some(coach) = self.coach.as_ref() else { return };
        let Some(step) = self.progress.steps().get(coach.index) else { return };
        if let Some(mean) = coach.rep_reference_mps(at_ms) {
            let path = step.path.clone();
            self.rep_reference.retain(|(p, _)| *p != path);
            self.rep_reference.push((path, mean));
        }
    }

    fn start_step(&mut self, index: usize, at_ms: u64) {
        self.end_step(at_ms);
        self.pace.pace_may_change(at_ms);
        // Corrections decided for the step that just ended are about it, not this one.
        self.scheduler.drop_pending(|c| c.priority == Priority::Correction);
        let Some((coach, slots)) = self.step_coach(index) else { return };
        self.coach = Some(coach);
        if self.announced_step != Some(index) {
            self.queue(CueKind::StepStart, slots, at_ms);
        }
    }

    /// Step `index`'s coach and the words that start it (with the pace its path last ran, for
    /// a rep).
    fn step_coach(&self, index: usize) -> Option<(StepCoach, CueSlots)> {
        let step = self.progress.steps().get(index)?;
        let reference = self.rep_reference.iter().find(|(p, _)| *p == step.path).map(|(_, v)| *v);
        Some(StepCoach::start(step, self.zones, self.extra_tolerance_s, reference))
    }

    /// The next step and when it starts, when the current step ends at a time known in
    /// advance: a time step, running, whose next step's words do not wait on how this one went
    /// (a step repeated on its own takes its reference from the rep now ending).
    fn next_step_start_ms(&self) -> Option<(usize, u64)> {
        if self.progress.is_paused() || !matches!(self.phase, Phase::Running) {
            return None;
        }
        let coach = self.coach.as_ref()?;
        let (step, next) =
            (self.progress.steps().get(coach.index)?, self.progress.steps().get(coach.index + 1)?);
        let StepEnd::Time(seconds) = step.step.end else { return None };
        if next.path == step.path || self.announced_step == Some(next.index) {
            return None;
        }
        let left_ms = (seconds * 1000.0) as i64 - self.progress.step_elapsed().0 as i64;
        Some((next.index, self.now_ms.saturating_add_signed(left_ms)))
    }

    /// The next step's start, a lead-in before it is due (see [`Self::next_step_start_ms`]):
    /// its first word lands on the second the step changes.
    fn announce_next_step(&mut self, now: u64) {
        let Some((index, at_ms)) = self.next_step_start_ms().filter(|(_, at)| *at <= now + LEAD_IN_MS) else {
            return;
        };
        let Some((_, slots)) = self.step_coach(index) else { return };
        let cue = Cue::new(self.next_cue_id, CueKind::StepStart, slots, Some(index), at_ms);
        self.next_cue_id += 1;
        self.scheduler.push(cue);
        self.announced_step = Some(index);
    }

    /// When to wake for a halfway mark known in advance (the step's or the session's, by time):
    /// a lead-in before it.
    fn halfway_wakeup_ms(&self) -> Option<u64> {
        if self.progress.is_paused() {
            return None;
        }
        let run = self.run_halfway.due_ms(self.now_ms, self.progress.moving_ms());
        let step = self.coach.as_ref().and_then(|coach| {
            let step = self.progress.steps().get(coach.index)?;
            coach.halfway.due_ms(self.now_ms, step.step.end, self.progress.step_elapsed().0)
        });
        [run, step].into_iter().flatten().min().map(|t| t.saturating_sub(LEAD_IN_MS))
    }

    /// When to wake for the countdown of the current step (a lead-in before it is due), if it
    /// has one.
    fn countdown_wakeup_ms(&self) -> Option<u64> {
        let coach = self.coach.as_ref()?;
        let step = self.progress.steps().get(coach.index)?;
        let speed = self.speed_now_mps;
        coach.countdown.wakeup_ms(self.now_ms, step.step.end, self.progress.step_elapsed(), speed)
    }

    /// The current step's countdown and halfway mark.
    fn step_news(&mut self, now: u64, estimate: &PaceEstimate) {
        let elapsed = self.progress.step_elapsed();
        let Some(coach) = self.coach.as_mut() else { return };
        let Some(step) = self.progress.steps().get(coach.index) else { return };
        let end = step.step.end;
        let countdown = coach.countdown.update(now, end, elapsed, estimate.speed_mps);
        let halfway = coach.halfway.update(now, end, elapsed);
        self.queue_news(countdown);
        self.queue_news(halfway);
    }

    /// Seconds left in the current step, when its end is known (time, or distance at the
    /// current speed).
    fn step_seconds_left(&self, estimate: &PaceEstimate) -> Option<f64> {
        let step = self.progress.current_step()?;
        let (moving_ms, metres) = self.progress.step_elapsed();
        match step.step.end {
            crate::plan::StepEnd::Time(s) => Some(s - moving_ms as f64 / 1000.0),
            crate::plan::StepEnd::Distance(m) => {
                estimate.speed_mps.filter(|v| *v > MIN_FORESEEING_SPEED_MPS).map(|v| (m - metres) / v)
            }
            crate::plan::StepEnd::Open => None,
        }
    }

    fn coach_targets(&mut self, now: u64, estimate: &PaceEstimate, bpm: Option<f64>) {
        let (step_moving_ms, _) = self.progress.step_elapsed();
        let ending = self.step_seconds_left(estimate).is_some_and(|left| left < NO_CORRECTIONS_IN_LAST_S);
        let band = self.current_pace_band();
        let Some(coach) = self.coach.as_mut() else { return };
        coach.note_speed(now, estimate);
        if ending {
            return;
        }
        let terrain = (self.hills == Hills::Gap).then_some(&self.grade);
        let decisions = coach.judge_targets(now, step_moving_ms, estimate, bpm, terrain);
        if decisions.is_empty() {
            return;
        }
        // Only now, on the rare input that decides something: this is the per-sample path.
        let spoken_pace = coach.spoken_pace(now, estimate);
        let target_bpm = coach.target_bpm();
        for d in decisions {
            // A pace correction says exactly the number its decision carries (or none, when
            // that is not known well enough, or judged against the runner's own earlier reps
            // rather than the band): the display could contradict the words.
            let correction = matches!(d.kind, CueKind::SpeedUp | CueKind::SlowDown);
            let slots = CueSlots {
                pace: if correction { d.pace } else { d.pace.or(spoken_pace) },
                target_pace: band,
                bpm,
                target_bpm,
                escalation: (d.escalation > 0).then_some(d.escalation),
                ..CueSlots::default()
            };
            self.queue(d.kind, slots, now);
        }
    }

    fn queue_news(&mut self, news: Option<News>) {
        if let Some(News { kind, slots, at_ms }) = news {
            self.queue(kind, slots, at_ms);
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
            self.encouragement.heard(now);
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
        self.encouragement.heard(now);
        Some(u)
    }
}

/// Whether the run's last word is among these utterances.
fn said_the_finish(out: &[Utterance]) -> bool {
    out.iter().any(|u| u.cues.iter().any(|c| c.kind == CueKind::RunFinish))
}

#[cfg(test)]
mod tests;

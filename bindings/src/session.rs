//! A run in progress for apps: the session a host feeds sensor readings and events with its
//! run clock, the words it hands back through the listener (the persona's, or the plain
//! wording), and its set-up from the plan JSON, the persona and the runner.
//!
//! Threads: feed calls run on the caller's thread and return quickly (the engine is pure
//! computation; a recorded run hands its batches to the store's writer thread); the listener is
//! called on the feed call's thread, before it returns. Calls on one session are serialised
//! by a lock. Must not: do file or network I/O on a feed call, or call the listener while the
//! lock is held.

use std::sync::{Arc, Mutex, MutexGuard};

use pacenote_core::coaching::goals::{ProcessStatus, WeekTally};
use pacenote_core::cue::{CueKind, Priority};
use pacenote_core::engine::state::RunPhase;
use pacenote_core::engine::{self, EngineConfig, Input, RunContext, RunnerFeedback};
use pacenote_core::persona::Wording;
use pacenote_core::plan::Plan;
use pacenote_core::profile::{Chattiness, RunnerProfile};
use pacenote_core::sensor::{self, LocationFix};
use pacenote_core::signal::pace::GpsStatus;
use pacenote_core::speech::Language;
use pacenote_core::weather::Conditions;

use crate::audio;
use crate::convert::count_u32;
use crate::error::{PacenoteError, guarded};
use crate::store::{ResumePoint, Writer};

/// How a run is set up: only the plan is needed; every other field has a default (in Kotlin
/// `RunOptions(planJson, persona = "jenna")`, in Swift `RunOptions(planJson:, persona:)`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct RunOptions {
    /// The session plan (DESIGN §4), e.g. from [`crate::Pacenote::cached_plan_json`].
    pub plan_json: String,
    /// Who coaches: `stone`, `jakes`, `jenna`, or `neutral`, the plain wording the app voices.
    #[uniffi(default = "neutral")]
    pub persona: String,
    /// The language the persona speaks: `en`, `de`, `es` or `fr` (the runner's language from
    /// their profile); install its pack with `preload(planId, persona, lang)`. A resumed run
    /// goes on in the language it started in.
    #[uniffi(default = "en")]
    pub lang: String,
    /// What the coach knows of the runner's heart (none: heart-rate targets are not coached).
    #[uniffi(default)]
    pub profile: Option<RunnerProfile>,
    /// How much the coach talks (none: normal; step changes and safety are always said).
    #[uniffi(default)]
    pub chattiness: Option<Chattiness>,
    /// Pause the timer when the runner stops.
    #[uniffi(default = true)]
    pub auto_pause: bool,
    /// The app calls [`RunSession::cue_finished`] when each utterance ends (or the library
    /// voices the run, [`RunSession::attach_audio`]); otherwise speech length is estimated.
    #[uniffi(default = false)]
    pub audio_reports_finish: bool,
    /// The weather at the start: pace targets are eased for heat and humidity.
    #[uniffi(default)]
    pub weather: Option<Weather>,
    /// Say the week's tally and the streak at the finish ("three of four this week, five
    /// weeks in a row"); false: not a word of them.
    #[uniffi(default = true)]
    pub celebrate_week: bool,
    /// The week before this run. Left out, a run started from [`crate::Pacenote`] counts it
    /// from the store itself (with `runs_per_week` and `utc_offset_minutes`); a session alone
    /// has none to say.
    #[uniffi(default)]
    pub week: Option<WeekSoFar>,
    /// Runs planned a week ("three of four this week"; 0: no plan, the streak alone).
    #[uniffi(default = 0)]
    pub runs_per_week: u32,
    /// The phone's time zone now, minutes east of UTC: which day, and week, a run belongs to.
    #[uniffi(default = 0)]
    pub utc_offset_minutes: i32,
    /// When the run started on the wall clock (Unix ms) for a run started from
    /// [`crate::Pacenote`]; none: now. Set it when recording a run that happened elsewhere (a
    /// watch's run imported through the session), so the history puts it on its own day.
    #[uniffi(default)]
    pub started_at_unix_ms: Option<u64>,
}

impl RunOptions {
    /// A plan with every default (for Rust callers and tests).
    pub fn plan(plan_json: impl Into<String>) -> Self {
        Self {
            plan_json: plan_json.into(),
            persona: pacenote_core::persona::NEUTRAL_PERSONA.to_owned(),
            lang: "en".to_owned(),
            profile: None,
            chattiness: None,
            auto_pause: true,
            audio_reports_finish: false,
            weather: None,
            celebrate_week: true,
            week: None,
            runs_per_week: 0,
            utc_offset_minutes: 0,
            started_at_unix_ms: None,
        }
    }
}

/// The weather at the start: pace targets are eased for heat and humidity.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct Weather {
    pub temp_c: f64,
    pub dew_point_c: f64,
}

/// The runner's week before this run, celebrated at the finish.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct WeekSoFar {
    pub runs_done: u32,
    pub runs_planned: u32,
    pub streak_weeks: u32,
}

/// One cue inside an utterance.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CueInfo {
    /// What the cue is (DESIGN §10; `CueKind.RUN_START` in Kotlin, `.runStart` in Swift).
    pub kind: CueKind,
    /// How urgent: a higher priority may interrupt a lower one.
    pub priority: Priority,
    /// The persona's words for this cue.
    pub text: String,
    /// Index of the plan step it belongs to.
    pub step: Option<u32>,
}

/// Something to say now.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Utterance {
    /// Report it back with [`RunSession::cue_finished`] when the audio ends.
    pub id: u64,
    pub at_ms: u64,
    /// The whole utterance in the persona's words.
    pub text: String,
    pub cues: Vec<CueInfo>,
    /// The utterance this one cuts off (stop that audio first).
    pub interrupts: Option<u64>,
}

/// The figures of the run so far.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct RunSummary {
    pub distance_m: f64,
    pub moving_time_s: f64,
    pub steps_completed: u32,
    pub cues_spoken: u64,
    pub cues_dropped: u64,
    /// Utterances spoken (each may hold several cues).
    pub utterances: u64,
    /// The plan done, or its "free to stop" point reached.
    pub counts_as_completed: bool,
    pub effort: Option<u8>,
}

/// The run now, for the run screen: read it after each tick (the engine's own state, so the
/// screen and the coach never disagree).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunState {
    /// The run clock of the latest input.
    pub at_ms: u64,
    pub phase: RunPhase,
    /// The plan step the runner is in (none before the start and after the end).
    pub step: Option<StepState>,
    pub distance_m: f64,
    pub moving_time_s: f64,
    /// The pace the runner would hear now (s/km; steadier than one second's estimate).
    pub pace_s_per_km: Option<f64>,
    pub heart_rate_bpm: Option<f64>,
    /// The heart rate's zone, 1–5, when the runner's zones are known.
    pub heart_rate_zone: Option<u8>,
    pub gps: GpsStatus,
}

/// The plan step the runner is in.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StepState {
    /// 0-based, of `steps` (repeats expanded).
    pub index: u32,
    pub steps: u32,
    /// What the step asks, in a runner's words ("work 1.00 km @ 4:45–4:55/km").
    pub description: String,
    /// The pace band of a pace target, s/km.
    pub fastest_s_per_km: Option<f64>,
    pub slowest_s_per_km: Option<f64>,
    /// Moving time left in a step that ends on time, s.
    pub time_left_s: Option<f64>,
    /// Distance left in a step that ends on distance, m.
    pub distance_left_m: Option<f64>,
}

/// Receives what the coach says. Called on the thread of the feed call, before it returns.
#[uniffi::export(foreign)]
pub trait CueListener: Send + Sync {
    fn on_utterance(&self, utterance: Utterance);
}

/// The engine, alone or journaled into the store (a run started from
/// [`crate::store::Pacenote`]).
#[expect(
    clippy::large_enum_variant,
    reason = "both variants hold a whole engine and there is one per run: they differ only by the journal's bookkeeping"
)]
pub(crate) enum Engine {
    Plain(engine::RunSession),
    Recorded { journal: pacenote_sync::recorder::Journal, writer: Writer },
}

impl Engine {
    fn session(&self) -> &engine::RunSession {
        match self {
            Engine::Plain(s) => s,
            Engine::Recorded { journal, .. } => journal.session(),
        }
    }
}

struct Inner {
    engine: Engine,
    wording: Wording,
    /// The voice, once the host attached its audio.
    audio: Option<audio::Audio>,
    /// Where a resumed run picked up.
    resumed: Option<ResumePoint>,
}

/// A run in progress. Feed it sensor readings and events with the host's run clock (ms since
/// the start, from a monotonic clock); it calls the listener when there is something to say.
#[derive(uniffi::Object)]
pub struct RunSession {
    inner: Mutex<Inner>,
    listener: Arc<dyn CueListener>,
}

impl std::fmt::Debug for RunSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSession").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl RunSession {
    /// A run set up by `options`, not recorded (see [`crate::Pacenote::start_run`] for one
    /// that survives the app being killed); `listener` hears every utterance.
    #[uniffi::constructor]
    pub fn new(options: RunOptions, listener: Arc<dyn CueListener>) -> Result<Arc<Self>, PacenoteError> {
        guarded(|| {
            let setup = SessionSetupArgs(options).build()?;
            Ok(Self::with_engine(Engine::Plain(setup.session()), setup.wording, listener, None))
        })
    }

    /// The run starts (the first call of a run).
    pub fn start(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Start { t_ms })
    }

    pub fn location(&self, fix: LocationFix) -> Result<(), PacenoteError> {
        self.feed(Input::Fix(fix))
    }

    pub fn heart_rate(&self, t_ms: u64, bpm: f64) -> Result<(), PacenoteError> {
        self.feed(Input::HeartRate(sensor::HeartRateReading { t_ms, bpm }))
    }

    /// Steps per minute (both legs).
    pub fn cadence(&self, t_ms: u64, spm: f64) -> Result<(), PacenoteError> {
        self.feed(Input::Cadence(sensor::CadenceReading { t_ms, spm }))
    }

    /// A treadmill or footpod speed.
    pub fn device_speed(&self, t_ms: u64, speed_mps: f64) -> Result<(), PacenoteError> {
        self.feed(Input::DeviceSpeed(sensor::DeviceSpeedReading { t_ms, speed_mps }))
    }

    /// The barometer's relative altitude in metres (iOS `CMAltimeter.relativeAltitude`,
    /// Android `SensorManager.getAltitude` of `TYPE_PRESSURE` readings), about once a second:
    /// pace on hills is judged grade-adjusted, and a barometer's grade is far better than GPS
    /// altitude's. Any zero; non-finite readings are ignored by the engine.
    pub fn altitude(&self, t_ms: u64, altitude_m: f64) -> Result<(), PacenoteError> {
        self.feed(Input::Altitude(sensor::AltitudeReading { t_ms, altitude_m }))
    }

    /// Call at least every second, and at [`RunSession::next_wakeup_ms`].
    pub fn tick(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Tick { t_ms })
    }

    pub fn pause(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Pause { t_ms })
    }

    pub fn resume(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Resume { t_ms })
    }

    pub fn lap(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Lap { t_ms })
    }

    pub fn skip_step(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::SkipStep { t_ms })
    }

    pub fn feedback(&self, t_ms: u64, feedback: RunnerFeedback) -> Result<(), PacenoteError> {
        self.feed(Input::Feedback { t_ms, feedback })
    }

    /// The run ends; the last words (finish, check-in question) follow.
    pub fn finish(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Finish { t_ms })
    }

    /// The audio of utterance `utterance_id` ended at `at_ms`.
    pub fn cue_finished(&self, utterance_id: u64, at_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::CueFinished { utterance_id, at_ms })
    }

    /// The runner's answer to the check-in: how the run felt, 1 (very easy) to 10 (maximal).
    pub fn check_in(&self, t_ms: u64, effort: u8) -> Result<(), PacenoteError> {
        if !(1..=10).contains(&effort) {
            return Err(PacenoteError::InvalidInput {
                reason: format!("effort {effort}: the check-in answer is 1 (very easy) to 10 (maximal)"),
            });
        }
        self.feed(Input::CheckIn { t_ms, effort })
    }

    /// The run clock of the latest input.
    pub fn now_ms(&self) -> u64 {
        self.lock().engine.session().now_ms()
    }

    /// When the engine next needs a tick to be on time (a countdown, the end of speech).
    pub fn next_wakeup_ms(&self) -> Option<u64> {
        let inner = self.lock();
        let engine = inner.engine.session().next_wakeup_ms();
        match (engine, inner.audio.as_ref().and_then(audio::Audio::busy_until_ms)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Lets the library voice this run itself: each utterance stitched from the persona's pack
    /// in the run's language at `pack_dir` (see [`Pacenote::pack_dir`]) and played through
    /// `output` while `focus` ducks other audio; text no clip holds goes through `speech`. The
    /// session then knows when each utterance ends: do not call [`RunSession::cue_finished`].
    /// Needs a persona (not `neutral`) and `audio_reports_finish` in the settings. Decodes every clip and
    /// synthesises the plan's step notes now (call it before the run, off the main thread).
    pub fn attach_audio(
        &self,
        pack_dir: String,
        output: Arc<dyn audio::AudioOutput>,
        focus: Arc<dyn audio::AudioFocus>,
        speech: Arc<dyn audio::SpeechFallback>,
    ) -> Result<(), PacenoteError> {
        guarded(|| {
            let (persona, notes, reports_finish) = {
                let inner = self.lock();
                let session = inner.engine.session();
                let notes: Vec<String> = session.steps().iter().filter_map(|s| s.step.note.clone()).collect();
                let persona = inner.wording.persona().map(|p| (p.id.clone(), p.language));
                (persona, notes, session.config().audio_reports_finish)
            };
            let Some((persona, lang)) = persona else {
                return Err(PacenoteError::InvalidInput {
                    reason: "the neutral wording has no pack: voice it from the listener with the platform's speech".into(),
                });
            };
            if !reports_finish {
                return Err(PacenoteError::InvalidInput {
                    reason: "attach_audio needs RunOptions.audio_reports_finish = true".into(),
                });
            }
            // Outside the lock: decoding and synthesising take a while.
            let voice = audio::Audio::attach(&pack_dir, &persona, lang, &notes, output, focus, speech)
                .map_err(|reason| PacenoteError::InvalidInput { reason })?;
            self.lock().audio = Some(voice);
            tracing::info!(pack_dir, persona, "audio attached");
            Ok(())
        })
    }

    /// The run now, for the run screen.
    pub fn state(&self) -> RunState {
        self.lock().engine.session().state().into()
    }

    pub fn is_finished(&self) -> bool {
        self.lock().engine.session().is_finished()
    }

    pub fn summary(&self) -> RunSummary {
        self.lock().engine.session().summary().into()
    }

    /// The run's log (feedback, check-in, heat adjustment) as JSON lines, for storing with the
    /// run.
    pub fn log_json(&self) -> Vec<String> {
        // A log record is plain data: serialising it cannot fail.
        self.lock().engine.session().log().iter().filter_map(|r| serde_json::to_string(r).ok()).collect()
    }

    /// The store's id of this run (runs started from [`crate::store::Pacenote`] only).
    pub fn run_id(&self) -> Option<String> {
        match &self.lock().engine {
            Engine::Plain(_) => None,
            Engine::Recorded { journal, .. } => Some(journal.run_id().to_owned()),
        }
    }

    /// The plan step the run is in (index into the expanded plan), `None` before the start
    /// and after the end.
    pub fn current_step_index(&self) -> Option<u32> {
        self.lock().engine.session().current_step_index().map(count_u32)
    }

    /// Where a resumed run picked up (`None` for a run started fresh). Continue the run clock
    /// from its `t_ms`.
    pub fn resumed_at(&self) -> Option<ResumePoint> {
        self.lock().resumed
    }

    /// Stores the run as finished, ready to sync. Done by [`RunSession::check_in`]; call it
    /// when the runner skips the check-in. The writing happens on the store's writer thread.
    pub fn save(&self) -> Result<(), PacenoteError> {
        guarded(|| {
            let mut inner = self.lock();
            if let Engine::Recorded { journal, writer } = &mut inner.engine {
                writer.finish(journal);
            }
            Ok(())
        })
    }
}

impl Drop for RunSession {
    /// A session let go of (or closed) hands its last inputs to the writer: nothing is lost.
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Engine::Recorded { journal, writer } = &mut inner.engine {
            writer.append(journal);
        }
    }
}

/// The options a run is set up from, to be checked.
pub(crate) struct SessionSetupArgs(pub RunOptions);

/// A checked set-up: the plan, the persona and what the engine is built from.
pub(crate) struct SessionSetup {
    pub plan: Plan,
    pub wording: Wording,
    pub engine: pacenote_sync::recorder::SessionSetup,
}

impl SessionSetup {
    fn session(&self) -> engine::RunSession {
        engine::RunSession::with_context(
            &self.plan,
            self.engine.profile,
            self.engine.config,
            self.engine.context,
        )
    }
}

impl SessionSetupArgs {
    pub fn build(self) -> Result<SessionSetup, PacenoteError> {
        let options = self.0;
        let mut plan = Plan::from_json(options.plan_json.as_bytes()).inspect_err(|e| {
            tracing::warn!(error = %e, "run session refused: invalid plan");
        })?;
        let lang = Language::from_code(&options.lang).ok_or_else(|| {
            PacenoteError::invalid_input(format!(
                "RunOptions.lang {:?}: the personas speak en, de, es, fr",
                options.lang
            ))
        })?;
        let wording = Wording::named_in(&options.persona, lang)?;
        let left_out = plan.keep_notes_for(lang);
        if left_out > 0 {
            tracing::info!(
                left_out,
                lang = lang.code(),
                "the plan's step notes are in another language: not said"
            );
        }
        let conditions = options.weather.map(|w| Conditions::new(w.temp_c, w.dew_point_c)).transpose()?;
        let process = options.week.filter(|_| options.celebrate_week).map(|w| ProcessStatus {
            this_week: WeekTally {
                week_start: Default::default(),
                planned: w.runs_planned,
                done: w.runs_done,
            },
            streak_weeks: w.streak_weeks,
            week_complete: w.runs_planned > 0 && w.runs_done >= w.runs_planned,
        });
        let profile = options.profile.unwrap_or_default();
        let config = EngineConfig {
            chattiness: options.chattiness.unwrap_or_default(),
            auto_pause: options.auto_pause,
            audio_reports_finish: options.audio_reports_finish,
        };
        let engine = pacenote_sync::recorder::SessionSetup {
            profile,
            config,
            context: RunContext { conditions, process },
            lang,
            source: None,
        };
        Ok(SessionSetup { plan, wording, engine })
    }
}

impl RunSession {
    pub(crate) fn with_engine(
        engine: Engine,
        wording: Wording,
        listener: Arc<dyn CueListener>,
        resumed: Option<ResumePoint>,
    ) -> Arc<Self> {
        let session = engine.session();
        tracing::info!(
            steps = session.steps().len(),
            persona = %wording.name(),
            recorded = matches!(engine, Engine::Recorded { .. }),
            resumed = resumed.is_some(),
            "run session created"
        );
        Arc::new(Self { inner: Mutex::new(Inner { engine, wording, audio: None, resumed }), listener })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held was caught and reported; the state is still a valid
        // engine (every mutation completes or panics before writing).
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn feed(&self, input: Input) -> Result<(), PacenoteError> {
        // A sensor's NaN or infinite reading is dropped here, and logged: the engine would
        // ignore it, and a journal could not store it (JSON has no NaN) — an error instead
        // would make every app wrap every sensor callback for a glitch it cannot act on.
        let input = match input.finite() {
            Ok(input) => input,
            Err(not_finite) => {
                tracing::warn!(%not_finite, "reading dropped");
                return Ok(());
            }
        };
        let (said, store_due) = guarded(|| {
            let mut inner = self.lock();
            let inner = &mut *inner;
            // What the voice finished before this input comes first, at its own time.
            let mut queue: std::collections::VecDeque<Input> =
                inner.audio.as_mut().map(|a| a.tick(input.t_ms())).unwrap_or_default().into();
            queue.push_back(input);
            let mut said = Vec::new();
            let mut store_due = false;
            while let Some(next) = queue.pop_front() {
                let utterances = match &mut inner.engine {
                    // Rounded to the sensor's resolution as the journal rounds what it takes,
                    // so that a session with a journal and one without see the same numbers.
                    Engine::Plain(session) => session.handle(&next.at_sensor_resolution()),
                    Engine::Recorded { journal, .. } => {
                        let (utterances, due) = journal.take(&next)?;
                        store_due |= due;
                        utterances
                    }
                };
                for u in &utterances {
                    let (described, parts) = describe(&mut inner.wording, u);
                    if let Engine::Recorded { journal, .. } = &mut inner.engine {
                        journal.spoken(u, described.text.clone());
                    }
                    if let Some(audio) = &mut inner.audio {
                        queue.extend(audio.offer(u, &parts));
                    }
                    said.push(described);
                }
            }
            Ok((said, store_due))
        })?;
        // Outside the lock: a listener may call back into the session.
        for u in said {
            tracing::debug!(id = u.id, at_ms = u.at_ms, text = %u.text, "utterance");
            self.listener.on_utterance(u);
        }
        // Only then is the input handed to the store (written on the writer thread: no file
        // I/O here). A kill between the two leaves the input unstored and its words said once
        // more after resume; the other order could store an input whose words were never
        // heard. The writer takes whatever the journal holds, in order, so a listener that fed
        // the session meanwhile has already handed over these rows with its own.
        if let Engine::Recorded { journal, writer } = &mut self.lock().engine {
            if store_due {
                writer.append(journal);
            }
            if matches!(input, Input::CheckIn { .. }) {
                writer.finish(journal);
            }
        }
        Ok(())
    }
}

/// An engine utterance in the run's words, as the host receives it, and how a pack speaks it.
fn describe(
    wording: &mut Wording,
    u: &pacenote_core::cue::Utterance,
) -> (Utterance, Vec<pacenote_core::persona::Spoken>) {
    let (text, lines) = wording.lines(u);
    let cues = u
        .cues
        .iter()
        .zip(&lines)
        .map(|(c, line)| CueInfo {
            kind: c.kind,
            priority: c.priority,
            text: line.text.clone(),
            step: c.step.map(count_u32),
        })
        .collect();
    let parts = lines.into_iter().flat_map(|l| l.parts).collect();
    (Utterance { id: u.id, at_ms: u.at_ms, text, cues, interrupts: u.interrupts }, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{LogLevel, LogSink, init_logging};

    #[derive(Default)]
    struct Collect(Mutex<Vec<Utterance>>);
    impl CueListener for Collect {
        fn on_utterance(&self, utterance: Utterance) {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(utterance);
        }
    }

    const PLAN: &str = include_str!("../../core/plans/tempo-20.json");

    /// `plan` coached by `persona`, every other option the default.
    fn options(plan: &str, persona: &str) -> RunOptions {
        RunOptions { persona: persona.into(), ..RunOptions::plan(plan) }
    }

    #[test]
    fn a_run_speaks_through_the_listener_in_the_personas_words() {
        let listener = Arc::new(Collect::default());
        let session = RunSession::new(options(PLAN, "jenna"), listener.clone()).expect("a session");
        session.start(0).expect("start");
        session.finish(5_000).expect("finish");
        session.check_in(9_000, 5).expect("check-in");
        let said = listener.0.lock().expect("lock").clone();
        assert_eq!(said[0].cues[0].kind, CueKind::RunStart);
        assert!(said.iter().any(|u| u.cues.iter().any(|c| c.kind == CueKind::CheckIn)));
        assert_eq!(session.summary().effort, Some(5));
        assert!(session.is_finished());
    }

    #[test]
    fn a_persona_speaks_the_runners_language() {
        let listener = Arc::new(Collect::default());
        let german = RunOptions { lang: "de".into(), ..options(PLAN, "stone") };
        let session = RunSession::new(german, listener.clone()).expect("a German session");
        session.start(0).expect("start");
        session.finish(5_000).expect("finish");
        let said = listener.0.lock().expect("lock").clone();
        let german = pacenote_core::persona::Persona::bundled_in("stone", Language::De).expect("stone");
        let text = &said[0].text;
        assert!(
            german.variants(pacenote_core::cue::CueKind::RunStart).iter().any(|line| text.contains(line)),
            "a German run start: {text}"
        );
        // The plan's notes are English: a Spanish coach leaves them out rather than switch
        // language mid-sentence; an English coach says them.
        let notes = |lang: &str| {
            let listener = Arc::new(Collect::default());
            let plan = include_str!("../../core/plans/intervals-5x1k.json");
            let session =
                RunSession::new(RunOptions { lang: lang.into(), ..options(plan, "jenna") }, listener.clone())
                    .expect("a session");
            session.start(0).expect("start");
            let said =
                listener.0.lock().expect("lock").iter().map(|u| u.text.clone()).collect::<Vec<_>>().join(" ");
            said.contains("Ten minutes easy to get warm")
        };
        assert!(notes("en") && !notes("es"));
        let bad = RunOptions { lang: "tlh".into(), ..options(PLAN, "stone") };
        let e = RunSession::new(bad, listener).expect_err("no Klingon");
        assert!(e.to_string().contains("en, de, es, fr"), "{e}");
    }

    #[test]
    fn bad_input_is_a_typed_error_not_a_panic() {
        let listener = Arc::new(Collect::default());
        let e = RunSession::new(options("{", "stone"), listener.clone()).expect_err("malformed plan");
        assert!(matches!(e, PacenoteError::InvalidPlan { .. }), "{e}");
        let e = RunSession::new(options(PLAN, "yoda"), listener.clone()).expect_err("unknown persona");
        assert!(e.to_string().contains("stone"), "{e}");
        let hot = Some(Weather { temp_c: f64::NAN, dew_point_c: 10.0 });
        assert!(
            RunSession::new(RunOptions { weather: hot, ..options(PLAN, "stone") }, listener.clone()).is_err()
        );
        let session = RunSession::new(options(PLAN, "stone"), listener).expect("ok");
        assert!(matches!(session.check_in(0, 0), Err(PacenoteError::InvalidInput { .. })));
        // NaN readings are the engine's to reject: no error, no panic, nothing said.
        session.heart_rate(1_000, f64::NAN).expect("ignored");
        session
            .location(LocationFix {
                t_ms: 1_000,
                lat_deg: f64::NAN,
                lon_deg: 0.0,
                horizontal_accuracy_m: 5.0,
                speed_mps: None,
                speed_accuracy_mps: None,
                altitude_m: None,
            })
            .expect("ignored");
    }

    #[derive(Default)]
    struct Lines(Mutex<Vec<(LogLevel, String)>>);
    impl LogSink for Lines {
        fn log(&self, level: LogLevel, _target: String, message: String) {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((level, message));
        }
    }

    #[test]
    fn log_events_reach_the_host_sink_at_its_level() {
        let lines = Arc::new(Lines::default());
        init_logging(LogLevel::Info, lines.clone()).expect("installed");
        let listener = Arc::new(Collect::default());
        let _ = RunSession::new(options(PLAN, "stone"), listener).expect("a session");
        let got = lines.0.lock().expect("lock").clone();
        assert!(
            got.iter().any(|(l, m)| *l == LogLevel::Info
                && m.contains("run session created")
                && m.contains("stone")),
            "{got:?}"
        );
        // Debug lines (each utterance) are below the level asked for.
        assert!(got.iter().all(|(l, _)| *l != LogLevel::Debug), "{got:?}");
    }
}

//! Pacenote for Swift and Kotlin: the run engine, personas and coaching rules, the on-device
//! store and sync, behind one uniffi library (DESIGN §8).
//!
//! Threads: the feed calls of a [`RunSession`] run on the caller's thread and return quickly —
//! the engine is pure computation; a run started from [`Pacenote`] hands its batches to the
//! store's writer thread, so no feed call does file or network I/O. A [`CueListener`] is
//! called on the thread of the feed call that produced the utterance, before that call
//! returns; hand the work to your audio thread from there. Calls on one [`RunSession`] are
//! serialised by a lock. [`Pacenote::sync_now`] and [`Pacenote::preload`] are async and run on
//! the library's one tokio runtime, which calls the host's [`HttpTransport`].
//!
//! Errors: every exported call returns a [`PacenoteError`] with a message a developer can act
//! on; a Rust panic is caught at the boundary and becomes [`PacenoteError::Internal`], never an
//! abort.
//!
//! Must not: do I/O on a feed call's thread, keep global state beyond the runtime and the log
//! subscriber, or let a panic cross the FFI.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

use pacenote_core::coaching::goals::{ProcessStatus, WeekTally};
use pacenote_core::coaching::heat::Conditions;
use pacenote_core::coaching::readiness;
use pacenote_core::cue::{CueKind, Priority, neutral_text};
use pacenote_core::engine::{self, EngineConfig, Input, RunContext};
use pacenote_core::persona::{LineChooser, Persona};
use pacenote_core::plan::Plan;
use pacenote_core::sensor;

uniffi::setup_scaffolding!();

mod audio;
mod logging;
mod offline;
pub use audio::{AudioFailure, AudioFocus, AudioOutput, Pcm, SpeechFallback};
pub use logging::{LogLevel, LogSink, init_logging};
pub use offline::{
    HttpHeader, HttpRequest, HttpResponse, HttpTransport, OfflineReadiness, Pacenote, PreloadReport,
    ResumePoint, StoredRunInfo, SyncReport, TransportFailure,
};

/// What went wrong, with what to do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PacenoteError {
    /// The plan JSON is malformed or asks for something impossible; the message lists every
    /// problem with its JSON path.
    #[error("invalid plan: {problems}")]
    InvalidPlan { problems: String },
    /// No persona by that name ships in this library.
    #[error("unknown persona {name:?}: use one of {known}")]
    UnknownPersona { name: String, known: String },
    /// A value passed in is out of range (NaN, a negative time, a check-in of 11).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The on-device store failed (a full disk, a read-only file); what was stored is kept.
    #[error("store: {reason}")]
    Store { reason: String },
    /// A download or an upload failed; the message says which and why. Retry later.
    #[error("sync: {reason}")]
    Sync { reason: String },
    /// A bug in Pacenote (a panic caught at the boundary): please report the message.
    #[error("internal error, please report: {reason}")]
    Internal { reason: String },
}

/// Runs `f`, turning a panic into [`PacenoteError::Internal`].
fn guarded<T>(f: impl FnOnce() -> Result<T, PacenoteError>) -> Result<T, PacenoteError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(panic = %message, "a panic was caught at the FFI boundary");
        Err(PacenoteError::Internal { reason: message })
    })
}

/// The library's version.
#[uniffi::export]
pub fn pacenote_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// The personas that ship: `stone`, `jakes`, `jenna` (and `neutral`, the plain wording).
#[uniffi::export]
pub fn personas() -> Vec<String> {
    let mut out: Vec<String> =
        pacenote_core::persona::BUNDLED_PERSONAS.iter().map(|(id, _)| (*id).to_owned()).collect();
    out.push(NEUTRAL.to_owned());
    out
}

const NEUTRAL: &str = "neutral";

/// What the coach knows about the runner's heart.
#[derive(Debug, Clone, Copy, Default, uniffi::Record)]
pub struct RunnerProfile {
    pub max_hr_bpm: Option<f64>,
    pub resting_hr_bpm: Option<f64>,
    /// Lactate-threshold heart rate.
    pub lthr_bpm: Option<f64>,
}

/// How much the coach talks (step changes and safety are always said).
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum Chattiness {
    Quiet,
    Normal,
    Chatty,
}

/// How the session behaves.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct SessionSettings {
    pub chattiness: Chattiness,
    /// Pause the timer when the runner stops.
    pub auto_pause: bool,
    /// The app calls [`RunSession::cue_finished`] when each utterance ends; otherwise the
    /// engine estimates speech length from the words.
    pub audio_reports_finish: bool,
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

/// A location fix as the phone reports it.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct LocationFix {
    pub t_ms: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub horizontal_accuracy_m: f64,
    /// Doppler speed, when the phone gives one.
    pub speed_mps: Option<f64>,
    pub speed_accuracy_mps: Option<f64>,
    pub altitude_m: Option<f64>,
}

/// What the runner said (voice or a button).
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum Feedback {
    TooHard,
    TooEasy,
    /// Target coaching stops at once; the coach says to stop and walk.
    Pain,
}

// The core's cue kinds and priorities, exported as they are (uniffi remote types): a kind
// added in the core and not here is a compile error, not a string the apps never match.
#[uniffi::remote(Enum)]
pub enum CueKind {
    RunStart,
    RunFinish,
    SessionComplete,
    StepStart,
    Countdown,
    StepHalfway,
    RunHalfway,
    Split,
    SpeedUp,
    SlowDown,
    BackOnPace,
    HrAboveZone,
    HrBelowZone,
    BackInZone,
    HrVeryHigh,
    PainCheck,
    GpsLost,
    GpsBack,
    AutoPaused,
    AutoResumed,
    Encouragement,
    FreeToStop,
    EasyEaseOff,
    HeatAdjusted,
    CheckIn,
    HillEffort,
    StreakCelebration,
}

#[uniffi::remote(Enum)]
pub enum Priority {
    Encouragement,
    Stat,
    Correction,
    StepChange,
    Safety,
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
    pub counts_as_completed: bool,
    pub effort: Option<u8>,
}

/// Receives what the coach says. Called on the thread of the feed call, before it returns.
#[uniffi::export(foreign)]
pub trait CueListener: Send + Sync {
    fn on_utterance(&self, utterance: Utterance);
}

/// The engine, alone or journaled into the store (a run started from [`Pacenote`]).
enum Engine {
    Plain(engine::RunSession),
    Recorded { journal: pacenote_sync::recorder::Journal, writer: offline::Writer },
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
    persona: Option<Persona>,
    chooser: LineChooser,
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

/// Which line of a persona is said is chosen with this seed, as `pacenote replay` does, so a
/// run replayed through the library says the same words as the command.
pub const LINE_SEED: u64 = 1;

#[uniffi::export]
impl RunSession {
    /// A new run of `plan_json` (DESIGN §4) coached by `persona` (see [`personas`]).
    #[uniffi::constructor]
    pub fn new(
        plan_json: String,
        persona: String,
        profile: RunnerProfile,
        settings: SessionSettings,
        weather: Option<Weather>,
        week: Option<WeekSoFar>,
        listener: Arc<dyn CueListener>,
    ) -> Result<Arc<Self>, PacenoteError> {
        guarded(|| {
            let setup = SessionSetupArgs { plan_json, persona, profile, settings, weather, week }.build()?;
            Ok(Self::with_engine(Engine::Plain(setup.session()), setup.persona, listener, None))
        })
    }

    /// The run starts (the first call of a run).
    pub fn start(&self, t_ms: u64) -> Result<(), PacenoteError> {
        self.feed(Input::Start { t_ms })
    }

    pub fn location(&self, fix: LocationFix) -> Result<(), PacenoteError> {
        // Non-finite positions are the engine's to count and reject; a NaN time cannot happen.
        self.feed(Input::Fix(sensor::LocationFix {
            t_ms: fix.t_ms,
            lat_deg: fix.lat_deg,
            lon_deg: fix.lon_deg,
            horizontal_accuracy_m: fix.horizontal_accuracy_m,
            speed_mps: fix.speed_mps,
            speed_accuracy_mps: fix.speed_accuracy_mps,
            altitude_m: fix.altitude_m,
        }))
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

    pub fn feedback(&self, t_ms: u64, feedback: Feedback) -> Result<(), PacenoteError> {
        let feedback = match feedback {
            Feedback::TooHard => engine::RunnerFeedback::TooHard,
            Feedback::TooEasy => engine::RunnerFeedback::TooEasy,
            Feedback::Pain => engine::RunnerFeedback::Pain,
        };
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
    /// at `pack_dir` (see [`Pacenote::pack_dir`]) and played through `output` while `focus`
    /// ducks other audio; text no clip holds goes through `speech`. The session then knows
    /// when each utterance ends: do not call [`RunSession::cue_finished`]. Needs a persona (not
    /// `neutral`) and `audio_reports_finish` in the settings. Decodes every clip and
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
                (inner.persona.as_ref().map(|p| p.id.clone()), notes, session.config().audio_reports_finish)
            };
            let Some(persona) = persona else {
                return Err(PacenoteError::InvalidInput {
                    reason: "the neutral wording has no pack: voice it from the listener with the platform's speech".into(),
                });
            };
            if !reports_finish {
                return Err(PacenoteError::InvalidInput {
                    reason: "attach_audio needs SessionSettings.audio_reports_finish = true".into(),
                });
            }
            // Outside the lock: decoding and synthesising take a while.
            let voice = audio::Audio::attach(&pack_dir, &persona, &notes, output, focus, speech)
                .map_err(|reason| PacenoteError::InvalidInput { reason })?;
            self.lock().audio = Some(voice);
            tracing::info!(pack_dir, persona, "audio attached");
            Ok(())
        })
    }

    pub fn is_finished(&self) -> bool {
        self.lock().engine.session().is_finished()
    }

    pub fn summary(&self) -> RunSummary {
        let inner = self.lock();
        let s = inner.engine.session().summary();
        RunSummary {
            distance_m: s.distance_m,
            moving_time_s: s.moving_time_s,
            steps_completed: u32::try_from(s.steps_completed).unwrap_or(u32::MAX),
            cues_spoken: s.cues_spoken,
            cues_dropped: s.cues_dropped,
            counts_as_completed: s.counts_as_completed,
            effort: s.effort,
        }
    }

    /// The run's log (feedback, check-in, heat adjustment) as JSON lines, for storing with the
    /// run.
    pub fn log_json(&self) -> Vec<String> {
        // A log record is plain data: serialising it cannot fail.
        self.lock().engine.session().log().iter().filter_map(|r| serde_json::to_string(r).ok()).collect()
    }

    /// The store's id of this run (runs started from [`Pacenote`] only).
    pub fn run_id(&self) -> Option<String> {
        match &self.lock().engine {
            Engine::Plain(_) => None,
            Engine::Recorded { journal, .. } => Some(journal.run_id().to_owned()),
        }
    }

    /// The plan step the run is in (index into the expanded plan), `None` before the start
    /// and after the end.
    pub fn current_step_index(&self) -> Option<u32> {
        self.lock().engine.session().current_step_index().and_then(|i| u32::try_from(i).ok())
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

/// The arguments a run is set up from, checked.
pub(crate) struct SessionSetupArgs {
    pub plan_json: String,
    pub persona: String,
    pub profile: RunnerProfile,
    pub settings: SessionSettings,
    pub weather: Option<Weather>,
    pub week: Option<WeekSoFar>,
}

/// A checked set-up: the plan, the persona and what the engine is built from.
pub(crate) struct SessionSetup {
    pub plan: Plan,
    pub persona: Option<Persona>,
    pub engine: pacenote_sync::recorder::SessionSetup,
}

impl SessionSetup {
    pub fn persona_name(&self) -> &str {
        self.persona.as_ref().map_or(NEUTRAL, |p| p.id.as_str())
    }

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
        let plan = Plan::from_json(self.plan_json.as_bytes()).map_err(|e| {
            tracing::warn!(error = %e, "run session refused: invalid plan");
            PacenoteError::InvalidPlan { problems: e.to_string() }
        })?;
        let persona = persona_by_name(&self.persona)?;
        let conditions = self
            .weather
            .map(|w| Conditions::new(w.temp_c, w.dew_point_c))
            .transpose()
            .map_err(|e| PacenoteError::InvalidInput { reason: e.to_string() })?;
        let process = self.week.map(|w| ProcessStatus {
            this_week: WeekTally {
                week_start: Default::default(),
                planned: w.runs_planned,
                done: w.runs_done,
            },
            streak_weeks: w.streak_weeks,
            week_complete: w.runs_planned > 0 && w.runs_done >= w.runs_planned,
        });
        let profile = pacenote_core::profile::RunnerProfile {
            max_hr_bpm: self.profile.max_hr_bpm,
            resting_hr_bpm: self.profile.resting_hr_bpm,
            lthr_bpm: self.profile.lthr_bpm,
        };
        let config = EngineConfig {
            chattiness: match self.settings.chattiness {
                Chattiness::Quiet => engine::Chattiness::Quiet,
                Chattiness::Normal => engine::Chattiness::Normal,
                Chattiness::Chatty => engine::Chattiness::Chatty,
            },
            auto_pause: self.settings.auto_pause,
            audio_reports_finish: self.settings.audio_reports_finish,
        };
        let engine = pacenote_sync::recorder::SessionSetup {
            profile,
            config,
            context: RunContext { conditions, process },
            source: None,
        };
        Ok(SessionSetup { plan, persona, engine })
    }
}

/// A bundled persona, or `None` for the plain wording.
pub(crate) fn persona_by_name(name: &str) -> Result<Option<Persona>, PacenoteError> {
    if name == NEUTRAL {
        return Ok(None);
    }
    Persona::bundled(name)
        .map(Some)
        .map_err(|_| PacenoteError::UnknownPersona { name: name.to_owned(), known: personas().join(", ") })
}

impl RunSession {
    pub(crate) fn with_engine(
        engine: Engine,
        persona: Option<Persona>,
        listener: Arc<dyn CueListener>,
        resumed: Option<ResumePoint>,
    ) -> Arc<Self> {
        let session = engine.session();
        tracing::info!(
            steps = session.steps().len(),
            persona = %persona.as_ref().map_or(NEUTRAL, |p| p.id.as_str()),
            recorded = matches!(engine, Engine::Recorded { .. }),
            resumed = resumed.is_some(),
            "run session created"
        );
        Arc::new(Self {
            inner: Mutex::new(Inner {
                engine,
                persona,
                chooser: LineChooser::new(LINE_SEED),
                audio: None,
                resumed,
            }),
            listener,
        })
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
        let said = guarded(|| {
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
                    Engine::Plain(session) => session.handle(&next),
                    Engine::Recorded { journal, .. } => {
                        let (utterances, due) = journal
                            .take(&next)
                            .map_err(|e| PacenoteError::InvalidInput { reason: e.to_string() })?;
                        store_due |= due;
                        utterances
                    }
                };
                for u in &utterances {
                    let (described, parts) = describe(&inner.persona, &mut inner.chooser, u);
                    if let Engine::Recorded { journal, .. } = &mut inner.engine {
                        journal.spoken(u, described.text.clone());
                    }
                    if let Some(audio) = &mut inner.audio {
                        queue.extend(audio.offer(u, &parts));
                    }
                    said.push(described);
                }
            }
            if let Engine::Recorded { journal, writer } = &mut inner.engine {
                // The store is written on the writer thread: no file I/O here.
                if store_due {
                    writer.append(journal);
                }
                if matches!(input, Input::CheckIn { .. }) {
                    writer.finish(journal);
                }
            }
            Ok(said)
        })?;
        // Outside the lock: a listener may call back into the session.
        for u in said {
            tracing::debug!(id = u.id, at_ms = u.at_ms, text = %u.text, "utterance");
            self.listener.on_utterance(u);
        }
        Ok(())
    }
}

/// An engine utterance in the persona's words, as the host receives it, and how a pack speaks
/// it.
fn describe(
    persona: &Option<Persona>,
    chooser: &mut LineChooser,
    u: &pacenote_core::cue::Utterance,
) -> (Utterance, Vec<pacenote_core::persona::Spoken>) {
    let lines: Vec<pacenote_core::persona::Line> = u
        .cues
        .iter()
        .map(|c| match persona {
            Some(p) => p.line(c, chooser),
            None => {
                let text = neutral_text(c);
                pacenote_core::persona::Line {
                    parts: vec![pacenote_core::persona::Spoken::Free(text.clone())],
                    text,
                }
            }
        })
        .collect();
    let text = match persona {
        Some(_) => pacenote_core::cue::join_sentences(lines.iter().map(|l| l.text.clone())),
        None => u.neutral_text(),
    };
    let cues = u
        .cues
        .iter()
        .zip(&lines)
        .map(|(c, line)| CueInfo {
            kind: c.kind,
            priority: c.priority,
            text: line.text.clone(),
            step: c.step.and_then(|s| u32::try_from(s).ok()),
        })
        .collect();
    let parts = lines.into_iter().flat_map(|l| l.parts).collect();
    (Utterance { id: u.id, at_ms: u.at_ms, text, cues, interrupts: u.interrupts }, parts)
}

/// This morning's check (every field optional but the pairs: today's and the baseline resting
/// HR together; HRV with its baseline and SD).
#[derive(Debug, Clone, Copy, Default, uniffi::Record)]
pub struct MorningCheck {
    pub resting_hr_bpm: Option<f64>,
    pub baseline_resting_hr_bpm: Option<f64>,
    pub raised_resting_hr_mornings: Option<u32>,
    pub hrv_ms: Option<f64>,
    pub baseline_hrv_ms: Option<f64>,
    pub hrv_sd_ms: Option<f64>,
    pub poor_sleep_nights: u32,
    pub heavy_legs: bool,
    pub dread: bool,
    pub pain_days: u32,
}

/// The coach's proposal before a run; the runner decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Recommendation {
    AsPlanned,
    Easy,
    Rest,
    SeeProfessional,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Readiness {
    pub recommendation: Recommendation,
    pub reasons: Vec<String>,
}

/// The pre-run readiness check (DESIGN §9): run as planned, easy, rest, or see a professional.
#[uniffi::export]
pub fn readiness(check: MorningCheck) -> Result<Readiness, PacenoteError> {
    guarded(|| {
        let r = readiness::assess(&readiness::MorningCheck {
            resting_hr_bpm: check.resting_hr_bpm,
            baseline_resting_hr_bpm: check.baseline_resting_hr_bpm,
            raised_resting_hr_mornings: check.raised_resting_hr_mornings,
            hrv_ms: check.hrv_ms,
            baseline_hrv_ms: check.baseline_hrv_ms,
            hrv_sd_ms: check.hrv_sd_ms,
            poor_sleep_nights: check.poor_sleep_nights,
            heavy_legs: check.heavy_legs,
            dread: check.dread,
            pain_days: check.pain_days,
        })
        .map_err(|e| PacenoteError::InvalidInput { reason: e.to_string() })?;
        Ok(Readiness {
            recommendation: match r.recommendation {
                readiness::Recommendation::AsPlanned => Recommendation::AsPlanned,
                readiness::Recommendation::Easy => Recommendation::Easy,
                readiness::Recommendation::Rest => Recommendation::Rest,
                readiness::Recommendation::SeeProfessional => Recommendation::SeeProfessional,
            },
            reasons: r.reasons,
        })
    })
}

/// The runner chose to go easy: the plan swapped for one easy step (about as long, capped,
/// under an HR cap when max HR is known). Returns the new plan's JSON for [`RunSession::new`].
#[uniffi::export]
pub fn easy_version(plan_json: String, max_hr_bpm: Option<f64>) -> Result<String, PacenoteError> {
    guarded(|| {
        let plan = Plan::from_json(plan_json.as_bytes())
            .map_err(|e| PacenoteError::InvalidPlan { problems: e.to_string() })?;
        let seconds = readiness::planned_seconds(&plan, EASY_PACE_S_PER_KM);
        Ok(readiness::easy_version(&plan, seconds, max_hr_bpm).to_json_pretty())
    })
}

/// Distance steps are timed at this easy pace when a session is swapped for an easy one.
const EASY_PACE_S_PER_KM: f64 = 390.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Utterance>>);
    impl CueListener for Collect {
        fn on_utterance(&self, utterance: Utterance) {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(utterance);
        }
    }

    const PLAN: &str = include_str!("../../core/plans/tempo-20.json");
    const SETTINGS: SessionSettings =
        SessionSettings { chattiness: Chattiness::Normal, auto_pause: true, audio_reports_finish: false };

    #[test]
    fn a_run_speaks_through_the_listener_in_the_personas_words() {
        let listener = Arc::new(Collect::default());
        let session = RunSession::new(
            PLAN.into(),
            "jenna".into(),
            RunnerProfile::default(),
            SETTINGS,
            None,
            None,
            listener.clone(),
        )
        .expect("a session");
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
    fn bad_input_is_a_typed_error_not_a_panic() {
        let listener = Arc::new(Collect::default());
        let e = RunSession::new(
            "{".into(),
            "stone".into(),
            RunnerProfile::default(),
            SETTINGS,
            None,
            None,
            listener.clone(),
        )
        .expect_err("malformed plan");
        assert!(matches!(e, PacenoteError::InvalidPlan { .. }), "{e}");
        let e = RunSession::new(
            PLAN.into(),
            "yoda".into(),
            RunnerProfile::default(),
            SETTINGS,
            None,
            None,
            listener.clone(),
        )
        .expect_err("unknown persona");
        assert!(e.to_string().contains("stone"), "{e}");
        let hot = Some(Weather { temp_c: f64::NAN, dew_point_c: 10.0 });
        assert!(
            RunSession::new(
                PLAN.into(),
                "stone".into(),
                RunnerProfile::default(),
                SETTINGS,
                hot,
                None,
                listener.clone()
            )
            .is_err()
        );
        let session = RunSession::new(
            PLAN.into(),
            "stone".into(),
            RunnerProfile::default(),
            SETTINGS,
            None,
            None,
            listener,
        )
        .expect("ok");
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
        let _ = RunSession::new(
            PLAN.into(),
            "stone".into(),
            RunnerProfile::default(),
            SETTINGS,
            None,
            None,
            listener,
        )
        .expect("a session");
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

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let r: Result<(), PacenoteError> = guarded(|| panic!("boom"));
        assert!(matches!(r, Err(PacenoteError::Internal { reason }) if reason == "boom"));
    }

    #[test]
    fn readiness_and_the_easy_version_through_the_api() {
        let r = readiness(MorningCheck { pain_days: 5, ..MorningCheck::default() }).expect("valid");
        assert_eq!(r.recommendation, Recommendation::SeeProfessional);
        let easy = easy_version(PLAN.into(), Some(190.0)).expect("a plan");
        assert!(easy.contains("\"easy\""), "{easy}");
        assert!(readiness(MorningCheck { resting_hr_bpm: Some(50.0), ..MorningCheck::default() }).is_err());
    }
}

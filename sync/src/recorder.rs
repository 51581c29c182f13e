//! Recording a run so that a kill at any moment loses at most the last second, and resuming it
//! at the right step after the app is relaunched.
//!
//! The store keeps every input the engine took, in order; the engine is deterministic, so
//! replaying those inputs into a fresh session rebuilds it exactly (plan progress, estimators,
//! scheduler), and the run goes on from there. Inputs, cues and log events are committed
//! together with a checkpoint at least every second of run time. Must not: sleep, touch the
//! network, or hold back a batch the store refused (it stays pending and is retried).

use pacenote_core::coaching::analysis::{RunAnalysis, analyse, reference_hr_bpm};
use pacenote_core::coaching::trace::RunTrace;
use pacenote_core::cue::Utterance;
use pacenote_core::engine::{EngineConfig, Input, NotFinite, RunContext, RunSession, RunSummary};
use pacenote_core::plan::Plan;
use pacenote_core::profile::RunnerProfile;
use pacenote_core::speech::Language;
use serde::{Deserialize, Serialize};

use crate::store::{Batch, Checkpoint, FinishedRun, NewRun, SpokenCue, Store, StoreError, StoredEvent};

/// Commit at least this often in run time: a kill loses less than this (DESIGN §7, §11).
pub const COMMIT_EVERY_MS: u64 = 1000;

/// Everything besides the plan that the engine was built from, stored with the run so that
/// resume rebuilds the same engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSetup {
    pub profile: RunnerProfile,
    pub config: EngineConfig,
    pub context: RunContext,
    /// The language the coach speaks, so that a resumed run goes on in it (runs stored before
    /// the personas spoke other languages load as English, which they were).
    #[serde(default)]
    pub lang: Language,
    /// Where the sensor data comes from, for hosts that replay a file (the CLI): opaque here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
}

/// What went wrong recording or resuming.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run_id}: {message}")]
    Run { run_id: String, message: String },
    /// A reading whose number is NaN or infinite: neither fed to the engine nor journaled
    /// (JSON has no NaN; what the journal stores has to load back).
    #[error(transparent)]
    NotFinite(#[from] NotFinite),
}

impl RecordError {
    fn run(run_id: &str, message: impl ToString) -> Self {
        Self::Run { run_id: run_id.to_owned(), message: message.to_string() }
    }
}

/// Where a resumed run picked up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resumed {
    /// The checkpoint as stored.
    pub checkpoint: Option<Checkpoint>,
    /// The rebuilt engine's run clock, step, distance and moving time.
    pub t_ms: u64,
    pub step_index: Option<usize>,
    pub distance_m: f64,
    pub moving_ms: u64,
    /// Inputs replayed.
    pub samples: u64,
    /// The language the run was coached in, from its stored set-up: it goes on in it.
    pub lang: Language,
}

/// A run's engine and its journal: every input it takes, the cues spoken and the log events,
/// batched until a second of run time has passed. Pure bookkeeping: the caller stores the
/// batches ([`Recorder`] at once; the mobile library on its writer thread).
#[derive(Debug)]
pub struct Journal {
    run_id: String,
    session: RunSession,
    pending: Batch,
    /// Inputs the engine took, stored or pending.
    samples: u64,
    /// Log records of the session already queued for the store.
    logged: usize,
    /// Run clock of the newest input handed out for storing.
    flushed_ms: Option<u64>,
    /// What the post-run analysis reads, built as the run goes (and again on resume).
    trace: RunTrace,
    /// The heart rate the stored analysis reads pace at (from the runner's max HR).
    reference_hr_bpm: f64,
}

impl Journal {
    /// Starts a new run in the store and returns its journal.
    pub fn start(
        store: &mut Store,
        run_id: &str,
        plan: &Plan,
        persona: &str,
        setup: &SessionSetup,
        started_at_unix_ms: u64,
    ) -> Result<Self, RecordError> {
        let session_json = serde_json::to_string(setup).map_err(|e| RecordError::run(run_id, e))?;
        let plan_json = serde_json::to_string(plan).map_err(|e| RecordError::run(run_id, e))?;
        store.create_run(&NewRun {
            id: run_id,
            plan_id: &plan.id,
            plan_json: &plan_json,
            persona,
            started_at_unix_ms,
            session_json: &session_json,
        })?;
        let session = RunSession::with_context(plan, setup.profile, setup.config, setup.context);
        Ok(Self {
            run_id: run_id.to_owned(),
            session,
            pending: Batch::default(),
            samples: 0,
            logged: 0,
            flushed_ms: None,
            trace: RunTrace::new(),
            reference_hr_bpm: reference_hr_bpm(setup.profile.max_hr_bpm),
        })
    }

    /// Rebuilds an interrupted run from the store: a fresh engine takes every stored input
    /// again (what it says is not said again), and the run goes on from there.
    pub fn resume(store: &Store, run_id: &str) -> Result<(Self, Resumed), RecordError> {
        let rebuilt = Rebuilt::from_store(store, run_id, false)?;
        let summary = rebuilt.session.summary();
        let resumed = Resumed {
            checkpoint: store.checkpoint(run_id)?,
            t_ms: rebuilt.session.now_ms(),
            step_index: rebuilt.session.current_step_index(),
            distance_m: summary.distance_m,
            moving_ms: (summary.moving_time_s * 1000.0).round() as u64,
            samples: rebuilt.samples,
            lang: rebuilt.lang,
        };
        let journal = Self {
            run_id: run_id.to_owned(),
            logged: rebuilt.session.log().len(),
            session: rebuilt.session,
            pending: Batch::default(),
            samples: rebuilt.samples,
            flushed_ms: rebuilt.last_input_ms,
            trace: rebuilt.trace,
            reference_hr_bpm: rebuilt.reference_hr_bpm,
        };
        Ok((journal, resumed))
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn session(&self) -> &RunSession {
        &self.session
    }

    /// Inputs taken so far (stored or pending).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Hands one input to the engine and journals it. Returns what the engine wants said
    /// (report the words with [`Self::spoken`]) and whether a batch is due for the store: a
    /// second of run time since the last one, or the start, the finish or the check-in.
    ///
    /// A reading with a non-finite number is refused whole ([`RecordError::NotFinite`]; the
    /// engine would ignore it anyway), a fix's non-finite optional numbers dropped; every
    /// number is rounded to its sensor's resolution ([`Input::at_sensor_resolution`]).
    pub fn take(&mut self, input: &Input) -> Result<(Vec<Utterance>, bool), RecordError> {
        // What the engine sees is what is journaled: rounded to the sensor's resolution.
        let input = &input.finite()?.at_sensor_resolution();
        let json = serde_json::to_string(input).map_err(|e| RecordError::run(&self.run_id, e))?;
        let utterances = self.session.handle(input);
        trace_input(&mut self.trace, &self.session, input);
        let t_ms = input.t_ms();
        self.pending.inputs.push((t_ms, json));
        self.samples += 1;
        for record in &self.session.log()[self.logged..] {
            let json = serde_json::to_string(record).map_err(|e| RecordError::run(&self.run_id, e))?;
            self.pending.events.push(StoredEvent { t_ms: record.t_ms().unwrap_or(t_ms), json });
        }
        self.logged = self.session.log().len();
        let milestone = matches!(input, Input::Start { .. } | Input::Finish { .. } | Input::CheckIn { .. });
        let due = self.flushed_ms.is_none_or(|c| t_ms >= c + COMMIT_EVERY_MS);
        Ok((utterances, milestone || due))
    }

    /// Records the words an utterance was spoken with (stored with the next batch).
    pub fn spoken(&mut self, utterance: &Utterance, text: String) {
        let kinds = utterance.cues.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>().join(",");
        self.pending.cues.push(SpokenCue { utterance_id: utterance.id, at_ms: utterance.at_ms, kinds, text });
    }

    /// Everything pending, with the checkpoint it leads to (`None` when nothing is pending).
    pub fn flush(&mut self) -> Option<(Batch, Checkpoint)> {
        if self.pending.is_empty() {
            return None;
        }
        let summary = self.session.summary();
        let checkpoint = Checkpoint {
            t_ms: self.session.now_ms(),
            samples: self.samples,
            step_index: self.session.current_step_index().and_then(|i| u32::try_from(i).ok()),
            distance_m: summary.distance_m,
            moving_ms: (summary.moving_time_s * 1000.0).round() as u64,
        };
        self.flushed_ms = self.pending.inputs.last().map(|(t, _)| *t).or(self.flushed_ms);
        Some((std::mem::take(&mut self.pending), checkpoint))
    }

    /// Puts back a batch the store refused, ahead of what came since: it goes with the next.
    pub fn unflush(&mut self, mut batch: Batch) {
        batch.inputs.append(&mut self.pending.inputs);
        batch.cues.append(&mut self.pending.cues);
        batch.events.append(&mut self.pending.events);
        self.pending = batch;
    }

    /// What the finished run's header keeps: the summary, the analysis and the check-in.
    pub fn finished(&self) -> Result<FinishedRun, RecordError> {
        let summary = self.session.summary();
        let analysis = analyse(self.trace.points(), self.reference_hr_bpm);
        let error = |e: serde_json::Error| RecordError::run(&self.run_id, e);
        Ok(FinishedRun {
            summary_json: serde_json::to_string(&summary).map_err(error)?,
            analysis_json: serde_json::to_string(&analysis).map_err(error)?,
            effort: summary.effort,
        })
    }
}

/// A run's engine and trace rebuilt from its stored inputs.
struct Rebuilt {
    session: RunSession,
    trace: RunTrace,
    reference_hr_bpm: f64,
    samples: u64,
    last_input_ms: Option<u64>,
    lang: Language,
}

impl Rebuilt {
    /// Replays the stored inputs of `run_id` into a fresh engine; a finished run is refused
    /// unless `finished_too` (it has nothing to resume, but its analysis can be rebuilt).
    fn from_store(store: &Store, run_id: &str, finished_too: bool) -> Result<Self, RecordError> {
        let setup =
            store.setup(run_id)?.ok_or_else(|| RecordError::run(run_id, "no such run in the store"))?;
        if setup.summary_json.is_some() && !finished_too {
            return Err(RecordError::run(run_id, "has finished already: there is nothing to resume"));
        }
        let plan = Plan::from_json(setup.plan_json.as_bytes())
            .map_err(|e| RecordError::run(run_id, format!("its stored plan does not load: {e}")))?;
        let session_setup: SessionSetup = serde_json::from_str(&setup.session_json)
            .map_err(|e| RecordError::run(run_id, format!("its stored engine set-up does not load: {e}")))?;
        let mut session = RunSession::with_context(
            &plan,
            session_setup.profile,
            session_setup.config,
            session_setup.context,
        );
        let inputs = store.inputs(run_id)?;
        let mut trace = RunTrace::new();
        for (seq, (_, json)) in inputs.iter().enumerate() {
            let input: Input = serde_json::from_str(json)
                .map_err(|e| RecordError::run(run_id, format!("stored input {seq} does not load: {e}")))?;
            session.handle(&input);
            trace_input(&mut trace, &session, &input);
        }
        Ok(Self {
            session,
            trace,
            reference_hr_bpm: reference_hr_bpm(session_setup.profile.max_hr_bpm),
            samples: inputs.len() as u64,
            last_input_ms: inputs.last().map(|(t, _)| *t),
            lang: session_setup.lang,
        })
    }
}

/// The post-run analysis of a stored run, rebuilt from its inputs (a run finished before
/// analyses were stored); `None` when its inputs have left the phone.
pub fn analyse_stored(store: &Store, run_id: &str) -> Result<Option<RunAnalysis>, RecordError> {
    let rebuilt = Rebuilt::from_store(store, run_id, true)?;
    if rebuilt.samples == 0 {
        return Ok(None);
    }
    Ok(Some(analyse(rebuilt.trace.points(), rebuilt.reference_hr_bpm)))
}

/// The engine's distance and moving time after `input`, into the run's trace.
fn trace_input(trace: &mut RunTrace, session: &RunSession, input: &Input) {
    let summary = session.summary();
    trace.take(input, summary.distance_m, summary.moving_time_s);
}

/// A run recorded straight into the store, on the caller's thread (the CLI).
#[derive(Debug)]
pub struct Recorder {
    journal: Journal,
}

impl Recorder {
    /// Starts a new run in the store.
    pub fn start(
        store: &mut Store,
        run_id: &str,
        plan: &Plan,
        persona: &str,
        setup: &SessionSetup,
        started_at_unix_ms: u64,
    ) -> Result<Self, RecordError> {
        Ok(Self { journal: Journal::start(store, run_id, plan, persona, setup, started_at_unix_ms)? })
    }

    /// Rebuilds an interrupted run from the store ([`Journal::resume`]).
    pub fn resume(store: &Store, run_id: &str) -> Result<(Self, Resumed), RecordError> {
        let (journal, resumed) = Journal::resume(store, run_id)?;
        Ok((Self { journal }, resumed))
    }

    pub fn run_id(&self) -> &str {
        self.journal.run_id()
    }

    pub fn session(&self) -> &RunSession {
        self.journal.session()
    }

    /// Inputs taken so far (stored or pending).
    pub fn samples(&self) -> u64 {
        self.journal.samples()
    }

    /// Hands one input to the engine and commits when a batch is due ([`Journal::take`]).
    ///
    /// A store failure is returned after the engine took the input: the run goes on in memory
    /// and the batch stays pending for the next commit.
    pub fn feed(&mut self, store: &mut Store, input: &Input) -> Result<Vec<Utterance>, RecordError> {
        let (utterances, due) = self.journal.take(input)?;
        if due {
            self.commit(store)?;
        }
        Ok(utterances)
    }

    /// Records the words an utterance was spoken with (stored with the next commit).
    pub fn spoken(&mut self, utterance: &Utterance, text: String) {
        self.journal.spoken(utterance, text);
    }

    /// Stores everything pending with a new checkpoint, in one transaction.
    pub fn commit(&mut self, store: &mut Store) -> Result<(), StoreError> {
        let Some((batch, checkpoint)) = self.journal.flush() else { return Ok(()) };
        if let Err(e) = store.append(self.journal.run_id(), &batch, checkpoint) {
            self.journal.unflush(batch);
            return Err(e);
        }
        Ok(())
    }

    /// Commits the rest and marks the run finished with its summary.
    pub fn finish(mut self, store: &mut Store) -> Result<RunSummary, RecordError> {
        self.commit(store)?;
        let finished = self.journal.finished()?;
        store.finish_run(self.journal.run_id(), &finished)?;
        Ok(self.journal.session().summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacenote_core::engine::replay;

    fn plan() -> Plan {
        let json = include_str!("../../core/plans/tempo-20.json");
        Plan::from_json(json.as_bytes()).expect("bundled plan")
    }

    /// A steady 3 m/s run east along the equator for `seconds`, as a host would feed it.
    fn inputs(seconds: u64) -> Vec<Input> {
        let mut out = vec![Input::Start { t_ms: 0 }];
        for s in 1..=seconds {
            out.push(Input::Fix(pacenote_core::sensor::LocationFix {
                t_ms: s * 1000,
                lat_deg: 0.0,
                lon_deg: s as f64 * 3.0 / 111_320.0,
                horizontal_accuracy_m: 5.0,
                speed_mps: Some(3.0),
                speed_accuracy_mps: None,
                altitude_m: None,
            }));
        }
        out.push(Input::Finish { t_ms: seconds * 1000 + 1 });
        out
    }

    fn feed_all(rec: &mut Recorder, store: &mut Store, inputs: &[Input]) {
        for input in inputs {
            while let Some(t) = replay::due_tick_ms(rec.session(), input.t_ms()) {
                rec.feed(store, &Input::Tick { t_ms: t }).expect("tick");
            }
            for u in rec.feed(store, input).expect("feed") {
                let text = u.neutral_text();
                rec.spoken(&u, text);
            }
        }
    }

    #[test]
    fn a_recorded_run_commits_every_second_and_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("device.db");
        let mut store = Store::open(&path).expect("open");
        let all = inputs(600);
        let mut rec = Recorder::start(&mut store, "r1", &plan(), "neutral", &SessionSetup::default(), 1)
            .expect("start");
        let (first, rest) = all.split_at(300);
        feed_all(&mut rec, &mut store, first);
        let fed_ms = rec.session().now_ms();
        let step = rec.session().current_step_index();
        // The process dies here: whatever was pending is gone.
        drop(rec);
        drop(store);
        let mut store = Store::open(&path).expect("reopen");
        let stored = store.inputs("r1").expect("inputs");
        let last_ms = stored.last().map(|(t, _)| *t).expect("some stored");
        assert!(fed_ms - last_ms < COMMIT_EVERY_MS, "lost {} ms", fed_ms - last_ms);
        assert_eq!(store.unfinished_run().expect("query").as_deref(), Some("r1"));
        let (mut rec, resumed) = Recorder::resume(&store, "r1").expect("resume");
        let checkpoint = resumed.checkpoint.expect("checkpoint");
        assert_eq!(resumed.step_index.map(|i| i as u32), checkpoint.step_index);
        assert_eq!(resumed.step_index, step);
        assert!((resumed.distance_m - checkpoint.distance_m).abs() < 1e-9);
        assert_eq!(resumed.samples, checkpoint.samples);
        feed_all(&mut rec, &mut store, rest);
        let summary = rec.finish(&mut store).expect("finish");

        // The same run uninterrupted ends the same (the resumed engine is the same engine).
        let mut whole = RunSession::new(&plan(), RunnerProfile::default(), EngineConfig::default());
        replay::run(&mut whole, &all);
        assert!((whole.summary().distance_m - summary.distance_m).abs() < 1.0);
        assert_eq!(whole.summary().steps_completed, summary.steps_completed);
        assert!(store.runs().expect("runs")[0].finished);
        assert!(Recorder::resume(&store, "r1").is_err(), "a finished run is not resumed");

        // Its post-run analysis, rebuilt on resume, is the uninterrupted run's, and says the
        // run's own distance and time.
        let mut rec = Recorder::start(&mut store, "r2", &plan(), "neutral", &SessionSetup::default(), 2)
            .expect("start");
        feed_all(&mut rec, &mut store, &all);
        rec.finish(&mut store).expect("finish");
        let (runs, _) = crate::history::past_runs(&store, 0).expect("history");
        let (a, b) = (runs[0].analysis.clone().expect("stored"), runs[1].analysis.clone().expect("stored"));
        assert_eq!(a, b);
        assert!((a.distance_m - summary.distance_m).abs() < 1e-9 && a.moving_time_s == summary.moving_time_s);
        assert_eq!(a.splits.len(), (summary.distance_m / 1000.0) as usize);
        // A run finished before analyses were kept gets one rebuilt from its inputs.
        assert_eq!(analyse_stored(&store, "r1").expect("rebuilt"), Some(a));
    }

    #[test]
    fn a_full_disk_is_a_clear_error_and_keeps_what_was_stored() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("device.db");
        let mut store = Store::open(&path).expect("open");
        let mut rec = Recorder::start(&mut store, "r1", &plan(), "neutral", &SessionSetup::default(), 1)
            .expect("start");
        let all = inputs(4 * 3600);
        let pages: i64 = 40;
        store.limit_pages(pages as u64).expect("quota");
        let mut error = None;
        for input in &all {
            if let Err(e) = rec.feed(&mut store, input) {
                error = Some(e);
                break;
            }
        }
        let e = error.expect("the quota fills up");
        assert!(matches!(&e, RecordError::Store(s) if s.is_disk_full()), "{e}");
        assert!(e.to_string().contains("device.db") && e.to_string().contains("disk is full"), "{e}");
        let stored = rec.samples();
        drop(rec);
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.integrity_check().expect("check"), "ok");
        let kept = store.inputs("r1").expect("inputs");
        assert!(kept.len() > 100 && (kept.len() as u64) < stored, "kept {} of {stored}", kept.len());
        // Gap-free: the stored inputs are exactly the first ones fed.
        for (i, (t, _)) in kept.iter().enumerate().skip(1) {
            assert!(*t >= kept[i - 1].0);
        }
    }

    /// A one-minute run started in a fresh store (`device.db` in the directory) and its first
    /// half fed: the directory, the store, the recorder and all the run's inputs.
    fn half_a_minute_recorded() -> (tempfile::TempDir, Store, Recorder, Vec<Input>) {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open(&dir.path().join("device.db")).expect("open");
        let mut rec = Recorder::start(&mut store, "r1", &plan(), "neutral", &SessionSetup::default(), 1)
            .expect("start");
        let all = inputs(60);
        feed_all(&mut rec, &mut store, &all[..30]);
        (dir, store, rec, all)
    }

    #[test]
    fn a_reading_that_is_not_a_number_is_refused_and_never_journaled() {
        use pacenote_core::sensor::{CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix};
        let (dir, mut store, mut rec, all) = half_a_minute_recorded();
        let path = dir.path().join("device.db");
        let fix = |lat_deg: f64| LocationFix {
            t_ms: 30_500,
            lat_deg,
            lon_deg: 0.001,
            horizontal_accuracy_m: 5.0,
            speed_mps: Some(f64::NAN),
            speed_accuracy_mps: None,
            altitude_m: None,
        };
        for bad in [
            Input::HeartRate(HeartRateReading { t_ms: 30_500, bpm: f64::NAN }),
            Input::HeartRate(HeartRateReading { t_ms: 30_500, bpm: f64::INFINITY }),
            Input::Cadence(CadenceReading { t_ms: 30_500, spm: f64::NAN }),
            Input::DeviceSpeed(DeviceSpeedReading { t_ms: 30_500, speed_mps: f64::NAN }),
            Input::Fix(fix(f64::NAN)),
        ] {
            let e = rec.feed(&mut store, &bad).expect_err("refused");
            assert!(matches!(e, RecordError::NotFinite(_)), "{e}");
        }
        // A fix whose Doppler speed is NaN keeps its position, without the speed.
        rec.feed(&mut store, &Input::Fix(fix(0.0))).expect("a fix with a position");
        feed_all(&mut rec, &mut store, &all[30..45]);
        drop(rec);
        drop(store);
        // The app is killed: everything stored loads back, and the run goes on.
        let mut store = Store::open(&path).expect("reopen");
        for (t, json) in store.inputs("r1").expect("inputs") {
            serde_json::from_str::<Input>(&json).unwrap_or_else(|e| panic!("input at {t} ms: {e}: {json}"));
        }
        let (mut rec, _) = Recorder::resume(&store, "r1").expect("resume");
        feed_all(&mut rec, &mut store, &all[45..]);
        rec.finish(&mut store).expect("finish");
    }

    #[test]
    fn a_store_holding_an_input_that_does_not_load_repairs_it_on_open() {
        let (dir, store, rec, all) = half_a_minute_recorded();
        let path = dir.path().join("device.db");
        drop(rec);
        drop(store);
        // What an earlier version journaled for heartRate(t, NaN), then more of the run.
        let stored = {
            let conn = rusqlite::Connection::open(&path).expect("sqlite");
            let next: i64 = conn
                .query_row("SELECT MAX(seq) + 1 FROM samples WHERE run_id = 'r1'", [], |r| r.get(0))
                .expect("seq");
            conn.execute(
                "INSERT INTO samples (run_id, seq, t_ms, input_json) VALUES ('r1', ?1, 30500, ?2)",
                rusqlite::params![next, r#"{"type":"heart_rate","t_ms":30500,"bpm":null}"#],
            )
            .expect("insert");
            next + 1
        };
        let store = Store::open(&path).expect("reopen repairs");
        let log = store.log("r1").expect("log");
        assert_eq!(log.inputs.len() as i64, stored - 1, "the unreadable input is dropped");
        let dropped: Vec<serde_json::Value> = log
            .events
            .iter()
            .map(|(_, e)| serde_json::from_str(&e.json).expect("event json"))
            .filter(|e: &serde_json::Value| e["type"] == "input_dropped")
            .collect();
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!(dropped[0]["t_ms"], 30500);
        assert!(dropped[0]["reason"].as_str().expect("reason").contains("invalid type: null"), "{dropped:?}");
        let mut store = store;
        let (mut rec, _) = Recorder::resume(&store, "r1").expect("resume");
        feed_all(&mut rec, &mut store, &all[30..]);
        rec.finish(&mut store).expect("finish");
        drop(store);
        // Repaired once: opening again drops nothing more.
        let store = Store::open(&path).expect("reopen");
        let events = store.log("r1").expect("log").events;
        assert_eq!(events.iter().filter(|(_, e)| e.json.contains("input_dropped")).count(), 1);
    }
}

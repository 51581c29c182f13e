//! The coach's words and voice for a replayed run, as the phone would do it live: each
//! utterance voiced from the persona's pack the moment the engine decides it, and the engine
//! told when the speech really ends (`cue_finished`), so the next cue waits for the voice, not
//! for a guess. Then the whole coach track, rendered offline, and the plot — shared by `demo`
//! and `replay --wav/--svg`.

use std::path::{Path, PathBuf};

use pacenote_audio::render::{Fate, render};
use pacenote_audio::tts::Tts;
use pacenote_audio::voice::{SAMPLE_RATE_HZ, Stitched, TtsCommandFallback, Voice};
use pacenote_audio::wav::write_wav;
use pacenote_core::cue::{CueKind, Utterance};
use pacenote_core::engine::{EngineConfig, LogRecord, RunContext, RunSession, RunSummary, replay};
use pacenote_core::persona::{Persona, Spoken, Wording};
use pacenote_core::plan::{ExpandedStep, Plan};
use pacenote_core::profile::RunnerProfile;
use pacenote_core::units::format_clock_s;
use pacenote_track::Recording;

use crate::CliError;

/// A run replayed with a voice.
#[derive(Debug)]
pub struct Voiced {
    pub utterances: Vec<Utterance>,
    pub summary: RunSummary,
    pub steps: Vec<ExpandedStep>,
    /// The persona's words for each utterance, and for each cue of it.
    pub texts: Vec<String>,
    pub cue_texts: Vec<Vec<String>>,
    pub stitched: Vec<Stitched>,
    /// The engine's run log (feedback, check-in, heat).
    pub log: Vec<LogRecord>,
}

/// What the host knows beyond plan and recording: the start context, and the check-in answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunExtras {
    pub context: RunContext,
    pub check_in: Option<u8>,
}

/// What rendering the coach track did.
#[derive(Debug)]
pub struct TrackReport {
    pub duration_s: f64,
    pub played: usize,
    pub dropped: usize,
    pub fallbacks: usize,
    pub unvoiced: Vec<(String, String)>,
    /// Utterances whose speech began after their time (the previous one still playing).
    pub late: usize,
    /// For each countdown played, its first word's onset less its time (ms): known in advance,
    /// it is handed over a lead-in early, so this is about 0.
    pub countdown_onsets_ms: Vec<i64>,
    /// The same for the step starts announced early (the end of a time step is known), and
    /// for halfway marks by time.
    pub step_start_onsets_ms: Vec<i64>,
    pub halfway_onsets_ms: Vec<i64>,
}

/// A sample louder than this is speech, for the onset of an utterance's first word.
const ONSET_LEVEL: f32 = 0.02;

impl TrackReport {
    pub fn describe(&self, wav: &Path, persona: &Persona) -> String {
        let worst = |onsets: &[i64], what: &str| match onsets.iter().max_by_key(|d| d.abs()) {
            Some(worst) => {
                format!("; {} {what}, first word at most {} ms from its second", onsets.len(), worst.abs())
            }
            None => String::new(),
        };
        let countdowns = worst(&self.countdown_onsets_ms, "countdowns")
            + &worst(&self.step_start_onsets_ms, "step starts known in advance")
            + &worst(&self.halfway_onsets_ms, "halfway marks by time");
        format!(
            "wrote {} ({} of coach track in {}'s voice: {} utterances played, {} late, {} dropped by the player, {} texts by speech fallback{countdowns})",
            wav.display(),
            format_clock_s(self.duration_s),
            persona.name,
            self.played,
            self.late,
            self.dropped,
            self.fallbacks
        )
    }
}

/// Replays a recording with the persona speaking from its pack (`pack`, or the committed one).
pub fn replay_voiced(
    plan: &Plan,
    recording: &Recording,
    profile: RunnerProfile,
    config: EngineConfig,
    persona: &Persona,
    pack: Option<&Path>,
    extras: RunExtras,
) -> Result<Voiced, CliError> {
    let RunExtras { context, check_in } = extras;
    let pack_dir: PathBuf = pack
        .map_or_else(|| crate::pack_cmd::committed_pack(&persona.id, persona.language), Path::to_path_buf);
    let mut voice = Voice::open(&pack_dir).map_err(|e| CliError::Usage(format!("{e} (pass --pack DIR)")))?;
    if voice.manifest().persona != persona.id {
        return Err(CliError::file(
            &pack_dir,
            format!("is {}'s pack, not {}'s", voice.manifest().persona, persona.id),
        ));
    }
    let scratch = std::env::temp_dir().join(format!("pacenote-tts-{}", std::process::id()));
    let mut fallback = TtsCommandFallback::new(Tts::espeak(), persona.voice.clone(), &scratch);
    let mut wording = Wording::new(Some(persona.clone()));
    let mut session = RunSession::with_context(
        plan,
        profile,
        EngineConfig { audio_reports_finish: true, ..config },
        context,
    );
    let inputs = pacenote_track::replay::to_inputs(recording);
    let mut texts = Vec::new();
    let mut cue_texts = Vec::new();
    let mut stitched = Vec::new();
    let mut failure = None;
    let utterances = replay::run_with_audio(&mut session, &inputs, |u| {
        let (text, lines) = wording.lines(u);
        texts.push(text);
        cue_texts.push(lines.iter().map(|l| l.text.clone()).collect());
        let parts: Vec<Spoken> = lines.into_iter().flat_map(|l| l.parts).collect();
        match voice.stitch(&parts, &mut fallback) {
            Ok(s) => {
                let duration = s.duration_ms();
                stitched.push(s);
                Some(duration)
            }
            Err(e) => {
                failure.get_or_insert(e);
                stitched.push(Stitched { samples: Vec::new(), fallbacks: 0, unvoiced: Vec::new() });
                None
            }
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(effort) = check_in {
        let t_ms = session.now_ms() + pacenote_track::replay::CHECK_IN_AFTER_MS;
        session.handle(&pacenote_core::engine::Input::CheckIn { t_ms, effort });
    }
    if let Some(e) = failure {
        return Err(CliError::Usage(e.to_string()));
    }
    Ok(Voiced {
        utterances,
        summary: session.summary(),
        steps: session.steps().to_vec(),
        texts,
        cue_texts,
        stitched,
        log: session.log().to_vec(),
    })
}

/// Renders the voiced run's coach track to `wav`.
pub fn write_track(voiced: &Voiced, total_ms: u64, wav: &Path) -> Result<TrackReport, CliError> {
    let items: Vec<(&Utterance, &Stitched)> = voiced.utterances.iter().zip(&voiced.stitched).collect();
    let track = render(&items, total_ms);
    if let Some(dir) = wav.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::file(dir, e))?;
    }
    write_wav(wav, &track.samples).map_err(CliError::Usage)?;
    let dropped = track.fates.iter().filter(|(_, f)| *f == Fate::Dropped).count();
    let late = voiced
        .utterances
        .iter()
        .zip(&track.fates)
        .filter(|(u, (_, f))| matches!(f, Fate::Played { start_ms, .. } if *start_ms > u.starts_at_ms()))
        .count();
    // The first word's onset against the time of the utterance's cue of `kind` (those that
    // `counts` picks).
    let onsets = |kind: CueKind, counts: &dyn Fn(&Utterance) -> bool| -> Vec<i64> {
        items
            .iter()
            .zip(&track.fates)
            .filter(|((u, _), _)| counts(u))
            .filter_map(|((u, stitched), (_, fate))| {
                let due_ms = u.cues.iter().find(|c| c.kind == kind)?.at_ms;
                let Fate::Played { start_ms, .. } = fate else { return None };
                let first = stitched.samples.iter().position(|s| s.abs() > ONSET_LEVEL)?;
                let onset_ms = start_ms + first as u64 * 1000 / u64::from(SAMPLE_RATE_HZ);
                Some(onset_ms as i64 - due_ms as i64)
            })
            .collect()
    };
    let countdown_onsets_ms = onsets(CueKind::Countdown, &|_| true);
    let step_start_onsets_ms = onsets(CueKind::StepStart, &|u| u.early_ms > 0);
    let halfway_onsets_ms = onsets(CueKind::StepHalfway, &|u| u.early_ms > 0)
        .into_iter()
        .chain(onsets(CueKind::RunHalfway, &|u| {
            u.early_ms > 0 && u.cues.iter().all(|c| c.kind != CueKind::StepHalfway)
        }))
        .collect();
    Ok(TrackReport {
        duration_s: track.samples.len() as f64 / f64::from(SAMPLE_RATE_HZ),
        played: voiced.utterances.len() - dropped,
        dropped,
        fallbacks: voiced.stitched.iter().map(|s| s.fallbacks).sum(),
        unvoiced: voiced.stitched.iter().flat_map(|s| s.unvoiced.clone()).collect(),
        late,
        countdown_onsets_ms,
        step_start_onsets_ms,
        halfway_onsets_ms,
    })
}

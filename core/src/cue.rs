//! Cues as data (DESIGN §2): what the coach has to say, why, how urgent it is and until when it
//! is still worth saying. The set of cue kinds is this one enum, shared by the engine (which
//! decides) and the personas and audio (which speak); extend it here, never fork it.
//!
//! A cue carries typed slots (a pace, a distance, a heart rate...), not text: each persona puts
//! them into its own words. [`neutral_text`] is the plain wording used by `pacenote replay`
//! until a persona is chosen.

use serde::Serialize;

use crate::plan::StepKind;
use crate::speech;
use crate::units::SecondsPerKm;

/// Everything the engine can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CueKind {
    RunStart,
    RunFinish,
    /// The last step of the plan is done; the runner may stop or keep going.
    SessionComplete,
    StepStart,
    /// Seconds left before the step changes.
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
    /// Heart rate near the runner's maximum for a while: ease off.
    HrVeryHigh,
    /// The runner reported pain: ease off or stop, never push through it.
    PainCheck,
    GpsLost,
    GpsBack,
    AutoPaused,
    AutoResumed,
    Encouragement,
    /// "Just ten minutes" reached: free to stop or go on; either way the run counts.
    FreeToStop,
    /// Heart rate over the cap on an easy or recovery step: ease off to a conversational pace.
    EasyEaseOff,
    /// At the start: targets eased for heat and humidity.
    HeatAdjusted,
    /// After the finish: how did that feel, 1 to 10?
    CheckIn,
    /// On a climb, where the watch's pace drops: hold the effort, the pace will come back.
    HillEffort,
    /// At the finish: planned versus done this week, the streak in weeks.
    StreakCelebration,
}

impl CueKind {
    pub const ALL: [CueKind; 27] = [
        Self::RunStart,
        Self::RunFinish,
        Self::SessionComplete,
        Self::StepStart,
        Self::Countdown,
        Self::StepHalfway,
        Self::RunHalfway,
        Self::Split,
        Self::SpeedUp,
        Self::SlowDown,
        Self::BackOnPace,
        Self::HrAboveZone,
        Self::HrBelowZone,
        Self::BackInZone,
        Self::HrVeryHigh,
        Self::PainCheck,
        Self::GpsLost,
        Self::GpsBack,
        Self::AutoPaused,
        Self::AutoResumed,
        Self::Encouragement,
        Self::FreeToStop,
        Self::EasyEaseOff,
        Self::HeatAdjusted,
        Self::CheckIn,
        Self::StreakCelebration,
        Self::HillEffort,
    ];

    /// How urgent this kind is (DESIGN §6: safety > step change > correction > stat >
    /// encouragement).
    pub fn priority(self) -> Priority {
        match self {
            Self::HrVeryHigh | Self::PainCheck => Priority::Safety,
            // The timer stopping and starting is as much news as a step change: the runner
            // must know whether the run is being recorded.
            Self::RunStart
            | Self::RunFinish
            | Self::SessionComplete
            | Self::FreeToStop
            | Self::HeatAdjusted
            | Self::CheckIn
            | Self::StreakCelebration
            | Self::StepStart
            | Self::Countdown
            | Self::AutoPaused
            | Self::AutoResumed => Priority::StepChange,
            Self::SpeedUp
            | Self::SlowDown
            | Self::BackOnPace
            | Self::HrAboveZone
            | Self::HrBelowZone
            | Self::BackInZone
            | Self::EasyEaseOff
            | Self::HillEffort => Priority::Correction,
            Self::StepHalfway | Self::RunHalfway | Self::Split | Self::GpsLost | Self::GpsBack => {
                Priority::Stat
            }
            Self::Encouragement => Priority::Encouragement,
        }
    }

    /// How long a cue of this kind stays worth saying after it is decided; after that it is
    /// dropped, never spoken late.
    pub fn lifetime_ms(self) -> u64 {
        match self {
            // A countdown late by more than a second is wrong.
            CueKind::Countdown => 1_500,
            CueKind::StepStart | CueKind::AutoPaused | CueKind::AutoResumed => 6_000,
            CueKind::SpeedUp
            | CueKind::SlowDown
            | CueKind::HrAboveZone
            | CueKind::HrBelowZone
            | CueKind::EasyEaseOff
            | CueKind::HillEffort => 15_000,
            CueKind::BackOnPace | CueKind::BackInZone => 10_000,
            CueKind::HrVeryHigh | CueKind::PainCheck => 20_000,
            CueKind::GpsLost | CueKind::StepHalfway | CueKind::RunHalfway => 20_000,
            // Still true a minute on, and the runner who heard "lost" waits to hear it.
            CueKind::GpsBack => 60_000,
            CueKind::Split => 30_000,
            CueKind::RunStart | CueKind::SessionComplete | CueKind::HeatAdjusted => 15_000,
            CueKind::FreeToStop => 20_000,
            // The last word: said whenever the voice is free.
            CueKind::RunFinish | CueKind::CheckIn | CueKind::StreakCelebration => u64::MAX / 4,
            CueKind::Encouragement => 30_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunStart => "run_start",
            Self::RunFinish => "run_finish",
            Self::SessionComplete => "session_complete",
            Self::StepStart => "step_start",
            Self::Countdown => "countdown",
            Self::StepHalfway => "step_halfway",
            Self::RunHalfway => "run_halfway",
            Self::Split => "split",
            Self::SpeedUp => "speed_up",
            Self::SlowDown => "slow_down",
            Self::BackOnPace => "back_on_pace",
            Self::HrAboveZone => "hr_above_zone",
            Self::HrBelowZone => "hr_below_zone",
            Self::BackInZone => "back_in_zone",
            Self::HrVeryHigh => "hr_very_high",
            Self::PainCheck => "pain_check",
            Self::GpsLost => "gps_lost",
            Self::GpsBack => "gps_back",
            Self::AutoPaused => "auto_paused",
            Self::AutoResumed => "auto_resumed",
            Self::Encouragement => "encouragement",
            Self::FreeToStop => "free_to_stop",
            Self::EasyEaseOff => "easy_ease_off",
            Self::HeatAdjusted => "heat_adjusted",
            Self::CheckIn => "check_in",
            Self::StreakCelebration => "streak_celebration",
            Self::HillEffort => "hill_effort",
        }
    }
}

/// Urgency; higher is more urgent. A higher-priority cue may interrupt a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Encouragement = 0,
    Stat = 1,
    Correction = 2,
    StepChange = 3,
    Safety = 4,
}

impl Priority {
    /// Whether speech of this priority cuts off speech of `playing` priority: only step news
    /// and safety, and only over something less urgent (the rest waits its turn). The one
    /// rule the engine's scheduler, the live player and the offline render all follow.
    pub fn cuts_in(self, playing: Priority) -> bool {
        self > playing && self >= Priority::StepChange
    }
}

/// The facts a cue speaks about; each kind fills the slots it needs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CueSlots {
    /// The runner's current pace (or the split's pace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pace: Option<SecondsPerKm>,
    /// The target band, fastest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pace: Option<(SecondsPerKm, SecondsPerKm)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<u8>,
    /// The target heart-rate band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_bpm: Option<(f64, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rep: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_kind: Option<StepKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_note: Option<String>,
    /// Kilometre number of a split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_km: Option<u32>,
    /// How insistent a correction is: 1 the first time, then 2, 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<u8>,
    /// Runs done and planned this week, and weeks in a row with a run (process goals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_done: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_planned: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streak_weeks: Option<u32>,
}

impl CueSlots {
    /// Every number in the slots, to check none is NaN or infinite.
    pub fn numbers(&self) -> Vec<f64> {
        let mut out = Vec::new();
        out.extend(self.pace.map(|p| p.0));
        if let Some((a, b)) = self.target_pace {
            out.extend([a.0, b.0]);
        }
        out.extend(self.distance_m);
        out.extend(self.duration_s);
        out.extend(self.bpm);
        if let Some((a, b)) = self.target_bpm {
            out.extend([a, b]);
        }
        out
    }
}

/// One thing to say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cue {
    /// Unique within a run, increasing.
    pub id: u64,
    pub kind: CueKind,
    pub priority: Priority,
    pub slots: CueSlots,
    /// Index of the plan step (repeats expanded) it belongs to.
    pub step: Option<usize>,
    /// Run clock when it was decided.
    pub at_ms: u64,
    /// After this it is stale: dropped, never spoken late.
    pub expires_at_ms: u64,
}

impl Cue {
    /// A cue decided at `at_ms`, with its kind's priority and lifetime.
    pub fn new(id: u64, kind: CueKind, slots: CueSlots, step: Option<usize>, at_ms: u64) -> Self {
        Cue {
            id,
            kind,
            priority: kind.priority(),
            slots,
            step,
            at_ms,
            expires_at_ms: at_ms.saturating_add(kind.lifetime_ms()),
        }
    }
}

/// Silence before an utterance's first word: Bluetooth headsets take ~100–200 ms to wake
/// (DESIGN §6). An utterance whose time is known in advance (a countdown) is handed to the
/// audio this much early, so that its first word, not its silence, lands on its time.
pub const LEAD_IN_MS: u64 = 150;

/// Cues spoken together as one utterance ("Kilometre three, four fifty-two, right on target").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utterance {
    /// Unique within a run; the audio layer reports `cue_finished` with it.
    pub id: u64,
    /// Run clock at which it is to be spoken: for one decided on the spot, when it was
    /// decided (its lead-in follows); for one known in advance, when its first word lands.
    pub at_ms: u64,
    /// How long before `at_ms` it was handed over, for its lead-in to play first (at most
    /// [`LEAD_IN_MS`]; 0 for an utterance decided on the spot). Its audio starts at
    /// [`Utterance::starts_at_ms`].
    pub early_ms: u64,
    pub priority: Priority,
    /// In speaking order, most urgent first.
    pub cues: Vec<Cue>,
    /// The utterance it cuts off, if a more urgent one arrived while that was speaking.
    pub interrupts: Option<u64>,
}

impl Utterance {
    /// When its audio starts (lead-in first): `early_ms` before `at_ms`.
    pub fn starts_at_ms(&self) -> u64 {
        self.at_ms.saturating_sub(self.early_ms)
    }

    /// When the utterance stops being worth saying: its longest-lived cue's expiry. A player
    /// that cannot start it by then drops it rather than speak it late.
    pub fn expires_at_ms(&self) -> u64 {
        self.cues.iter().map(|c| c.expires_at_ms).max().unwrap_or(self.at_ms)
    }

    /// The plain English text of the whole utterance.
    pub fn neutral_text(&self) -> String {
        join_sentences(self.cues.iter().map(neutral_text))
    }
}

/// Joins parts into sentences: each starts with a capital and ends with one full stop.
pub fn join_sentences(parts: impl IntoIterator<Item = String>) -> String {
    parts
        .into_iter()
        .map(|part| {
            let part = part.trim().trim_end_matches('.');
            let mut chars = part.chars();
            let first: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
            // A question or an exclamation keeps its own mark.
            let stop = if part.ends_with(['?', '!']) { "" } else { "." };
            format!("{first}{}{stop}", chars.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plain English wording of a cue, for logs and `pacenote replay` (personas speak their own).
pub fn neutral_text(cue: &Cue) -> String {
    let s = &cue.slots;
    let pace = |p: Option<SecondsPerKm>| p.map(speech::pace).unwrap_or_else(|| "unknown".into());
    let band =
        || s.target_pace.map(|(fast, slow)| format!("{} to {}", speech::pace(fast), speech::pace(slow)));
    let bpm = |b: Option<f64>| b.map(|b| speech::number(b.round().max(0.0) as u64)).unwrap_or_default();
    let rep = || match (s.rep, s.reps) {
        (Some(r), Some(n)) => format!(", rep {} of {}", speech::count(r), speech::count(n)),
        _ => String::new(),
    };
    match cue.kind {
        CueKind::RunStart => "Let's go. Run started".to_owned(),
        CueKind::RunFinish => format!(
            "Run finished: {} in {}",
            speech::distance(s.distance_m.unwrap_or(0.0)),
            speech::duration(s.duration_s.unwrap_or(0.0))
        ),
        CueKind::SessionComplete => {
            "Session complete. Keep going easy or stop here, it all counts".to_owned()
        }
        CueKind::StepStart => {
            let kind = s.step_kind.map_or("next step", StepKind::as_str);
            let mut text = format!("{kind}{}", rep());
            if let Some(d) = s.distance_m {
                text.push_str(&format!(", {}", speech::distance(d)));
            } else if let Some(t) = s.duration_s {
                text.push_str(&format!(", {}", speech::duration(t)));
            }
            if let Some(b) = band() {
                text.push_str(&format!(" at {b}"));
            } else if let Some(z) = s.zone {
                text.push_str(&format!(" in zone {}", speech::number(u64::from(z))));
            }
            if let Some(note) = &s.step_note {
                text.push_str(&format!(". {note}"));
            }
            text
        }
        CueKind::Countdown => format!("{} to go", speech::duration(s.duration_s.unwrap_or(0.0))),
        CueKind::StepHalfway => "Halfway through this one".to_owned(),
        CueKind::RunHalfway => "Halfway through the session".to_owned(),
        CueKind::Split => {
            let on_target = match (s.pace, s.target_pace) {
                (Some(p), Some((fast, slow))) if p.0 >= fast.0 && p.0 <= slow.0 => ", right on target",
                _ => "",
            };
            format!("Kilometre {}, {}{on_target}", speech::count(s.split_km.unwrap_or(0)), pace(s.pace))
        }
        CueKind::SpeedUp | CueKind::SlowDown => {
            let verb = if cue.kind == CueKind::SpeedUp { "Pick it up" } else { "Ease off" };
            let now = s.pace.map(|p| format!(": {}", speech::pace(p))).unwrap_or_default();
            let target = band().map(|b| format!(", target {b}")).unwrap_or_default();
            format!("{verb}{now}{target}")
        }
        CueKind::BackOnPace => "Right on target".to_owned(),
        CueKind::HrAboveZone => format!("Heart rate {}, above your zone: ease off", bpm(s.bpm)),
        CueKind::HrBelowZone => format!("Heart rate {}, below your zone: you can push a little", bpm(s.bpm)),
        CueKind::BackInZone => "Back in your zone".to_owned(),
        CueKind::HrVeryHigh => format!("Heart rate {}, very high. Slow down and recover", bpm(s.bpm)),
        CueKind::PainCheck => {
            "Pain is a signal, not a challenge. Ease off or walk, and stop if it persists".to_owned()
        }
        CueKind::GpsLost => "GPS signal lost. Keep going, I'll catch up".to_owned(),
        CueKind::GpsBack => "GPS is back".to_owned(),
        CueKind::AutoPaused => "Paused".to_owned(),
        CueKind::AutoResumed => "Resumed".to_owned(),
        CueKind::Encouragement => "Looking strong, keep it steady".to_owned(),
        CueKind::FreeToStop => "Ten minutes done, and it counts. Stop here or keep going".to_owned(),
        CueKind::EasyEaseOff => {
            format!("Heart rate {}, over your easy cap: ease off to a conversational pace", bpm(s.bpm))
        }
        CueKind::HeatAdjusted => "It's hot and humid: targets are eased, run by feel".to_owned(),
        CueKind::HillEffort => "Hill: hold the effort, the pace will come back".to_owned(),
        CueKind::CheckIn => "How did that feel, from one to ten?".to_owned(),
        CueKind::StreakCelebration => {
            let mut parts = Vec::new();
            if let (Some(done), Some(planned)) = (s.runs_done, s.runs_planned) {
                parts.push(format!("{} of {} this week", speech::count(done), speech::count(planned)));
            }
            if let Some(weeks) = s.streak_weeks.filter(|w| *w >= 2) {
                parts.push(format!("{} weeks in a row", speech::count(weeks)));
            }
            if parts.is_empty() { "Another run in the bank".to_owned() } else { parts.join(", ") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_step_news_and_safety_cut_in_and_only_over_less_urgent_speech() {
        use Priority::*;
        let all = [Encouragement, Stat, Correction, StepChange, Safety];
        for new in all {
            for playing in all {
                let expected = new > playing && matches!(new, StepChange | Safety);
                assert_eq!(new.cuts_in(playing), expected, "{new:?} over {playing:?}");
            }
        }
    }

    #[test]
    fn an_utterance_lives_as_long_as_its_longest_lived_cue() {
        let cue = |expires_at_ms| Cue {
            id: 1,
            kind: CueKind::Split,
            priority: Priority::Stat,
            slots: CueSlots::default(),
            step: None,
            at_ms: 1_000,
            expires_at_ms,
        };
        let u = |cues| Utterance {
            id: 1,
            at_ms: 1_000,
            early_ms: 0,
            priority: Priority::Stat,
            cues,
            interrupts: None,
        };
        assert_eq!(u(vec![cue(4_000), cue(9_000)]).expires_at_ms(), 9_000);
        assert_eq!(u(vec![]).expires_at_ms(), 1_000);
    }
}

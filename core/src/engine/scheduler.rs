//! The scheduler: one utterance at a time, never overlapping; the most urgent first; cues that
//! fall due together merged into one utterance; stale cues dropped, never spoken late; a
//! chattiness budget on everything below a step change.
//!
//! Until the audio layer reports `cue_finished`, an utterance is assumed to last as long as its
//! words take to say. Pure state; the engine feeds it the run clock.

use serde::Serialize;

use crate::cue::{Cue, CueKind, LEAD_IN_MS, Priority, Utterance};
use crate::profile::Chattiness;

/// Speaking rate for estimating how long an utterance lasts: about 150 words a minute.
const WORDS_PER_SECOND: f64 = 2.5;
/// Lead-in silence so Bluetooth headsets wake before the first word (DESIGN §6), plus the
/// gap after.
const UTTERANCE_OVERHEAD_MS: u64 = 600;
/// At most this many cues in one utterance: more is a speech, not a cue.
const MAX_CUES_PER_UTTERANCE: usize = 3;
/// A budget window for chattiness.
const BUDGET_WINDOW_MS: u64 = 60_000;

/// Counts for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SchedulerCounts {
    pub cues_spoken: u64,
    pub cues_dropped: u64,
    pub utterances: u64,
    pub interruptions: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scheduler {
    chattiness: Chattiness,
    pending: Vec<Cue>,
    /// The utterance being spoken: id, priority, estimated end.
    speaking: Option<(u64, Priority, u64)>,
    /// Start times of recent lower-priority utterances, for the budget.
    recent_ms: Vec<u64>,
    last_end_ms: Option<u64>,
    next_utterance_id: u64,
    counts: SchedulerCounts,
    /// Whether the audio layer reports when speech ends.
    reported_finish: bool,
}

/// When the audio layer reports finishes, speech still ends at most this many times the word
/// estimate (plus [`FINISH_REPORT_GRACE_MS`]) after it began: a lost report must not silence
/// the coach for the rest of the run.
const FINISH_REPORT_SAFETY: u64 = 3;
const FINISH_REPORT_GRACE_MS: u64 = 5_000;

impl Scheduler {
    pub fn new(chattiness: Chattiness) -> Self {
        Self::with_reported_finish(chattiness, false)
    }

    /// A scheduler whose audio layer reports `cue_finished`.
    pub fn with_reported_finish(chattiness: Chattiness, reported_finish: bool) -> Self {
        Self {
            reported_finish,
            chattiness,
            pending: Vec::new(),
            speaking: None,
            recent_ms: Vec::new(),
            last_end_ms: None,
            next_utterance_id: 1,
            counts: SchedulerCounts::default(),
        }
    }

    pub fn counts(&self) -> SchedulerCounts {
        self.counts
    }

    pub fn chattiness(&self) -> Chattiness {
        self.chattiness
    }

    /// Queues a cue. A newer cue of the same kind replaces one still waiting (say the latest
    /// split, not two).
    pub fn push(&mut self, cue: Cue) {
        if let Some(old) = self.pending.iter().position(|c| c.kind == cue.kind) {
            self.pending.remove(old);
            self.counts.cues_dropped += 1;
        }
        self.pending.push(cue);
    }

    /// Drops waiting cues that no longer apply (counted as dropped); returns how many.
    pub fn drop_pending(&mut self, stale: impl Fn(&Cue) -> bool) -> usize {
        let before = self.pending.len();
        self.pending.retain(|c| !stale(c));
        let dropped = before - self.pending.len();
        self.counts.cues_dropped += dropped as u64;
        dropped
    }

    /// The audio layer finished (or gave up on) utterance `id` at `at_ms`.
    pub fn finished(&mut self, id: u64, at_ms: u64) {
        if let Some((speaking, _, _)) = self.speaking
            && speaking == id
        {
            self.speaking = None;
            self.last_end_ms = Some(at_ms);
        }
    }

    /// When the scheduler next needs the clock: the end of the current utterance or the
    /// earliest waiting cue (a lead-in before a cue whose time is ahead).
    pub fn next_wakeup_ms(&self) -> Option<u64> {
        let speaking_end = self.speaking.map(|(_, _, end)| end);
        let pending = self.pending.iter().map(|c| c.at_ms.saturating_sub(LEAD_IN_MS)).min();
        match (speaking_end, pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The utterance being spoken, if any.
    pub fn speaking_id(&self) -> Option<u64> {
        self.speaking.map(|(id, _, _)| id)
    }

    /// Whether cues are waiting to be said.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether anything is being spoken at `now_ms`.
    pub fn is_speaking(&self) -> bool {
        self.speaking.is_some()
    }

    /// Moves the clock to `now_ms`; returns the utterance to start now, if any.
    pub fn poll(&mut self, now_ms: u64) -> Option<Utterance> {
        if let Some((_, _, end)) = self.speaking
            && now_ms >= end
        {
            self.speaking = None;
            self.last_end_ms = Some(end);
        }
        let before = self.pending.len();
        self.pending.retain(|c| c.expires_at_ms >= now_ms);
        self.counts.cues_dropped += (before - self.pending.len()) as u64;
        self.recent_ms.retain(|t| now_ms.saturating_sub(*t) < BUDGET_WINDOW_MS);

        // A cue whose time is ahead (known in advance: a countdown) is due a lead-in early, so
        // that its first word, not the headset's wake-up silence, lands on its time.
        let due = |c: &Cue| c.at_ms <= now_ms + LEAD_IN_MS;
        // Most urgent first; among equals the earliest decided.
        let head =
            self.pending.iter().filter(|c| due(c)).max_by(|a, b| {
                a.priority.cmp(&b.priority).then(b.at_ms.cmp(&a.at_ms)).then(b.id.cmp(&a.id))
            })?;
        let head_priority = head.priority;
        let mut interrupts = None;
        if let Some((id, speaking_priority, _)) = self.speaking {
            // Only a step change or safety cue cuts into speech, and only less urgent speech.
            if head_priority.cuts_in(speaking_priority) {
                interrupts = Some(id);
            } else {
                return None;
            }
        }
        if head_priority < Priority::StepChange && !self.budget_allows(now_ms) {
            return None;
        }
        let mut chosen: Vec<Cue> = Vec::new();
        let mut rest = Vec::new();
        let mut candidates: Vec<Cue> = std::mem::take(&mut self.pending);
        candidates
            .sort_by(|a, b| b.priority.cmp(&a.priority).then(a.at_ms.cmp(&b.at_ms)).then(a.id.cmp(&b.id)));
        for cue in candidates {
            let fits = due(&cue) && chosen.len() < MAX_CUES_PER_UTTERANCE && mergeable(&chosen, &cue);
            if fits { chosen.push(cue) } else { rest.push(cue) }
        }
        self.pending = rest;
        let words: usize =
            chosen.iter().map(|c| crate::cue::neutral_text(c).split_whitespace().count()).sum();
        let estimate_ms = (words as f64 / WORDS_PER_SECOND * 1000.0) as u64 + UTTERANCE_OVERHEAD_MS;
        let duration_ms = if self.reported_finish {
            estimate_ms * FINISH_REPORT_SAFETY + FINISH_REPORT_GRACE_MS
        } else {
            estimate_ms
        };
        let id = self.next_utterance_id;
        self.next_utterance_id += 1;
        self.speaking = Some((id, head_priority, now_ms + duration_ms));
        if head_priority < Priority::StepChange {
            self.recent_ms.push(now_ms);
        }
        self.counts.cues_spoken += chosen.len() as u64;
        self.counts.utterances += 1;
        if interrupts.is_some() {
            self.counts.interruptions += 1;
        }
        let at_ms = chosen.iter().map(|c| c.at_ms).max().unwrap_or(now_ms).max(now_ms);
        Some(Utterance {
            id,
            at_ms,
            early_ms: at_ms - now_ms,
            priority: head_priority,
            cues: chosen,
            interrupts,
        })
    }

    fn budget_allows(&self, now_ms: u64) -> bool {
        let gap_ok =
            self.last_end_ms.is_none_or(|end| now_ms.saturating_sub(end) >= self.chattiness.min_gap_ms());
        gap_ok && self.recent_ms.len() < self.chattiness.per_minute()
    }
}

/// Whether `cue` can join the cues already chosen for one utterance. A countdown is said alone
/// (it is about the second); corrections do not pile up on each other.
fn mergeable(chosen: &[Cue], cue: &Cue) -> bool {
    let Some(head) = chosen.first() else { return true };
    if head.kind == CueKind::Countdown || cue.kind == CueKind::Countdown {
        return false;
    }
    let corrections = chosen.iter().filter(|c| c.priority == Priority::Correction).count();
    let second_correction = cue.priority == Priority::Correction && corrections > 0;
    let repeated_kind = chosen.iter().any(|c| c.kind == cue.kind);
    !second_correction && !repeated_kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cue::CueSlots;

    fn cue(id: u64, kind: CueKind, at_ms: u64) -> Cue {
        Cue::new(id, kind, CueSlots::default(), None, at_ms)
    }

    #[test]
    fn cues_due_together_are_merged_most_urgent_first() {
        let mut s = Scheduler::new(Chattiness::Normal);
        s.push(cue(1, CueKind::Split, 1000));
        s.push(cue(2, CueKind::BackOnPace, 1000));
        let u = s.poll(1000).expect("speaks");
        assert_eq!(
            u.cues.iter().map(|c| c.kind).collect::<Vec<_>>(),
            vec![CueKind::BackOnPace, CueKind::Split]
        );
        assert!(s.poll(1500).is_none(), "one at a time");
    }

    #[test]
    fn stale_cues_are_dropped_not_said_late() {
        let mut s = Scheduler::new(Chattiness::Normal);
        s.push(cue(1, CueKind::StepStart, 0));
        let first = s.poll(0).expect("speaks");
        s.push(cue(2, CueKind::Countdown, 500));
        // Still speaking the step start for ~2 s; the countdown (a step change too, but not
        // more urgent) waits, and is stale after 1.5 s.
        assert!(s.poll(1000).is_none());
        s.finished(first.id, 2500);
        assert!(s.poll(2500).is_none());
        assert_eq!(s.counts().cues_dropped, 1);
    }

    #[test]
    fn safety_interrupts_lower_priority_speech() {
        let mut s = Scheduler::new(Chattiness::Normal);
        s.push(cue(1, CueKind::Split, 0));
        let split = s.poll(0).expect("speaks");
        s.push(cue(2, CueKind::HrVeryHigh, 500));
        let urgent = s.poll(500).expect("interrupts");
        assert_eq!(urgent.interrupts, Some(split.id));
        assert_eq!(s.counts().interruptions, 1);
    }

    #[test]
    fn chattiness_bounds_what_is_said_per_minute() {
        for (chattiness, expected) in
            [(Chattiness::Quiet, 3), (Chattiness::Normal, 6), (Chattiness::Chatty, 12)]
        {
            let mut s = Scheduler::new(chattiness);
            let mut said = 0;
            for t in 0..180u64 {
                s.push(cue(t, CueKind::Split, t * 1000));
                if s.poll(t * 1000).is_some() {
                    said += 1;
                }
            }
            assert_eq!(said, expected, "{chattiness:?}");
        }
    }
}

//! What a runner would notice in the cues of a replayed run, judged independently of how the
//! engine decided them: corrections whose words contradict their number, "paused" never
//! followed by "moving again". Used by `pacenote bench corpus` and the corpus tests.
//!
//! Must not: reuse the engine's own rule for what it checks (a bug there would pass here).

use pacenote_core::cue::{Cue, CueKind};
use pacenote_core::engine::targets::PACE_TOLERANCE_S_PER_KM;

/// Whether a correction's words contradict its number: "pick it up" needs a pace slower than
/// the band's slow end plus the tolerance, "ease off" one faster than the fast end less it —
/// as spoken, to the second.
pub fn contradicts(cue: &Cue) -> bool {
    let (Some(pace), Some((fast, slow))) = (cue.slots.pace, cue.slots.target_pace) else { return false };
    let heard = pace.0.round();
    match cue.kind {
        CueKind::SpeedUp => heard <= slow.0 + PACE_TOLERANCE_S_PER_KM,
        CueKind::SlowDown => heard >= fast.0 - PACE_TOLERANCE_S_PER_KM,
        _ => false,
    }
}

/// "Paused" cues not followed by "moving again" before the runner is coached again (the run's
/// end may follow instead).
pub fn unpaired_pauses(cues: &[(u64, &Cue)]) -> usize {
    let about_running = |k: CueKind| {
        !matches!(
            k,
            CueKind::RunFinish
                | CueKind::SessionComplete
                | CueKind::CheckIn
                | CueKind::StreakCelebration
                | CueKind::GpsLost
                | CueKind::GpsBack
        )
    };
    cues.iter()
        .enumerate()
        .filter(|(_, (_, c))| c.kind == CueKind::AutoPaused)
        .filter(|(i, _)| {
            cues[i + 1..]
                .iter()
                .find(|(_, c)| about_running(c.kind))
                .is_some_and(|(_, c)| c.kind != CueKind::AutoResumed)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacenote_core::cue::CueSlots;
    use pacenote_core::units::SecondsPerKm;

    fn correction(kind: CueKind, pace: f64, band: (f64, f64)) -> Cue {
        let slots = CueSlots {
            pace: Some(SecondsPerKm(pace)),
            target_pace: Some((SecondsPerKm(band.0), SecondsPerKm(band.1))),
            ..CueSlots::default()
        };
        Cue::new(1, kind, slots, Some(0), 0)
    }

    #[test]
    fn the_contradictions_runners_heard_are_caught() {
        // "Pick it up: three fifty-nine, target three fifty to four oh five".
        assert!(contradicts(&correction(CueKind::SpeedUp, 239.0, (230.0, 245.0))));
        // "Ease off: six fifty-one, target six ten to six forty": slower than the band.
        assert!(contradicts(&correction(CueKind::SlowDown, 411.0, (370.0, 400.0))));
        // "Pick it up: four twenty-seven" on 4:15–4:25: inside the tolerance.
        assert!(contradicts(&correction(CueKind::SpeedUp, 267.0, (255.0, 265.0))));
        // 4:29.6 is heard as 4:30, still within 4:25 + 5 s.
        assert!(contradicts(&correction(CueKind::SpeedUp, 269.6, (255.0, 265.0))));
        // Honest ones.
        assert!(!contradicts(&correction(CueKind::SpeedUp, 272.0, (255.0, 265.0))));
        assert!(!contradicts(&correction(CueKind::SlowDown, 245.0, (255.0, 265.0))));
    }

    #[test]
    fn a_pause_needs_its_resume_or_the_end() {
        let cue = |kind| Cue::new(1, kind, CueSlots::default(), Some(0), 0);
        let (paused, resumed, split, finish) = (
            cue(CueKind::AutoPaused),
            cue(CueKind::AutoResumed),
            cue(CueKind::Split),
            cue(CueKind::RunFinish),
        );
        assert_eq!(unpaired_pauses(&[(0, &paused), (5, &resumed), (9, &split)]), 0);
        assert_eq!(unpaired_pauses(&[(0, &paused), (9, &finish)]), 0);
        assert_eq!(unpaired_pauses(&[(0, &paused), (9, &split), (12, &resumed)]), 1);
        assert_eq!(unpaired_pauses(&[(0, &paused), (9, &paused), (12, &resumed)]), 1);
    }
}

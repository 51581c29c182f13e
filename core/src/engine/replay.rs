//! Driving a session through a list of inputs as a host would live: before each input, the
//! ticks the engine asked for (`next_wakeup_ms`), so countdowns land on their second whatever
//! the input rate. Used by `pacenote replay`, the tests and the benchmarks.

use super::{Input, RunSession};
use crate::cue::Utterance;
use crate::plan::ExpandedStep;
use crate::units::format_clock_s;

/// The tick a live host owes the engine before an input at `next_t_ms`: the engine's next
/// wakeup, when it falls strictly between now and then. A host feeds it, asks again, and feeds
/// the input when there is none.
pub fn due_tick_ms(session: &RunSession, next_t_ms: u64) -> Option<u64> {
    session.next_wakeup_ms().filter(|w| *w < next_t_ms && *w > session.now_ms())
}

/// Feeds every input; returns every utterance, in order.
pub fn run(session: &mut RunSession, inputs: &[Input]) -> Vec<Utterance> {
    run_with_audio(session, inputs, |_| None)
}

/// Like [`run`], with an audio layer: `play` is given each utterance as it is decided and
/// returns how long it really lasts (ms); the engine then hears `cue_finished` at that moment,
/// as it would from the phone's player.
pub fn run_with_audio(
    session: &mut RunSession,
    inputs: &[Input],
    mut play: impl FnMut(&Utterance) -> Option<u64>,
) -> Vec<Utterance> {
    let mut out: Vec<Utterance> = Vec::new();
    // Finishes still to report: (at_ms, utterance id), kept sorted.
    let mut finishes: Vec<(u64, u64)> = Vec::new();
    let mut handle = |session: &mut RunSession,
                      input: &Input,
                      out: &mut Vec<Utterance>,
                      finishes: &mut Vec<(u64, u64)>| {
        for u in session.handle(input) {
            if let Some(duration_ms) = play(&u) {
                finishes.push((u.at_ms + duration_ms, u.id));
                finishes.sort_unstable();
            }
            out.push(u);
        }
    };
    for input in inputs {
        let t = input.t_ms();
        // At most a few wakeups and finishes between two inputs; the bound keeps a confused
        // clock from spinning here.
        for _ in 0..16 {
            let wake = due_tick_ms(session, t);
            let finish = finishes.first().copied().filter(|(at, _)| *at <= t);
            match (wake, finish) {
                (_, Some((at, id))) if wake.is_none_or(|w| at <= w) => {
                    finishes.remove(0);
                    handle(
                        session,
                        &Input::CueFinished { utterance_id: id, at_ms: at },
                        &mut out,
                        &mut finishes,
                    );
                }
                (Some(w), _) => handle(session, &Input::Tick { t_ms: w }, &mut out, &mut finishes),
                _ => break,
            }
        }
        handle(session, input, &mut out, &mut finishes);
    }
    // After the last input the voice still finishes what it was saying (and the last word).
    while !finishes.is_empty() {
        let (at, id) = finishes.remove(0);
        handle(session, &Input::CueFinished { utterance_id: id, at_ms: at }, &mut out, &mut finishes);
    }
    out
}

/// The readable timeline: one line per utterance, with the run clock, the step and the words.
/// `12:04  step 3/11 work 1.00 km @ 4:45–4:55/km (rep 1/5)  "Pick it up: ..."`
pub fn timeline(utterances: &[Utterance], steps: &[ExpandedStep]) -> Vec<String> {
    timeline_with(utterances, steps, Utterance::neutral_text)
}

/// The timeline with each utterance's words from `words` (a persona's, say).
pub fn timeline_with(
    utterances: &[Utterance],
    steps: &[ExpandedStep],
    mut words: impl FnMut(&Utterance) -> String,
) -> Vec<String> {
    utterances
        .iter()
        .map(|u| {
            let step = u.cues.iter().find_map(|c| c.step).and_then(|i| steps.get(i));
            let place = step
                .map(|s| format!("step {}/{} {}", s.index + 1, steps.len(), s.describe()))
                .unwrap_or_default();
            format!("{:>7}  {:<48}  \"{}\"", format_clock_s(u.at_ms as f64 / 1000.0), place, words(u))
        })
        .collect()
}

//! Driving a session through a list of inputs as a host would live: before each input, the
//! ticks the engine asked for (`next_wakeup_ms`), so countdowns land on their second whatever
//! the input rate. Used by `pacenote replay`, the tests and the benchmarks.

use super::{Input, RunSession};
use crate::cue::Utterance;
use crate::plan::ExpandedStep;
use crate::units::format_clock_s;

/// Feeds every input; returns every utterance, in order.
pub fn run(session: &mut RunSession, inputs: &[Input]) -> Vec<Utterance> {
    let mut out = Vec::new();
    for input in inputs {
        let t = input.t_ms();
        // At most a few wakeups between two inputs; the bound keeps a confused clock from
        // spinning here.
        for _ in 0..8 {
            match session.next_wakeup_ms() {
                Some(wake) if wake < t && wake > session.now_ms() => {
                    out.extend(session.handle(&Input::Tick { t_ms: wake }));
                }
                _ => break,
            }
        }
        out.extend(session.handle(input));
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

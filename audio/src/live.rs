//! The live cue player (DESIGN §6): one utterance at a time through an audio output, a more
//! urgent one cutting a less urgent one off, others waiting their turn unless they go stale
//! first (dropped, never played late), and the platform's audio focus taken while speaking
//! (other audio ducked) and given back when quiet. It reports when each utterance really ended:
//! the host passes that to the engine as `cue_finished`.
//!
//! The output and the focus are traits: the apps implement them over AVAudioSession and
//! AudioManager; the `playback` feature adds a rodio output for desktops. No clock of its own:
//! the host calls [`LivePlayer::tick`] with its run clock.

use pacenote_core::cue::{Priority, Utterance};

use crate::voice::{SAMPLE_RATE_HZ, Stitched};

/// Where sound goes.
pub trait AudioOutput {
    /// Starts playing `samples` (mono, [`SAMPLE_RATE_HZ`]) at once, replacing anything playing.
    fn play(&mut self, samples: &[f32]) -> Result<(), String>;
    /// Stops at once.
    fn stop(&mut self);
}

/// The platform's audio focus: duck other audio (music, podcasts) while the coach speaks.
pub trait AudioFocus {
    fn duck(&mut self) -> Result<(), String>;
    fn release(&mut self);
}

/// What the player did, for the host (`Finished` becomes the engine's `cue_finished`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerEvent {
    Started {
        id: u64,
        at_ms: u64,
    },
    Finished {
        id: u64,
        at_ms: u64,
    },
    Interrupted {
        id: u64,
        at_ms: u64,
    },
    Dropped {
        id: u64,
    },
    /// The output failed; the utterance counts as finished so the coach does not stall.
    Failed {
        id: u64,
        at_ms: u64,
    },
}

/// The live player.
#[derive(Debug)]
pub struct LivePlayer<O, F> {
    output: O,
    focus: F,
    /// (utterance id, priority, end on the run clock).
    playing: Option<(u64, Priority, u64)>,
    waiting: Vec<(Utterance, Stitched)>,
    focused: bool,
}

impl<O: AudioOutput, F: AudioFocus> LivePlayer<O, F> {
    pub fn new(output: O, focus: F) -> Self {
        Self { output, focus, playing: None, waiting: Vec::new(), focused: false }
    }

    /// When what is playing ends on the run clock (the host ticks then), if anything plays.
    pub fn busy_until_ms(&self) -> Option<u64> {
        self.playing.map(|(_, _, end)| end)
    }

    /// The engine decided an utterance at `now_ms`.
    pub fn offer(&mut self, now_ms: u64, utterance: Utterance, audio: Stitched) -> Vec<PlayerEvent> {
        let mut events = self.tick(now_ms);
        match self.playing {
            Some((id, priority, _)) if utterance.priority.cuts_in(priority) => {
                self.output.stop();
                events.push(PlayerEvent::Interrupted { id, at_ms: now_ms });
                self.playing = None;
                events.extend(self.start(now_ms, &utterance, &audio));
            }
            Some(_) => self.waiting.push((utterance, audio)),
            None => events.extend(self.start(now_ms, &utterance, &audio)),
        }
        events
    }

    /// Moves the clock: ends what has finished, starts what waits, drops what went stale,
    /// releases the audio focus when there is nothing left to say.
    pub fn tick(&mut self, now_ms: u64) -> Vec<PlayerEvent> {
        let mut events = Vec::new();
        if let Some((id, _, end)) = self.playing
            && now_ms >= end
        {
            self.playing = None;
            events.push(PlayerEvent::Finished { id, at_ms: end });
        }
        while self.playing.is_none() && !self.waiting.is_empty() {
            // The most urgent first, then the oldest.
            let next = self
                .waiting
                .iter()
                .enumerate()
                .max_by(|(_, a), (_, b)| a.0.priority.cmp(&b.0.priority).then(b.0.at_ms.cmp(&a.0.at_ms)))
                .map_or(0, |(i, _)| i);
            let (utterance, audio) = self.waiting.remove(next);
            if now_ms > utterance.expires_at_ms() {
                events.push(PlayerEvent::Dropped { id: utterance.id });
                continue;
            }
            events.extend(self.start(now_ms, &utterance, &audio));
        }
        if self.playing.is_none() && self.waiting.is_empty() && self.focused {
            self.focus.release();
            self.focused = false;
        }
        events
    }

    fn start(&mut self, now_ms: u64, utterance: &Utterance, audio: &Stitched) -> Vec<PlayerEvent> {
        if !self.focused {
            // Without focus the coach still speaks (over the music, as a last resort).
            self.focused = self.focus.duck().is_ok();
        }
        match self.output.play(&audio.samples) {
            Ok(()) => {
                let end = now_ms + audio.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE_HZ);
                self.playing = Some((utterance.id, utterance.priority, end));
                vec![PlayerEvent::Started { id: utterance.id, at_ms: now_ms }]
            }
            Err(_) => vec![PlayerEvent::Failed { id: utterance.id, at_ms: now_ms }],
        }
    }
}

/// Desktops have no audio-focus API: nothing to duck, nothing to give back.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudioFocus;

impl AudioFocus for NoAudioFocus {
    fn duck(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn release(&mut self) {}
}

/// Playback through the default audio device with rodio (the `playback` feature).
#[cfg(feature = "playback")]
pub mod device {
    use std::num::NonZero;

    use super::AudioOutput;
    use crate::voice::SAMPLE_RATE_HZ;

    /// The default output device. Opening fails with an error (never a panic) when there is
    /// no audio device, as on a server.
    pub struct DeviceOutput {
        // Kept alive: dropping the sink ends playback.
        _sink: rodio::MixerDeviceSink,
        player: rodio::Player,
    }

    impl std::fmt::Debug for DeviceOutput {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("DeviceOutput")
        }
    }

    impl DeviceOutput {
        pub fn open_default() -> Result<Self, String> {
            let sink =
                rodio::DeviceSinkBuilder::open_default_sink().map_err(|e| format!("no audio output: {e}"))?;
            let player = rodio::Player::connect_new(sink.mixer());
            Ok(Self { _sink: sink, player })
        }
    }

    impl AudioOutput for DeviceOutput {
        fn play(&mut self, samples: &[f32]) -> Result<(), String> {
            let (Some(channels), Some(rate)) = (NonZero::new(1u16), NonZero::new(SAMPLE_RATE_HZ)) else {
                return Err("bad audio format".into());
            };
            self.player.stop();
            self.player.append(rodio::buffer::SamplesBuffer::new(channels, rate, samples.to_vec()));
            self.player.play();
            Ok(())
        }

        fn stop(&mut self) {
            self.player.stop();
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn no_device_is_an_error_not_a_panic() {
            // On a machine with a sound card this opens it; on CI it must fail cleanly.
            match super::DeviceOutput::open_default() {
                Ok(_) => {}
                Err(e) => assert!(e.starts_with("no audio output"), "{e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacenote_core::cue::{Cue, CueKind, CueSlots};

    /// Records what the platform was asked to do (the apps' real outputs are Swift/Kotlin).
    #[derive(Debug, Default)]
    struct Recorded {
        played: Vec<usize>,
        stops: usize,
    }
    impl AudioOutput for &mut Recorded {
        fn play(&mut self, samples: &[f32]) -> Result<(), String> {
            self.played.push(samples.len());
            Ok(())
        }
        fn stop(&mut self) {
            self.stops += 1;
        }
    }
    #[derive(Debug, Default)]
    struct Focus {
        ducked: usize,
        released: usize,
    }
    impl AudioFocus for &mut Focus {
        fn duck(&mut self) -> Result<(), String> {
            self.ducked += 1;
            Ok(())
        }
        fn release(&mut self) {
            self.released += 1;
        }
    }

    fn utterance(id: u64, at_ms: u64, kind: CueKind) -> Utterance {
        let cue = Cue::new(id, kind, CueSlots::default(), None, at_ms);
        Utterance { id, at_ms, early_ms: 0, priority: kind.priority(), cues: vec![cue], interrupts: None }
    }

    fn seconds(s: f64) -> Stitched {
        Stitched {
            samples: vec![0.1; (s * f64::from(SAMPLE_RATE_HZ)) as usize],
            fallbacks: 0,
            unvoiced: Vec::new(),
        }
    }

    #[test]
    fn speaks_in_turn_interrupts_for_urgent_drops_stale_and_gives_focus_back() {
        let (mut out, mut focus) = (Recorded::default(), Focus::default());
        let mut events = Vec::new();
        {
            let mut player = LivePlayer::new(&mut out, &mut focus);
            events.extend(player.offer(0, utterance(1, 0, CueKind::Split), seconds(2.0)));
            // Waits for the split, then is said.
            events.extend(player.offer(500, utterance(2, 500, CueKind::Encouragement), seconds(1.0)));
            events.extend(player.tick(2_000));
            // A countdown arrives while the encouragement plays: it cuts in.
            events.extend(player.offer(2_500, utterance(3, 2_500, CueKind::Countdown), seconds(1.0)));
            // A split that waits behind a long safety cue goes stale.
            events.extend(player.offer(3_600, utterance(4, 3_600, CueKind::HrVeryHigh), seconds(40.0)));
            events.extend(player.offer(3_700, utterance(5, 3_700, CueKind::Split), seconds(1.0)));
            events.extend(player.tick(43_600));
            events.extend(player.tick(50_000));
        }
        use PlayerEvent::*;
        assert_eq!(
            events,
            vec![
                Started { id: 1, at_ms: 0 },
                Finished { id: 1, at_ms: 2_000 },
                Started { id: 2, at_ms: 2_000 },
                Interrupted { id: 2, at_ms: 2_500 },
                Started { id: 3, at_ms: 2_500 },
                Finished { id: 3, at_ms: 3_500 },
                Started { id: 4, at_ms: 3_600 },
                Finished { id: 4, at_ms: 43_600 },
                Dropped { id: 5 },
            ]
        );
        assert_eq!(out.played.len(), 4);
        assert_eq!(out.stops, 1);
        assert_eq!(focus.ducked, 2, "ducked when speech began, again after the quiet gap");
        assert_eq!(focus.released, 2, "and given back each time it went quiet");
    }
}

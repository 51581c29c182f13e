// Thin iOS glue over the generated API: a CueListener that ducks other audio (music, podcasts)
// around each utterance with AVAudioSession's .duckOthers, speaks it with AVSpeechSynthesizer
// (the fallback voice; packs of recorded clips are played by the app's own player), and reports
// the end back to the session so the next cue is never early or overlapping.
// Written against the generated Pacenote.swift; not compiled on the Linux CI machines.
import AVFoundation
import os
import Foundation

public final class CoachVoice: NSObject, CueListener, AVSpeechSynthesizerDelegate, @unchecked Sendable {
    private let synthesizer = AVSpeechSynthesizer()
    private let clock: () -> UInt64
    private let lock = NSLock()
    private var spoken: [ObjectIdentifier: UInt64] = [:]
    /// Set after creating the RunSession with this voice as its listener.
    public weak var session: RunSession?

    /// `clock` is the run clock in ms, the same one the session is fed with.
    public init(clock: @escaping () -> UInt64) {
        self.clock = clock
        super.init()
        synthesizer.delegate = self
    }

    /// Called on the thread that fed the session; AVFoundation is fine with that.
    public func onUtterance(utterance: Utterance) {
        if utterance.interrupts != nil {
            synthesizer.stopSpeaking(at: .immediate)
        }
        duck(true)
        let speech = AVSpeechUtterance(string: utterance.text)
        lock.lock()
        spoken[ObjectIdentifier(speech)] = utterance.id
        lock.unlock()
        synthesizer.speak(speech)
    }

    public func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didFinish utterance: AVSpeechUtterance) {
        finished(utterance)
    }

    public func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didCancel utterance: AVSpeechUtterance) {
        finished(utterance)
    }

    private func finished(_ speech: AVSpeechUtterance) {
        lock.lock()
        let id = spoken.removeValue(forKey: ObjectIdentifier(speech))
        let idle = spoken.isEmpty
        lock.unlock()
        if idle { duck(false) }
        if let id { try? session?.cueFinished(utteranceId: id, atMs: clock()) }
    }

    private func duck(_ on: Bool) {
        let audio = AVAudioSession.sharedInstance()
        if on {
            try? audio.setCategory(.playback, mode: .voicePrompt, options: [.duckOthers, .interruptSpokenAudioAndMixWithOthers])
            try? audio.setActive(true)
        } else {
            // Let the music come back up.
            try? audio.setActive(false, options: .notifyOthersOnDeactivation)
        }
    }
}

/// Forwards the library's log lines to os_log (unified logging).
public final class OSLogSink: LogSink, @unchecked Sendable {
    public init() {}

    public func log(level: LogLevel, target: String, message: String) {
        let type: OSLogType
        switch level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        os_log("%{public}@ %{public}@", type: type, target, message)
    }
}

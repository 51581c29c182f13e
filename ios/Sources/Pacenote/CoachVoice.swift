// Thin iOS glue over the generated API: a Voice (RunStream.swift) that ducks other audio (music,
// podcasts) around each utterance with AVAudioSession's .duckOthers, speaks it with
// AVSpeechSynthesizer (the fallback voice; packs of recorded clips are played by PackVoice), and
// calls `done` when it has been heard, which RunStream reports to the session: the next cue is
// never early or overlapping, and the voice needs no session of its own.
// Written against the generated Pacenote.swift; not compiled on the Linux CI machines.
import AVFoundation
import os
import Foundation

public final class CoachVoice: NSObject, Voice, AVSpeechSynthesizerDelegate, @unchecked Sendable {
    private let synthesizer = AVSpeechSynthesizer()
    private let lock = NSLock()
    private var spoken: [ObjectIdentifier: () -> Void] = [:]

    public override init() {
        super.init()
        synthesizer.delegate = self
    }

    /// Called on the thread that fed the session; AVFoundation is fine with that.
    public func speak(_ utterance: Utterance, done: @escaping () -> Void) {
        if utterance.interrupts != nil {
            synthesizer.stopSpeaking(at: .immediate)
        }
        duck(true)
        let speech = AVSpeechUtterance(string: utterance.text)
        lock.lock()
        spoken[ObjectIdentifier(speech)] = done
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
        let done = spoken.removeValue(forKey: ObjectIdentifier(speech))
        let idle = spoken.isEmpty
        lock.unlock()
        if idle { duck(false) }
        done?()
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

// The host side of the library's own voice (RunSession.attachAudio): PCM through an
// AVAudioPlayerNode, the audio session ducking other audio (.duckOthers) while the coach speaks
// and giving it back (.notifyOthersOnDeactivation), and AVSpeechSynthesizer synthesising to PCM
// the text no clip holds (a plan's step notes, done when audio is attached, off the main
// thread). The library decides what to play and when, and knows when it ends. Not compiled on
// the Linux CI machines: written against the generated Pacenote.swift (AudioOutput,
// AudioFocus, SpeechFallback, Pcm, AudioFailure).
//
//   let voice = PackVoice()
//   try run.attachAudio(packDir: try app.packDir(persona: "stone", lang: "en")!, output: voice, focus: voice, speech: voice)
import AVFoundation

public final class PackVoice: AudioOutput, AudioFocus, SpeechFallback, @unchecked Sendable {
    private let engine = AVAudioEngine()
    private let player = AVAudioPlayerNode()
    private let synthesizer = AVSpeechSynthesizer()
    private let voice: AVSpeechSynthesisVoice?

    public init(language: String = "en-US") {
        voice = AVSpeechSynthesisVoice(language: language)
        engine.attach(player)
    }

    public func play(pcm: Pcm) throws {
        let count = pcm.samplesLe.count / 2
        guard let format = AVAudioFormat(commonFormat: .pcmFormatFloat32, sampleRate: Double(pcm.sampleRateHz),
                                         channels: 1, interleaved: false),
              let buffer = AVAudioPCMBuffer(pcmFormat: format, frameCapacity: AVAudioFrameCount(count)),
              let channel = buffer.floatChannelData?[0] else {
            throw AudioFailure.Failed(reason: "no buffer for \(count) samples")
        }
        pcm.samplesLe.withUnsafeBytes { raw in
            for i in 0..<count {
                channel[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) / 32768
            }
        }
        buffer.frameLength = AVAudioFrameCount(count)
        player.stop()
        engine.disconnectNodeOutput(player)
        engine.connect(player, to: engine.mainMixerNode, format: format)
        if !engine.isRunning {
            do { try engine.start() } catch { throw AudioFailure.Failed(reason: "\(error)") }
        }
        player.scheduleBuffer(buffer, at: nil, options: .interrupts)
        player.play()
    }

    public func stop() {
        player.stop()
    }

    public func duck() throws {
        do {
            let session = AVAudioSession.sharedInstance()
            try session.setCategory(.playback, mode: .voicePrompt, options: [.duckOthers, .interruptSpokenAudioAndMixWithOthers])
            try session.setActive(true)
        } catch {
            throw AudioFailure.Failed(reason: "\(error)")
        }
    }

    public func release() {
        try? AVAudioSession.sharedInstance().setActive(false, options: .notifyOthersOnDeactivation)
    }

    /// Blocks (off the main thread) until AVSpeechSynthesizer has written the text.
    public func synthesize(text: String) throws -> Pcm {
        let utterance = AVSpeechUtterance(string: text)
        utterance.voice = voice
        var samples = Data()
        var rate: UInt32 = 22_050
        let done = DispatchSemaphore(value: 0)
        synthesizer.write(utterance) { buffer in
            guard let pcm = buffer as? AVAudioPCMBuffer, pcm.frameLength > 0 else {
                done.signal() // an empty buffer marks the end
                return
            }
            rate = UInt32(pcm.format.sampleRate)
            for n in 0..<Int(pcm.frameLength) {
                let value: Int16
                if let f = pcm.floatChannelData?[0] {
                    value = Int16(max(-1, min(1, f[n])) * 32767)
                } else if let i = pcm.int16ChannelData?[0] {
                    value = i[n]
                } else {
                    return
                }
                withUnsafeBytes(of: value.littleEndian) { samples.append(contentsOf: $0) }
            }
        }
        if done.wait(timeout: .now() + 20) == .timedOut || samples.isEmpty {
            throw AudioFailure.Failed(reason: "the synthesiser could not say: \(text)")
        }
        return Pcm(samplesLe: samples, sampleRateHz: rate)
    }
}

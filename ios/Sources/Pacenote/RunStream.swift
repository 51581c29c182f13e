// A run as Swift async streams, with the ticker built in: the app starts it, feeds sensors,
// iterates `states` for the run screen and `events` for what was said, and never calls tick().
// The voice is given at creation (`Voice.speak(_:done:)`): the stream reports each utterance's
// end to the session, so there is no session to wire into the voice afterwards. Also: syncNow
// and preload that a cancelled Task stops in Rust (Swift's tasks do not drop the Rust future).
// Written against the generated Pacenote.swift; not compiled on the Linux CI machines.
import Foundation

/// Speaks an utterance (the pack's clips, or the platform's speech) and calls `done` once it
/// has been heard, from any thread.
public protocol Voice: AnyObject {
    func speak(_ utterance: Utterance, done: @escaping () -> Void)
}

/// What happened in a run, in order.
public enum RunEvent {
    case said(Utterance)
    /// The run is over (the finish was said).
    case finished(RunSummary)
}

public final class RunStream: @unchecked Sendable {
    /// The session, for the sensors: `session.location(fix:)`, `session.heartRate(...)`.
    public private(set) var session: RunSession!
    public let events: AsyncStream<RunEvent>
    public let states: AsyncStream<RunState>
    private let eventSink: AsyncStream<RunEvent>.Continuation
    private let stateSink: AsyncStream<RunState>.Continuation
    private let clock: () -> UInt64
    private weak var voice: Voice?
    private var ticker: Task<Void, Never>?
    private let lock = NSLock()
    private var finishedSent = false

    private final class Listener: CueListener, @unchecked Sendable {
        weak var stream: RunStream?
        func onUtterance(utterance: Utterance) { stream?.heard(utterance) }
    }
    private let listener = Listener()

    private init(clock: @escaping () -> UInt64, voice: Voice?) {
        self.clock = clock
        self.voice = voice
        (events, eventSink) = AsyncStream.makeStream(of: RunEvent.self, bufferingPolicy: .bufferingNewest(256))
        (states, stateSink) = AsyncStream.makeStream(of: RunState.self, bufferingPolicy: .bufferingNewest(1))
        listener.stream = self
    }

    private func heard(_ utterance: Utterance) {
        eventSink.yield(.said(utterance))
        voice?.speak(utterance) { [weak self] in
            guard let self, let session = self.session else { return }
            try? session.cueFinished(utteranceId: utterance.id, atMs: self.clock())
        }
        publish()
    }

    private func publish() {
        guard let session else { return }
        stateSink.yield(session.state())
        lock.lock()
        let first = session.isFinished() && !finishedSent
        if first { finishedSent = true }
        lock.unlock()
        if first {
            eventSink.yield(.finished(session.summary()))
            eventSink.finish()
            stateSink.finish()
        }
    }

    private static func voiced(_ options: RunOptions, _ voice: Voice?) -> RunOptions {
        var options = options
        if voice != nil { options.audioReportsFinish = true }
        return options
    }

    /// A run recorded into the app's store; the ticker starts at once.
    public static func start(app: Pacenote, options: RunOptions, clock: @escaping () -> UInt64,
                             voice: Voice? = nil) throws -> RunStream {
        let stream = RunStream(clock: clock, voice: voice)
        stream.session = try app.startRun(options: voiced(options, voice), listener: stream.listener)
        stream.startTicking()
        return stream
    }

    /// The run a killed app left unfinished, or nil.
    public static func resume(app: Pacenote, clock: @escaping () -> UInt64, voice: Voice? = nil) throws -> RunStream? {
        let stream = RunStream(clock: clock, voice: voice)
        guard let run = try app.resumeRun(listener: stream.listener) else { return nil }
        stream.session = run
        stream.startTicking()
        return stream
    }

    /// A run with no store (a session alone).
    public static func of(options: RunOptions, clock: @escaping () -> UInt64, voice: Voice? = nil) throws -> RunStream {
        let stream = RunStream(clock: clock, voice: voice)
        stream.session = try RunSession(options: voiced(options, voice), listener: stream.listener)
        stream.startTicking()
        return stream
    }

    /// A tick every second of the clock, sooner when the coach asks (`nextWakeupMs`: a
    /// countdown on the second); it ends with the run, or `stop()`.
    private func startTicking(everyMs: UInt64 = 1000) {
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                guard let self, let session = self.session, !session.isFinished() else { break }
                let now = self.clock()
                try? session.tick(tMs: now)
                self.publish()
                var wait = everyMs
                if let wake = session.nextWakeupMs(), wake > now { wait = min(everyMs, wake - now) }
                try? await Task.sleep(nanoseconds: max(wait, 1) * 1_000_000)
            }
            self?.publish()
        }
    }

    /// Stops the ticker and ends the streams (the run stays in the store, resumable).
    public func stop() {
        ticker?.cancel()
        eventSink.finish()
        stateSink.finish()
    }

    deinit { ticker?.cancel() }
}

public extension Pacenote {
    /// `syncNow` that a cancelled Task stops in Rust: no request is sent after the cancel.
    func syncNowCancellable() async throws -> SyncReport {
        let stop = Cancellation()
        return try await withTaskCancellationHandler {
            try await syncNow(cancellation: stop)
        } onCancel: {
            stop.cancel()
        }
    }

    /// `restoreHistory` that a cancelled Task stops in Rust (runs stored so far stay).
    func restoreHistoryCancellable() async throws -> RestoreReport {
        let stop = Cancellation()
        return try await withTaskCancellationHandler {
            try await restoreHistory(cancellation: stop)
        } onCancel: {
            stop.cancel()
        }
    }

    /// `preload` that a cancelled Task stops in Rust.
    func preloadCancellable(planId: String, persona: String, lang: String) async throws -> PreloadReport {
        let stop = Cancellation()
        return try await withTaskCancellationHandler {
            try await preload(planId: planId, persona: persona, lang: lang, cancellation: stop)
        } onCancel: {
            stop.cancel()
        }
    }
}

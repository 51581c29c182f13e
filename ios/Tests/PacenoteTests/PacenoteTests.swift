// Mirrors bindings/kotlin/test/PacenoteTest.kt (minus the corpus replay, which needs the
// repository's ../shared beside it). Not compiled on the Linux CI machines.
import Foundation
import XCTest
@testable import Pacenote

final class Collect: CueListener, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var said: [Utterance] = []
    private(set) var threads: [String] = []

    func onUtterance(utterance: Utterance) {
        lock.lock()
        said.append(utterance)
        threads.append(Thread.current.name ?? "")
        lock.unlock()
    }
}

let tempo = """
{"version":1,"id":"tempo-20","name":"20-minute tempo","steps":[
 {"kind":"warmup","end":{"time_s":900},"target":{"hr_zone":2}},
 {"kind":"work","end":{"time_s":1200},"target":{"pace":{"fastest":"5:05","slowest":"5:15"}}},
 {"kind":"cooldown","end":{"time_s":600},"target":{"hr_zone":1}}]}
"""

final class PacenoteTests: XCTestCase {
    func testAPersonaSpeaksInItsOwnWordsFromAnyThread() throws {
        let listener = Collect()
        let session = try RunSession(options: RunOptions(planJson: tempo, persona: "jenna",
                                                         weather: Weather(tempC: 31, dewPointC: 22),
                                                         week: WeekSoFar(runsDone: 3, runsPlanned: 4, streakWeeks: 5)),
                                     listener: listener)
        let worker = Thread {
            try? session.start(tMs: 0)
            try? session.finish(tMs: 700_000)
        }
        worker.name = "feeder"
        let done = expectation(description: "fed")
        let waiter = Thread {
            while !worker.isFinished { usleep(1000) }
            done.fulfill()
        }
        worker.start()
        waiter.start()
        wait(for: [done], timeout: 10)
        try session.checkIn(tMs: 710_000, effort: 6)
        let kinds = listener.said.flatMap { $0.cues.map(\.kind) }
        XCTAssertEqual(Array(kinds.prefix(2)), [CueKind.runStart, CueKind.heatAdjusted])
        XCTAssertTrue(kinds.contains(.streakCelebration))
        XCTAssertTrue(listener.threads.allSatisfy { $0 == "feeder" })
        XCTAssertEqual(session.summary().effort, 6)
    }

    func testErrorsArriveAsThrownErrors() throws {
        XCTAssertThrowsError(try RunSession(options: RunOptions(planJson: "{", persona: "stone"), listener: Collect())) { error in
            guard case PacenoteError.InvalidPlan = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try RunSession(options: RunOptions(planJson: tempo, persona: "yoda"), listener: Collect())) { error in
            guard case PacenoteError.UnknownPersona = error else { return XCTFail("\(error)") }
        }
        let session = try RunSession(options: RunOptions(planJson: tempo, persona: "stone"), listener: Collect())
        XCTAssertThrowsError(try session.checkIn(tMs: 0, effort: 11))
        try session.heartRate(tMs: 1000, bpm: .nan)
    }

    func testReadinessAndTheEasySwap() throws {
        let tired = try readiness(check: MorningCheck(restingHrBpm: 55, baselineRestingHrBpm: 48, raisedRestingHrMornings: 2,
                                                      hrvMs: nil, baselineHrvMs: nil, hrvSdMs: nil, poorSleepNights: 2,
                                                      heavyLegs: false, dread: false, painDays: 0))
        XCTAssertEqual(tired.recommendation, .easy)
        let hurt = try readiness(check: MorningCheck(restingHrBpm: nil, baselineRestingHrBpm: nil, raisedRestingHrMornings: nil,
                                                     hrvMs: nil, baselineHrvMs: nil, hrvSdMs: nil, poorSleepNights: 0,
                                                     heavyLegs: false, dread: false, painDays: 5))
        XCTAssertEqual(hurt.recommendation, .seeProfessional)
        let easy = try easyVersion(planJson: tempo, maxHrBpm: 190)
        XCTAssertTrue(easy.contains("\"easy\""))
    }

    func testLogLinesReachTheSink() throws {
        final class Lines: LogSink, @unchecked Sendable {
            var lines: [String] = []
            func log(level: LogLevel, target: String, message: String) { lines.append("\(level) \(message)") }
        }
        let sink = Lines()
        try initLogging(level: .debug, sink: sink)
        let session = try RunSession(options: RunOptions(planJson: tempo, persona: "jakes"), listener: Collect())
        try session.start(tMs: 0)
        XCTAssertTrue(sink.lines.contains { $0.contains("run session created") })
    }

    /// Mirrors the Kotlin syncNow test: needs `pacenote serve --addr 127.0.0.1:8787 --user
    /// swift:swift-test-token --packs audio/packs --plans core/plans` running on the Mac.
    func testARecordedRunIsPreloadedResumedAndSynced() async throws {
        let server = ProcessInfo.processInfo.environment["PACENOTE_SERVER"] ?? "http://127.0.0.1:8787"
        let token = ProcessInfo.processInfo.environment["PACENOTE_TOKEN"] ?? "swift-test-token"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        var app = try Pacenote.open(dataDir: dir, serverUrl: server, token: token, transport: URLSessionTransport())
        XCTAssertFalse(try app.isReadyOffline(planId: "tempo-20", persona: "jenna", lang: "en").ready)
        let preload = try await app.preload(planId: "tempo-20", persona: "jenna", lang: "en")
        XCTAssertGreaterThan(preload.filesDownloaded, 100)
        XCTAssertTrue(try app.isReadyOffline(planId: "tempo-20", persona: "jenna", lang: "en").ready)
        let plan = try XCTUnwrap(try app.cachedPlanJson(planId: "tempo-20"))

        let first = try app.startRun(options: RunOptions(planJson: plan, persona: "jenna"), listener: Collect())
        try first.start(tMs: 0)
        for s in UInt64(1)...300 {
            try first.location(fix: LocationFix(tMs: s * 1000, latDeg: 0, lonDeg: Double(s) * 3 / 111_320,
                                                horizontalAccuracyM: 5, speedMps: 3, speedAccuracyMps: nil, altitudeM: nil))
            try first.tick(tMs: s * 1000)
        }
        // The app dies; relaunched, the run is rebuilt where it stopped.
        app = try Pacenote.open(dataDir: dir, serverUrl: server, token: token, transport: URLSessionTransport())
        let run = try XCTUnwrap(try app.resumeRun(listener: Collect()))
        XCTAssertEqual(run.resumedAt()?.tMs, 300_000)
        try run.finish(tMs: 300_001)
        try run.checkIn(tMs: 305_000, effort: 7)

        app.setConnectivity(online: false)
        let offline = try await app.syncNow()
        XCTAssertEqual(offline.outcome, .offline)
        app.setConnectivity(online: true)
        let report = try await app.syncNow()
        XCTAssertEqual(report.outcome, .done)
        XCTAssertEqual(report.runsUploaded, 1)
        XCTAssertTrue(try app.runs()[0].uploaded)
        XCTAssertNil(app.nextSyncAtMs())
    }

    /// Mirrors the Kotlin test of the library's own voice: the pack's clips played through the
    /// host's output with the focus around each burst. Run from the repository (for the pack).
    func testTheLibraryVoicesTheRunFromThePack() throws {
        final class HostAudio: AudioOutput, AudioFocus, SpeechFallback, @unchecked Sendable {
            var log: [String] = []
            func play(pcm: Pcm) throws { log.append("play \(pcm.samplesLe.count / 2)") }
            func stop() { log.append("stop") }
            func duck() throws { log.append("duck") }
            func release() { log.append("release") }
            func synthesize(text: String) throws -> Pcm {
                log.append("say \(text)")
                return Pcm(samplesLe: Data(count: 16_000), sampleRateHz: 16_000)
            }
        }
        let pack = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../audio/packs/en/jenna").standardized.path
        let audio = HostAudio()
        let listener = Collect()
        let run = try RunSession(options: RunOptions(planJson: tempo, persona: "jenna", audioReportsFinish: true),
                                 listener: listener)
        try run.attachAudio(packDir: pack, output: audio, focus: audio, speech: audio)
        try run.start(tMs: 0)
        for s in UInt64(1)...1200 {
            try run.location(fix: LocationFix(tMs: s * 1000, latDeg: 0, lonDeg: Double(s) * 3 / 111_320,
                                              horizontalAccuracyM: 5, speedMps: 3, speedAccuracyMps: nil, altitudeM: nil))
            try run.tick(tMs: s * 1000)
        }
        XCTAssertEqual(audio.log.filter { $0.hasPrefix("play") }.count, listener.said.count)
        XCTAssertEqual(audio.log.first { $0 == "duck" || $0 == "release" }, "duck")
    }

    /// Mirrors the Kotlin flow test: nothing fed but the start, the stream's own ticker brings
    /// the countdown and the next step when the warm-up's 15 minutes are up.
    func testARunAsAStreamTicksItself() async throws {
        final class Clock: @unchecked Sendable {
            private let lock = NSLock()
            private var ms: UInt64 = 0
            func now() -> UInt64 { lock.lock(); defer { lock.unlock() }; return ms }
            func set(_ value: UInt64) { lock.lock(); ms = value; lock.unlock() }
        }
        final class Quiet: Voice {
            var spoken = 0
            func speak(_ utterance: Utterance, done: @escaping () -> Void) { spoken += 1; done() }
        }
        let clock = Clock()
        let voice = Quiet()
        let run = try RunStream.of(options: RunOptions(planJson: tempo, persona: "stone", autoPause: false),
                                   clock: { clock.now() }, voice: voice)
        let heard = Task { () -> [CueKind] in
            var kinds: [CueKind] = []
            for await event in run.events {
                if case .said(let utterance) = event { kinds += utterance.cues.map { $0.kind } }
                if kinds.contains(.stepStart) && kinds.filter({ $0 == .stepStart }).count >= 2 { break }
            }
            return kinds
        }
        try run.session.start(tMs: 0)
        for t in stride(from: UInt64(880_000), through: 902_000, by: 1_000) {
            clock.set(t)
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try await Task.sleep(nanoseconds: 1_100_000_000)
        run.stop()
        let kinds = await heard.value
        XCTAssertTrue(kinds.contains(.countdown), "\(kinds)")
        XCTAssertGreaterThan(voice.spoken, 2)
    }

    /// Mirrors the Kotlin history test, without the CLI: a recorded run's summary says the
    /// run's own distance, counts the week, and reads goals; a cancelled preload sends nothing.
    func testTheSummaryOfAStoredRunAndACancelledPreload() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        let app = try Pacenote.open(dataDir: dir, serverUrl: "http://127.0.0.1:9", token: nil,
                                    transport: URLSessionTransport())
        XCTAssertThrowsError(try app.runSummary(options: SummaryOptions()))
        let run = try app.startRun(options: RunOptions(planJson: tempo), listener: Collect())
        try run.start(tMs: 0)
        for s in UInt64(1)...900 {
            try run.location(fix: LocationFix(tMs: s * 1000, latDeg: 0, lonDeg: Double(s) * 3 / 111_320,
                                              horizontalAccuracyM: 5, speedMps: 3, speedAccuracyMps: nil, altitudeM: nil))
        }
        try run.finish(tMs: 900_001)
        try run.save()
        let summary = try app.runSummary(options: SummaryOptions(runsPerWeek: 3, goals: [
            Goal(tier: .process, what: "three runs a week", measure: .runsPerWeek(runs: 3))]))
        XCTAssertEqual(summary.run.distanceM, run.summary().distanceM, accuracy: 1e-9)
        XCTAssertEqual(summary.week.runsDone, 1)
        XCTAssertEqual(summary.goals[0].words, "1 of 3 runs this week")
        let stop = Cancellation()
        stop.cancel()
        do {
            _ = try await app.preload(planId: "tempo-20", persona: "stone", lang: "en", cancellation: stop)
            XCTFail("a cancelled preload")
        } catch PacenoteError.Cancelled {
        }
    }
}

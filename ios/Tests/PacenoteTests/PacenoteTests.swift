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
let settings = SessionSettings(chattiness: .normal, autoPause: true, audioReportsFinish: false)
let noProfile = RunnerProfile(maxHrBpm: nil, restingHrBpm: nil, lthrBpm: nil)

final class PacenoteTests: XCTestCase {
    func testAPersonaSpeaksInItsOwnWordsFromAnyThread() throws {
        let listener = Collect()
        let session = try RunSession(planJson: tempo, persona: "jenna", profile: noProfile, settings: settings,
                                     weather: Weather(tempC: 31, dewPointC: 22),
                                     week: WeekSoFar(runsDone: 3, runsPlanned: 4, streakWeeks: 5), listener: listener)
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
        XCTAssertEqual(Array(kinds.prefix(2)), ["run_start", "heat_adjusted"])
        XCTAssertTrue(kinds.contains("streak_celebration"))
        XCTAssertTrue(listener.threads.allSatisfy { $0 == "feeder" })
        XCTAssertEqual(session.summary().effort, 6)
    }

    func testErrorsArriveAsThrownErrors() throws {
        XCTAssertThrowsError(try RunSession(planJson: "{", persona: "stone", profile: noProfile, settings: settings,
                                            weather: nil, week: nil, listener: Collect())) { error in
            guard case PacenoteError.InvalidPlan = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try RunSession(planJson: tempo, persona: "yoda", profile: noProfile, settings: settings,
                                            weather: nil, week: nil, listener: Collect())) { error in
            guard case PacenoteError.UnknownPersona = error else { return XCTFail("\(error)") }
        }
        let session = try RunSession(planJson: tempo, persona: "stone", profile: noProfile, settings: settings,
                                     weather: nil, week: nil, listener: Collect())
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
        let session = try RunSession(planJson: tempo, persona: "jakes", profile: noProfile, settings: settings,
                                     weather: nil, week: nil, listener: Collect())
        try session.start(tMs: 0)
        XCTAssertTrue(sink.lines.contains { $0.contains("run session created") })
    }
}

// The Kotlin API on the JVM, as an Android app uses it (minus Android): a whole recording fed
// through RunSession with a Kotlin listener says exactly what `pacenote replay --json` says;
// errors arrive as exceptions; readiness and the easy swap; close() frees; the store, resume,
// preload and syncNow against the reference server on loopback, through the Android module's
// HttpURLConnection transport; sensor glitches that must not wedge a recorded run; the app's
// recording path killed with kill -9 (a child JVM running KillChild.kt); the history's summary,
// trend and goals against `pacenote summary --store` on corpus runs.
// Run by `cargo xtask kotlin-test` (which prepares the data folder given as -Dpacenote.data and
// starts `pacenote serve`, given as -Dpacenote.server and -Dpacenote.token).

import dev.pacenote.*
import dev.pacenote.android.HttpUrlConnectionTransport
import dev.pacenote.android.RunEvent
import dev.pacenote.android.RunFlow
import dev.pacenote.android.Voice
import killchild.feedLine
import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.system.exitProcess
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.JUnitCore

class Collect : CueListener {
    val said = CopyOnWriteArrayList<Utterance>()
    val threads = CopyOnWriteArrayList<String>()

    override fun onUtterance(utterance: Utterance) {
        said.add(utterance)
        threads.add(Thread.currentThread().name)
    }
}

val data = File(System.getProperty("pacenote.data") ?: "target/kotlin/data")
val server: String = System.getProperty("pacenote.server") ?: "http://127.0.0.1:8787"
val token: String = System.getProperty("pacenote.token") ?: ""

/** Feeds one line of `pacenote track inputs`, after the ticks the engine asked for. */
fun feed(s: RunSession, line: String) {
    val t = line.split(",")[1].toULong()
    for (i in 0 until 16) {
        val wake = s.nextWakeupMs() ?: break
        if (wake >= t || wake <= s.nowMs()) break
        s.tick(wake)
    }
    feedLine(s, line)
}

/** The host's audio as the library sees it: a player, the focus and a synthesiser that record
 *  what they were asked to do (the phone's AudioTrack, AudioFocusRequest and TextToSpeech in
 *  the app). */
class HostAudio : AudioOutput, AudioFocus, SpeechFallback {
    val log = CopyOnWriteArrayList<String>()
    override fun play(pcm: Pcm) {
        log.add("play ${pcm.samplesLe.size / 2 * 1000 / pcm.sampleRateHz.toInt()}")
    }
    override fun stop() { log.add("stop") }
    override fun duck() { log.add("duck") }
    override fun release() { log.add("release") }
    override fun synthesize(text: String): Pcm {
        log.add("say $text")
        return Pcm(ByteArray(16000), 16000u) // half a second of silence
    }
}

/** Records the test run through the app in `dir`: its first half, with `alsoAfter` given each
 *  line's index after it is fed; then the app dies (the session and the handle are let go of)
 *  and relaunches, and the run, rebuilt where it stopped, is fed to its end. Returns the
 *  relaunched app and the finished run (the caller closes both). */
fun recordAcrossARelaunch(
    dir: File,
    planJson: String,
    persona: String,
    listener: Collect,
    alsoAfter: (RunSession, Int) -> Unit = { _, _ -> },
): Pair<Pacenote, RunSession> {
    val lines = File(data, "inputs.csv").readLines()
    val half = lines.size / 2
    var app = Pacenote.open(dir.path, server, token, HttpUrlConnectionTransport())
    // Compared with `pacenote replay`, which knows no week: no week news.
    val first = app.startRun(RunOptions(planJson, persona, celebrateWeek = false), Collect())
    lines.take(half).forEachIndexed { i, line ->
        feed(first, line)
        alsoAfter(first, i)
    }
    val reached = first.nowMs()
    first.close()
    app.close()

    app = Pacenote.open(dir.path, server, token, HttpUrlConnectionTransport())
    val run = app.resumeRun(listener)!!
    assertEquals(reached, run.resumedAt()!!.tMs)
    lines.drop(half).forEach { feed(run, it) }
    assertTrue(run.isFinished())
    return Pair(app, run)
}

class PacenoteTest {
    private val plan = File(data, "plan.json").readText()

    @Test
    fun aWholeRecordingSaysWhatReplaySays() {
        val listener = Collect()
        RunSession(RunOptions(plan, "neutral"), listener).use { s ->
            assertEquals(RunPhase.NOT_STARTED, s.state().phase)
            var screens = 0
            File(data, "inputs.csv").forEachLine { line ->
                feed(s, line)
                // The run screen, read as an app does after a tick: what the coach knows.
                if (line.startsWith("tick,") && s.state().phase == RunPhase.RUNNING) {
                    val state = s.state()
                    // No step once the plan is done and the runner runs on.
                    assertEquals(s.currentStepIndex(), state.step?.index)
                    assertEquals(s.summary().distanceM, state.distanceM, 1e-9)
                    state.step?.let { step -> assertTrue(step.description.isNotEmpty() && step.index < step.steps) }
                    assertTrue(state.gps is GpsStatus.Good || state.gps is GpsStatus.Lost ||
                        state.gps is GpsStatus.Returning)
                    state.step?.timeLeftS?.let { assertTrue(it >= 0.0) }
                    if (state.step != null) screens++
                }
            }
            assertTrue(screens > 1000)
            assertTrue(s.isFinished())
            assertTrue(s.summary().distanceM > 8000.0)
            assertEquals(null, s.state().step)
        }
        val got = listener.said.flatMap { u -> u.cues.map { "${u.atMs}\t${it.kind.name.lowercase()}\t${it.text}" } }
        val expected = File(data, "expected.tsv").readLines()
        assertEquals(expected.size, got.size)
        assertEquals(expected, got)
        // Callbacks arrive on the thread that fed the input.
        assertTrue(listener.threads.all { it == Thread.currentThread().name })
    }

    @Test
    fun theLibraryVoicesTheRunFromThePackAsReplayDoes() {
        val listener = Collect()
        val audio = HostAudio()
        RunSession(RunOptions(plan, "jenna", audioReportsFinish = true), listener).use { s ->
            s.attachAudio(File(data, "../../../audio/packs/en/jenna").canonicalPath, audio, audio, audio)
            File(data, "inputs.csv").forEachLine { feed(s, it) }
            // The last words play out on the library's own clock: tick when it asks, until it
            // asks no more (then the music has its focus back).
            for (i in 0 until 32) s.tick(s.nextWakeupMs() ?: break)
            assertTrue(s.isFinished())
        }
        val got = listener.said.flatMap { u -> u.cues.map { "${u.atMs}\t${it.kind.name.lowercase()}\t${it.text}" } }
        assertEquals(File(data, "expected-jenna.tsv").readLines(), got)
        val plays = audio.log.filter { it.startsWith("play") }
        assertEquals(listener.said.size, plays.size)
        // The plan's step note comes from its note clip in Jenna's pack, in her voice: the
        // phone's synthesiser is never asked. Focus brackets every burst.
        assertTrue(audio.log.none { it.startsWith("say ") })
        val focus = audio.log.filter { it == "duck" || it == "release" }
        assertEquals("duck", focus.first())
        assertEquals("release", focus.last())
        assertTrue(focus.zipWithNext().all { (a, b) -> a != b })
        assertThrows(PacenoteException.InvalidInput::class.java) {
            RunSession(RunOptions(plan, "neutral", audioReportsFinish = true), Collect()).attachAudio("/nowhere", audio, audio, audio)
        }
    }

    @Test
    fun aPersonaSpeaksInItsOwnWordsFromAnyThread() {
        val listener = Collect()
        val s = RunSession(RunOptions(plan, "jenna", weather = Weather(31.0, 22.0), week = WeekSoFar(3u, 4u, 5u)), listener)
        val worker = Thread({
            s.start(0u)
            s.finish(700_000u)
        }, "feeder")
        worker.start()
        worker.join()
        s.checkIn(710_000u, 6u.toUByte())
        val kinds = listener.said.flatMap { u -> u.cues.map { it.kind } }
        assertEquals(listOf(CueKind.RUN_START, CueKind.HEAT_ADJUSTED), kinds.take(2))
        assertTrue(kinds.contains(CueKind.STREAK_CELEBRATION))
        assertTrue(listener.threads.all { it == "feeder" })
        assertEquals(6u.toUByte(), s.summary().effort)
        assertTrue(s.logJson().any { it.contains("check_in") })
        s.close()
    }

    @Test
    fun errorsArriveAsExceptions() {
        assertThrows(PacenoteException.InvalidPlan::class.java) {
            RunSession(RunOptions("{", "stone"), Collect())
        }
        val unknown = assertThrows(PacenoteException.UnknownPersona::class.java) {
            RunSession(RunOptions(plan, "yoda"), Collect())
        }
        assertTrue(unknown.message!!.contains("stone"))
        RunSession(RunOptions(plan, "stone"), Collect()).use { s ->
            assertThrows(PacenoteException.InvalidInput::class.java) { s.checkIn(0u, 11u.toUByte()) }
            // A NaN heart rate is dropped by the engine's glitch filter: no exception, no crash.
            s.heartRate(1000u, Double.NaN)
        }
    }

    @Test
    fun readinessAndTheEasySwap() {
        val tired = readiness(MorningCheck(55.0, 48.0, 2u, null, null, null, 2u, false, false, 0u))
        assertEquals(Recommendation.EASY, tired.recommendation)
        val hurt = readiness(MorningCheck(null, null, null, null, null, null, 0u, false, false, 5u))
        assertEquals(Recommendation.SEE_PROFESSIONAL, hurt.recommendation)
        assertThrows(PacenoteException.InvalidInput::class.java) {
            readiness(MorningCheck(Double.NaN, 48.0, 1u, null, null, null, 0u, false, false, 0u))
        }
        val easy = easyVersion(plan, 190.0)
        assertTrue(easy.contains("\"easy\""))
        RunSession(RunOptions(easy, "jakes"), Collect()).close()
    }

    /** What `pacenote` prints for `args` (the CLI the test data was made with). */
    private fun cli(vararg args: String): String {
        val process = ProcessBuilder(listOf(System.getProperty("pacenote.cli") ?: "pacenote") + args)
            .redirectErrorStream(true).start()
        val out = process.inputStream.bufferedReader().readText()
        assertEquals(out, 0, process.waitFor())
        return out
    }

    @Test
    fun aLayoffAndTheHeatSayWhatTheCommandSays() {
        val planFile = File(data, "plan.json").path
        // Two weeks off and three targets missed: the same next session, factors, notes and
        // goal proposals as `pacenote adapt`.
        val back = adaptPlan(plan, 14u, 3u)
        val said = cli("adapt", "--plan", planFile, "--days-off", "14", "--missed-targets", "3")
        assertTrue(said, said.startsWith("14 days off: fitness factor %.3f (Daniels), volume %.0f %%"
            .format(java.util.Locale.ROOT, back.fitnessFactor, back.volumeFactor * 100)))
        assertTrue(said, said.trimEnd().endsWith(back.planJson.trimEnd()))
        for (note in back.notes) assertTrue(note, said.contains("  - $note\n"))
        assertEquals(3, back.goalProposals.size)
        assertEquals(GoalProposal.Timeline(4u), back.goalProposals[0])
        assertTrue(said.contains("\"weeks_later\":4") && said.contains("\"easier_by_pct\":5.0"))
        // A hot, humid forecast: paces eased by as much, and the same plan.
        val hot = heatAdjustment(adaptPlan(plan, 0u, 0u).planJson, 30.0, 22.0)
        val saidHot = cli("adapt", "--plan", planFile, "--days-off", "0", "--temp-c", "30", "--dew-point-c", "22")
        assertTrue(saidHot, saidHot.contains("heat: paces %.1f %% slower".format(java.util.Locale.ROOT, hot.slowdownPct)))
        assertTrue(saidHot, saidHot.trimEnd().endsWith(hot.planJson.trimEnd()))
        assertTrue(hot.slowdownPct > 0.0 && !hot.tooHot)
        assertThrows(PacenoteException.InvalidInput::class.java) { heatAdjustment(plan, 20.0, 25.0) }
    }

    @Test
    fun logLinesReachTheHostSink() {
        val lines = CopyOnWriteArrayList<String>()
        initLogging(LogLevel.DEBUG, object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                lines.add("$level $target $message")
            }
        })
        RunSession(RunOptions(plan, "jakes"), Collect()).use { it.start(0u) }
        assertTrue(lines.toString(), lines.any { it.startsWith("INFO") && it.contains("run session created") })
        assertTrue(lines.toString(), lines.any { it.startsWith("DEBUG") && it.contains("utterance") })
    }

    @Test
    fun aRecordedRunIsPreloadedResumedAndSynced() {
        val dir = Files.createTempDirectory("pacenote-app").toFile()
        val storedPlan = Pacenote.open(dir.path, server, token, HttpUrlConnectionTransport()).use { app ->
            assertTrue(!app.isReadyOffline("tempo-20", "jenna", "en").ready)
            val preload = runBlocking { app.preload("tempo-20", "jenna", "en") }
            assertTrue(preload.toString(), preload.filesDownloaded > 100uL)
            assertTrue(app.isReadyOffline("tempo-20", "jenna", "en").ready)
            assertTrue(runBlocking { app.preload("tempo-20", "jenna", "en") }.packUnchanged)
            app.cachedPlanJson("tempo-20")!!
        }
        // Half the run, the app dies and relaunches, the run is finished.
        val listener = Collect()
        val (app, run) = recordAcrossARelaunch(dir, storedPlan, "jenna", listener)
        run.checkIn(run.nowMs() + 5000u, 7u.toUByte())
        assertTrue(listener.said.isNotEmpty())

        app.setConnectivity(false)
        assertEquals(SyncOutcome.Offline, runBlocking { app.syncNow() }.outcome)
        app.setConnectivity(true)
        // Many callers at once share one pass: the run goes up once.
        val reports = runBlocking { (1..4).map { async(Dispatchers.IO) { app.syncNow() } }.awaitAll() }
        assertTrue(reports.toString(), reports.all { it.outcome == SyncOutcome.Done })
        assertEquals(1uL, reports.maxOf { it.runsUploaded })
        val stored = app.runs()
        assertEquals(1, stored.size)
        assertTrue(stored[0].uploaded && stored[0].finished)
        assertEquals(7u.toUByte(), stored[0].effort)
        assertEquals(null, app.nextSyncAtMs())
        // The week's tally and streak come from the store (the uploaded run's summary stays).
        val offsetMinutes = java.util.TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60_000
        assertEquals(WeekSoFar(1u, 4u, 1u), app.weekSoFar(4u, offsetMinutes))
        // startRun counts the week itself: the finish says "one of four this week".
        assertTrue(listener.said.none { u -> u.cues.any { it.kind == CueKind.STREAK_CELEBRATION } })
        val next = Collect()
        app.startRun(RunOptions(storedPlan, "neutral", runsPerWeek = 4u, utcOffsetMinutes = offsetMinutes), next).use { r ->
            r.start(0u)
            r.finish(60_000u)
            r.save()
        }
        val cheer = next.said.flatMap { it.cues }.single { it.kind == CueKind.STREAK_CELEBRATION }
        assertTrue(cheer.text, cheer.text.contains("1 of 4") || cheer.text.lowercase().contains("one of four"))
        assertEquals(null, app.resumeRun(Collect()))
        run.close()
        app.close()
        // A new phone: the runner's uploaded run comes back, as the old phone keeps it (other
        // tests' runs of the same user may come too); a second restore stores nothing.
        val newPhone = Files.createTempDirectory("pacenote-new-phone").toFile()
        Pacenote.open(newPhone.path, server, token, HttpUrlConnectionTransport()).use { phone ->
            val first = runBlocking { phone.restoreHistory() }
            assertTrue(first.toString(), first.restored >= 1uL && first.alreadyHere == 0uL)
            val back = phone.runs().single { it.id == stored[0].id }
            assertTrue(back.toString(), back.finished && back.uploaded && back.samples == 0uL)
            assertEquals(7u.toUByte(), back.effort)
            val again = runBlocking { phone.restoreHistory() }
            assertEquals(0uL, again.restored)
            assertTrue(again.toString(), again.alreadyHere >= first.restored)
            assertEquals(SyncOutcome.Done, runBlocking { phone.syncNow() }.outcome)
            assertEquals(0uL, runBlocking { phone.syncNow() }.runsUploaded)
        }
    }

    @Test
    fun sensorGlitchesNeverWedgeARecordedRun() {
        // NaN and infinite readings in the middle of a recorded run: each call returns (the
        // reading is dropped and logged), the journal stores only what loads back, and after a
        // relaunch the run resumes, finishes and goes up (issue 14: it stayed unfinished for
        // ever, pending = 0).
        val dir = Files.createTempDirectory("pacenote-glitch").toFile()
        val listener = Collect()
        val (app, run) = recordAcrossARelaunch(dir, plan, "neutral", listener) { first, i ->
            if (i % 200 == 100) {
                val t = first.nowMs()
                first.heartRate(t, Double.NaN)
                first.heartRate(t, Double.POSITIVE_INFINITY)
                first.cadence(t, Double.NaN)
                first.deviceSpeed(t, Double.NaN)
                first.altitude(t, Double.NEGATIVE_INFINITY)
                first.location(LocationFix(t, Double.NaN, 8.5, 5.0, null, null, null))
                first.location(LocationFix(t, 47.1, 8.5, Double.NaN, Double.NaN, null, Double.NaN))
            }
        }
        run.checkIn(run.nowMs() + 5000u, 5u.toUByte())
        // Typed: a step start is a step change (it read "stepchange" as a string).
        val starts = listener.said.flatMap { u -> u.cues }.filter { it.kind == CueKind.STEP_START }
        assertTrue(starts.isNotEmpty() && starts.all { it.priority == Priority.STEP_CHANGE })
        val report = runBlocking { app.syncNow() }
        assertTrue(report.toString(), report.outcome == SyncOutcome.Done && report.runsUploaded == 1uL)
        assertTrue(app.runs()[0].finished && app.runs()[0].uploaded)
        run.close()
        app.close()
    }

    @Test
    fun theAppsRecordingPathSurvivesKill9() {
        // A JVM process records the run through the Kotlin API (startRun, its writer thread),
        // its sensors paced at 20x real time from a random point of the run on (the run before
        // it fed at once), and is killed with SIGKILL at a random moment; then the app
        // relaunches: the store passes SQLite's integrity check, at most a second of the run
        // clock fed is lost, resumeRun continues at the step the uninterrupted run was in, and
        // the finished run says exactly what the uninterrupted run said, with its summary.
        // 20 trials; PACENOTE_KILL_TRIALS for more.
        val lines = File(data, "inputs.csv").readLines()
        val reference = Collect()
        // The step after each count of inputs (steps[n]: after the first n).
        val steps = ArrayList<UInt?>()
        val referenceSummary = RunSession(RunOptions(plan, "neutral"), reference).use { s ->
            steps.add(s.currentStepIndex())
            lines.forEach { feedLine(s, it); steps.add(s.currentStepIndex()) }
            s.summary()
        }
        val referenceCues = reference.said.flatMap { u -> u.cues.map { "${u.atMs}\t${it.kind.name.lowercase()}\t${it.text}" } }
        val javaBin = File(System.getProperty("java.home"), "bin/java").path
        val trials = System.getenv("PACENOTE_KILL_TRIALS")?.toInt() ?: 20
        val random = java.util.Random(14)
        var (resumed, before, maxLostMs) = Triple(0, 0, 0L)
        var maxLostInputs = 0
        for (trial in 1..trials) {
            val dir = Files.createTempDirectory("pacenote-kill").toFile()
            // One trial in five is killed early (maybe before the run exists); the others
            // once the run is some way in (anywhere up to 90 % of it).
            val early = trial % 5 == 1
            val fastUntil = if (early) 0 else random.nextInt(lines.size * 9 / 10)
            val child = ProcessBuilder(
                javaBin, "-Djna.library.path=${System.getProperty("jna.library.path")}",
                "-Dpacenote.data=${data.path}", "-cp", System.getProperty("java.class.path"),
                "killchild.KillChildKt", dir.path, "20", fastUntil.toString(),
            ).redirectError(ProcessBuilder.Redirect.DISCARD).start()
            val printed = CopyOnWriteArrayList<String>()
            val reader = Thread { child.inputStream.bufferedReader().forEachLine { printed.add(it) } }.apply { start() }
            if (early) {
                // While the JVM starts, the store opens, the run begins.
                Thread.sleep(100L + random.nextInt(900))
            } else {
                // Anywhere in the next minute of the run.
                val deadline = System.nanoTime() + 60_000_000_000L
                while ("paced" !in printed && System.nanoTime() < deadline) Thread.sleep(5)
                Thread.sleep(random.nextInt(3000).toLong())
            }
            // kill -9 itself: Process.destroyForcibly would also close the pipe, and what the
            // child printed last (what it fed) would be lost to the test.
            ProcessBuilder("kill", "-9", child.pid().toString()).start().waitFor()
            child.waitFor()
            reader.join()
            assertTrue("trial $trial: killed before the end", printed.none { it == "done" })

            Pacenote.open(dir.path, "http://127.0.0.1:9", null, HttpUrlConnectionTransport()).use { app ->
                assertEquals("ok", app.checkStore())
                val listener = Collect()
                val run = app.resumeRun(listener)
                if (run == null) {
                    assertTrue(app.runs().isEmpty())
                    before++
                    return@use
                }
                resumed++
                val point = run.resumedAt()!!
                val stored = point.inputsReplayed.toInt()
                val fed = printed.filter { it.startsWith("fed ") }.map { it.split(" ") }
                val lastFedMs = fed.lastOrNull()?.get(2)?.toLong() ?: 0L
                val lost = lastFedMs - point.tMs.toLong()
                maxLostMs = maxOf(maxLostMs, lost)
                assertTrue("trial $trial: lost $lost ms of run time", lost <= 1000)
                // (The input in flight at the kill may be stored before its line was printed.)
                assertTrue("trial $trial: stored $stored of ${fed.size} fed", stored <= fed.size + 1)
                maxLostInputs = maxOf(maxLostInputs, fed.size - stored)
                // The step the uninterrupted run was in after the same inputs.
                assertEquals("trial $trial", steps[stored], point.stepIndex)
                assertEquals(steps[stored], run.currentStepIndex())
                lines.drop(stored).forEach { feedLine(run, it) }
                assertTrue(run.isFinished())
                // What was said: before the kill by the inputs the store kept, then after.
                val saidBefore = printed.filter { it.startsWith("cue ") }.map { it.split(" ", limit = 5) }
                    .filter { it[1].toInt() in 0 until stored }
                    .map { "${it[2]}\t${it[3]}\t${it[4]}" }
                val saidAfter = listener.said.flatMap { u -> u.cues.map { "${u.atMs}\t${it.kind.name.lowercase()}\t${it.text}" } }
                assertEquals("trial $trial", referenceCues, saidBefore + saidAfter)
                val summary = run.summary()
                assertEquals(referenceSummary.distanceM, summary.distanceM, 1e-6)
                assertEquals(referenceSummary.movingTimeS, summary.movingTimeS, 1e-6)
                assertEquals(referenceSummary.stepsCompleted, summary.stepsCompleted)
                assertEquals(referenceSummary.cuesSpoken, summary.cuesSpoken)
                run.close()
                assertEquals("ok", app.checkStore())
            }
        }
        println(
            "kill -9: $trials trials, $resumed resumed, $before before the run existed, " +
                "max lost $maxLostMs ms of run time ($maxLostInputs inputs)"
        )
        assertTrue("most kills land in the run", resumed >= trials / 2)
    }

    @Test
    fun aRefusedTokenIsAReportNotACrash() {
        val dir = Files.createTempDirectory("pacenote-app").toFile()
        Pacenote.open(dir.path, server, "wrong-token", HttpUrlConnectionTransport()).use { app ->
            val run = app.startRun(RunOptions(File(data, "plan.json").readText()), Collect())
            run.start(0u)
            run.finish(60_000u)
            run.save()
            val report = runBlocking { app.syncNow() }
            // Typed: the app signs the runner in again; no English to match.
            assertTrue(report.toString(), report.outcome is SyncOutcome.Unauthorized)
            assertEquals(1uL, report.runsPending)
            assertTrue(app.nextSyncAtMs() != null)
            assertTrue(!app.runs()[0].uploaded)
            run.close()
        }
        // A server that is not there: a report that says so.
        Pacenote.open(dir.path, "http://127.0.0.1:9", token, HttpUrlConnectionTransport()).use { app ->
            val report = runBlocking { app.syncNow() }
            val outcome = report.outcome
            assertTrue(report.toString(), outcome is SyncOutcome.RetryAt)
            assertEquals(app.nextSyncAtMs(), (outcome as SyncOutcome.RetryAt).retryAtUnixMs)
            assertThrows(PacenoteException.Sync::class.java) { runBlocking { app.preload("tempo-20", "stone", "en") } }
        }
    }

    /** The goals of the history test, as `cargo xtask` wrote them to goals.json for the CLI. */
    private val historyGoals = listOf(
        Goal(tier = GoalTier.OUTCOME, what = "a half marathon", deadline = "2021-06-01",
            measure = GoalMeasure.Distance(21097.5)),
        Goal(tier = GoalTier.PERFORMANCE, what = "6:00/km for 5 km", measure = GoalMeasure.PaceOver(360.0, 5000.0)),
        Goal(tier = GoalTier.PROCESS, what = "three runs a week", measure = GoalMeasure.RunsPerWeek(3u)),
        Goal(tier = GoalTier.PROCESS, what = "run, no measure"),
    )

    /** A post-run summary as `pacenote summary --json` lays it out, flattened to path → value. */
    private fun flat(s: PostRunSummary): Map<String, String> {
        val m = LinkedHashMap<String, String>()
        fun put(k: String, v: Any?) { m[k] = v?.toString() ?: "null" }
        val r = s.run
        put("distance_m", r.distanceM); put("moving_time_s", r.movingTimeS)
        put("avg_pace_s_per_km", r.avgPaceSPerKm); put("avg_hr_bpm", r.avgHrBpm)
        r.splits.forEachIndexed { i, x ->
            put("splits.$i.km", x.km); put("splits.$i.time_s", x.timeS); put("splits.$i.avg_hr_bpm", x.avgHrBpm)
        }
        put("efficiency_factor", r.efficiencyFactor); put("decoupling_pct", r.decouplingPct)
        put("steady", r.steady); put("reference_hr_bpm", r.referenceHrBpm)
        put("pace_at_reference_hr_s_per_km", r.paceAtReferenceHrSPerKm)
        when (val f = r.speedHrFit) {
            null -> put("speed_hr_fit", null)
            else -> {
                put("speed_hr_fit.pairs", f.pairs); put("speed_hr_fit.mean_speed_mps", f.meanSpeedMps)
                put("speed_hr_fit.mean_hr_bpm", f.meanHrBpm); put("speed_hr_fit.s_hh", f.sHh)
                put("speed_hr_fit.s_hv", f.sHv); put("speed_hr_fit.min_hr_bpm", f.minHrBpm)
                put("speed_hr_fit.max_hr_bpm", f.maxHrBpm)
            }
        }
        r.bestEfforts.forEachIndexed { i, e -> put("best_efforts.$i.distance_m", e.distanceM); put("best_efforts.$i.time_s", e.timeS) }
        put("date", s.date)
        put("trend.runs_before", s.trend.runsBefore)
        put("trend.pace_at_reference_hr_change_s_per_km_per_30_days", s.trend.paceAtReferenceHrChangeSPerKmPer30Days)
        put("trend.efficiency_vs_history_pct", s.trend.efficiencyVsHistoryPct)
        s.trend.milestones.forEachIndexed { i, x -> put("trend.milestones.$i", x) }
        put("process.this_week.week_start", s.week.weekStart); put("process.this_week.planned", s.week.runsPlanned)
        put("process.this_week.done", s.week.runsDone); put("process.streak_weeks", s.week.streakWeeks)
        put("process.week_complete", s.week.weekComplete)
        s.goals.forEachIndexed { i, g ->
            val p = "goals.$i"
            put("$p.goal.tier", g.goal.tier.name.lowercase()); put("$p.goal.what", g.goal.what)
            put("$p.goal.target", g.goal.target); put("$p.goal.deadline", g.goal.deadline)
            when (val x = g.goal.measure) {
                null -> {}
                is GoalMeasure.Distance -> { put("$p.goal.measure.kind", "distance"); put("$p.goal.measure.distance_m", x.distanceM) }
                is GoalMeasure.PaceOver -> {
                    put("$p.goal.measure.kind", "pace_over"); put("$p.goal.measure.pace_s_per_km", x.paceSPerKm)
                    put("$p.goal.measure.distance_m", x.distanceM)
                }
                is GoalMeasure.RunsPerWeek -> { put("$p.goal.measure.kind", "runs_per_week"); put("$p.goal.measure.runs", x.runs) }
                is GoalMeasure.WeeksInARow -> { put("$p.goal.measure.kind", "weeks_in_a_row"); put("$p.goal.measure.weeks", x.weeks) }
            }
            put("$p.current", g.current); put("$p.target", g.target); put("$p.share", g.share)
            put("$p.reached", g.reached); put("$p.days_left", g.daysLeft); put("$p.words", g.words)
        }
        return m
    }

    @Test
    fun theHistorySaysWhatSummarySays() {
        // Five corpus runs recorded through the app on their own dates, as `pacenote record
        // --dated-by-track` recorded them for the CLI: the latest run's summary, its trend
        // against the four before, the week and the goals are the CLI's, figure for figure.
        val dir = Files.createTempDirectory("pacenote-history").toFile()
        val historyPlan = File(data, "history-plan.json").readText()
        val starts = File(data, "history.tsv").readLines().map { it.split("\t")[1].toULong() }
        Pacenote.open(dir.path, server, token, HttpUrlConnectionTransport()).use { app ->
            assertThrows(PacenoteException.InvalidInput::class.java) { app.runSummary(SummaryOptions()) }
            starts.forEachIndexed { i, start ->
                app.startRun(RunOptions(historyPlan, celebrateWeek = false, startedAtUnixMs = start), Collect()).use { run ->
                    File(data, "history-$i.csv").forEachLine { feed(run, it) }
                    assertTrue(run.isFinished())
                    run.save()                  // no check-in, as `pacenote record` without --effort
                }
            }
            val summary = app.runSummary(SummaryOptions(referenceHrBpm = 150.0, runsPerWeek = 3u, goals = historyGoals))
            val expected = File(data, "summary.tsv").readLines().associate { it.substringBefore("\t") to it.substringAfter("\t") }
            val got = flat(summary)
            assertEquals(expected.keys, got.keys)
            for ((key, want) in expected) {
                val have = got.getValue(key)
                val (a, b) = Pair(want.toDoubleOrNull(), have.toDoubleOrNull())
                if (a != null && b != null) assertEquals(key, a, b, 1e-9 * maxOf(1.0, Math.abs(a)))
                else assertEquals(key, want, have)
            }
            assertEquals(4u, summary.trend.runsBefore)
            assertEquals(GoalTier.PROCESS, summary.goals[0].goal.tier)
            // The fitness chart: every run with enough steady running at 150 bpm, and the same
            // change per month as the latest run's trend (it is the newest point).
            val trend = app.paceTrend(150.0, 0)
            assertTrue(trend.points.size >= 3)
            assertEquals(summary.trend.paceAtReferenceHrChangeSPerKmPer30Days!!, trend.changeSPerKmPer30Days!!, 1e-9)
            // Today (years later): the half-marathon deadline has passed, no run this week.
            val today = app.goalProgress(historyGoals, 3u, 0)
            assertEquals(listOf(GoalTier.PROCESS, GoalTier.PROCESS, GoalTier.PERFORMANCE, GoalTier.OUTCOME), today.map { it.goal.tier })
            assertEquals(0.0, today[0].current!!, 0.0)
            assertTrue(today[3].daysLeft!! < 0)
            assertEquals(summary.goals[2].current!!, today[2].current!!, 1e-9)
            assertThrows(PacenoteException.InvalidInput::class.java) {
                app.goalProgress(listOf(Goal(tier = GoalTier.OUTCOME, what = "x", deadline = "soon")), 0u, 0)
            }
        }
    }

    @Test
    fun aRunAsFlowsTicksItselfAndHearsItsVoice() {
        // The app feeds sensors only (no tick line): the flow's own ticker keeps the coach on
        // time, the voice given at creation is handed each utterance and reports its end, and
        // the events end with the finish.
        val now = AtomicLong(0)
        val spoken = CopyOnWriteArrayList<Long>()
        val voice = Voice { u, done -> spoken.add(u.id.toLong()); done() }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        RunFlow.of(RunOptions(plan, "stone"), { now.get().toULong() }, voice).use { flow ->
            val said = CopyOnWriteArrayList<RunEvent>()
            val collecting = scope.launch { flow.events.takeWhile { e -> said.add(e); e !is RunEvent.Finished }.collect {} }
            Thread.sleep(50) // the collector subscribes before anything is said
            val ticker = flow.launchIn(scope, everyMs = 1)
            File(data, "inputs.csv").forEachLine { line ->
                if (line.startsWith("tick,")) return@forEachLine
                now.set(line.split(",")[1].toLong())
                feedLine(flow.session, line)
            }
            runBlocking { withTimeout(10_000) { collecting.join(); ticker.join() } }
            val saidIds = said.filterIsInstance<RunEvent.Said>().map { it.utterance.id.toLong() }
            assertTrue(saidIds.size > 10)
            assertEquals(saidIds, spoken)
            assertTrue(said.last() is RunEvent.Finished)
            assertEquals(RunPhase.FINISHED, flow.state.value!!.phase)
            assertTrue("the ticker stops by itself once the run is over", ticker.isCompleted)
        }
        // Nothing fed but the start: the ticker alone brings the countdown and the next step
        // when the warm-up's 15 minutes are up (time passes; the GPS says nothing).
        now.set(0)
        RunFlow.of(RunOptions(plan, "stone", autoPause = false), { now.get().toULong() }).use { flow ->
            val heard = CopyOnWriteArrayList<CueKind>()
            val listening = scope.launch { flow.events.collect { e -> if (e is RunEvent.Said) heard.addAll(e.utterance.cues.map { it.kind }) } }
            Thread.sleep(50)
            flow.session.start(0u)
            flow.launchIn(scope, everyMs = 5)
            for (t in 880_000L..902_000L step 1_000L) { now.set(t); Thread.sleep(20) }
            Thread.sleep(200)
            assertTrue(heard.toString(), CueKind.COUNTDOWN in heard && CueKind.STEP_START in heard)
            listening.cancel()
        }
        scope.cancel()
    }

    @Test
    fun aCancelledSyncSendsNothingMore() {
        // A slow network; the coroutine is cancelled a third of a second into the pass: the
        // pass in Rust stops sending (the future is dropped), and the next one finishes it.
        val requests = AtomicInteger(0)
        val slow = object : HttpTransport {
            val inner = HttpUrlConnectionTransport()
            override fun send(request: HttpRequest): HttpResponse {
                requests.incrementAndGet(); Thread.sleep(100); return inner.send(request)
            }
        }
        val dir = Files.createTempDirectory("pacenote-cancel").toFile()
        Pacenote.open(dir.path, server, token, slow).use { app ->
            repeat(3) {
                app.startRun(RunOptions(plan), Collect()).use { run ->
                    run.start(0u)
                    for (s in 1..600) run.location(LocationFix(s.toULong() * 1000uL, 0.0, s * 3.0 / 111_320.0, 5.0, 3.0, null, null))
                    run.finish(600_001u)
                    run.save()
                }
            }
            runBlocking {
                val pass = launch(Dispatchers.Default) { app.syncNow() }
                Thread.sleep(350)
                pass.cancel()
                val atCancel = requests.get()
                Thread.sleep(1000)
                assertTrue("${requests.get()} requests a second after $atCancel", requests.get() <= atCancel + 1)
            }
            assertTrue(app.runs().any { !it.uploaded })
            assertEquals(null, app.nextSyncAtMs())
            assertEquals(SyncOutcome.Done, runBlocking { app.syncNow() }.outcome)
            // Swift's way, the same in Kotlin: a Cancellation cancelled beforehand.
            val stop = Cancellation()
            stop.cancel()
            assertThrows(PacenoteException.Cancelled::class.java) { runBlocking { app.preload("tempo-20", "stone", "en", stop) } }
        }
    }

    @Test
    fun closeFreesTheSession() {
        val s = RunSession(RunOptions(plan, "stone"), Collect())
        s.close()
        assertThrows(IllegalStateException::class.java) { s.tick(0u) }
    }
}

fun main() {
    val result = JUnitCore.runClasses(PacenoteTest::class.java)
    for (failure in result.failures) {
        println("FAILED ${failure.testHeader}")
        println(failure.trace)
    }
    println("${result.runCount - result.failureCount} passed, ${result.failureCount} failed")
    if (!result.wasSuccessful()) exitProcess(1)
}

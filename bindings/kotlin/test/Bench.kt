// Figures of the library as an Android app uses it, on the JVM against the release build:
// cold start (open the store, load the cached plan, check the pack is ready), the cost of one
// location() call from Kotlin, the memory a 4-hour recorded run takes, the library's size.
// Run by `cargo xtask kotlin-bench`, which builds the release library, starts `pacenote serve`
// on loopback (for the preload the cold start reads back) and passes -Dpacenote.server,
// -Dpacenote.token and -Dpacenote.library (the stripped library, for its size).
// A benchmark: it prints figures against their goals and never fails on time.

package bench

import dev.pacenote.*
import dev.pacenote.android.HttpUrlConnectionTransport
import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.runBlocking

private val server: String = System.getProperty("pacenote.server") ?: "http://127.0.0.1:8787"
private val token: String = System.getProperty("pacenote.token") ?: ""

/** Goals (issue 14): cold start under 30 ms, a 4-hour run under 40 MB, the library under 3.5 MB. */
private const val COLD_START_GOAL_MS = 30.0
private const val RUN_RSS_GOAL_MB = 40.0
private const val LIBRARY_GOAL_MB = 3.5

private const val PLAN_ID = "tempo-20"
private const val PERSONA = "jenna"
/** Four hours of 1-Hz fixes with heart rate. */
private const val RUN_SECONDS = 4 * 3600

private class Quiet : CueListener {
    var said = 0
    override fun onUtterance(utterance: Utterance) { said++ }
}

/** The process's resident memory (VmRSS), MB. */
private fun rssMb(): Double =
    File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }
        .split(Regex("\\s+"))[1].toDouble() / 1024.0

/** A fix `s` seconds into a run along a 400-m loop at 3 m/s (the engine sees a real path). */
private fun fixAt(s: Int): LocationFix {
    val angle = 2 * Math.PI * (s * 3.0 % 400.0) / 400.0
    val radiusM = 400.0 / (2 * Math.PI)
    return LocationFix(
        s.toULong() * 1000uL,
        52.0 + radiusM * Math.sin(angle) / 111_320.0,
        13.0 + radiusM * (1 - Math.cos(angle)) / (111_320.0 * Math.cos(Math.toRadians(52.0))),
        5.0, 3.0, 0.3, null,
    )
}

private fun median(values: List<Double>): Double = values.sorted()[values.size / 2]

/** One location() call's cost on `run`: 10,000 calls after a warm-up of 2,000, best of 5. */
private fun timeLocation(run: RunSession, what: String) {
    run.start(0uL)
    for (s in 1..2_000) run.location(fixAt(s))
    val perCallUs = (0 until 5).map { round ->
        val from = 2_001 + round * 10_000
        val t0 = System.nanoTime()
        for (s in from until from + 10_000) run.location(fixAt(s))
        (System.nanoTime() - t0) / 1e3 / 10_000
    }
    println("location() from Kotlin %s: %.1f µs per call (best of 5 × 10,000; median %.1f)"
        .format(what, perCallUs.minOrNull(), median(perCallUs)))
}

fun main() {
    val dir = Files.createTempDirectory("pacenote-bench").toFile()
    val transport = HttpUrlConnectionTransport()

    // The first open in a process loads the native library (JNA) too: said apart.
    var started = System.nanoTime()
    Pacenote.open(dir.path, server, token, transport).use { app ->
        val firstOpenMs = (System.nanoTime() - started) / 1e6
        runBlocking { app.preload(PLAN_ID, PERSONA, "en") }
        println("first open in a fresh process (loads the library): %.1f ms".format(firstOpenMs))
    }

    // Cold start as an app's launch does it, the library loaded: open, cached plan, ready check.
    val starts = (1..20).map {
        started = System.nanoTime()
        Pacenote.open(dir.path, server, token, transport).use { app ->
            val plan = app.cachedPlanJson(PLAN_ID) ?: error("the plan was preloaded")
            val ready = app.isReadyOffline(PLAN_ID, PERSONA, "en")
            check(ready.ready && plan.isNotEmpty()) { "not ready: ${ready.missing}" }
            (System.nanoTime() - started) / 1e6
        }
    }
    val coldMs = median(starts)
    println(
        "cold start (open the store, load the cached plan, check the pack is ready): median %.1f ms of 20, best %.1f; goal < %.0f ms: %s"
            .format(coldMs, starts.minOrNull(), COLD_START_GOAL_MS, if (coldMs < COLD_START_GOAL_MS) "met" else "NOT met")
    )

    Pacenote.open(dir.path, server, token, transport).use { app ->
        val plan = app.cachedPlanJson(PLAN_ID) ?: error("the plan was preloaded")
        val options = RunOptions(plan, PERSONA, profile = RunnerProfile(190.0, 50.0, null))

        // One location() call on a recorded run, and on a session that records nothing (the
        // rest is the call across JNA).
        val listener = Quiet()
        app.startRun(options, listener).use { run ->
            timeLocation(run, "on a recorded run")
            run.finish(60_000_000uL)
            run.save()
        }

        RunSession(options, listener).use { run -> timeLocation(run, "on a session that records nothing") }

        // A 4-hour run fed through the bindings, recorded into the store as it goes.
        System.gc()
        val before = rssMb()
        var peak = before
        val heard = Quiet()
        app.startRun(options, heard).use { run ->
            run.start(0uL)
            for (s in 1..RUN_SECONDS) {
                run.location(fixAt(s))
                run.heartRate(s.toULong() * 1000uL, 140.0 + 10 * Math.sin(s / 300.0))
                run.tick(s.toULong() * 1000uL)
                if (s % 600 == 0) peak = maxOf(peak, rssMb())
            }
            run.finish(RUN_SECONDS.toULong() * 1000uL + 1000uL)
            run.checkIn(RUN_SECONDS.toULong() * 1000uL + 5000uL, 6u.toUByte())
        }
        check(app.checkStore() == "ok")
        peak = maxOf(peak, rssMb())
        val grewMb = peak - before
        println(
            "a 4-hour recorded run (14,400 fixes, heart rate, ticks; ${heard.said} utterances): process RSS %.1f MB before, peak %.1f MB, grew %.1f MB; goal < %.0f MB for the run: %s"
                .format(before, peak, grewMb, RUN_RSS_GOAL_MB, if (grewMb < RUN_RSS_GOAL_MB) "met" else "NOT met")
        )
    }

    System.getProperty("pacenote.library")?.let { path ->
        val mb = File(path).length() / 1024.0 / 1024.0
        println("library (host, release, stripped): %.2f MB; goal < %.1f MB: %s"
            .format(mb, LIBRARY_GOAL_MB, if (mb < LIBRARY_GOAL_MB) "met" else "NOT met"))
    }
    dir.deleteRecursively()
}

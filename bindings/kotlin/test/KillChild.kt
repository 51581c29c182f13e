// The app's recording path as a process of its own, for the kill -9 test in PacenoteTest: opens
// the store in args[0], resumes the run there or starts one, and feeds the test recording's
// inputs from where the store left off: up to input args[2] as fast as it can (the run so far;
// then it waits until the store has it all and prints "paced"), then paced at args[1] times
// real time, as a phone's sensors come. Prints, flushed, one line per input ("fed INDEX T_MS")
// and per cue ("cue INDEX AT_MS KIND TEXT", INDEX being the input that made it), so the test
// knows what was fed and said before the kill.
// Run by PacenoteTest (java -cp <the test classpath> killchild.KillChildKt DIR SPEED FAST_UNTIL).

package killchild

import dev.pacenote.*
import dev.pacenote.android.HttpUrlConnectionTransport
import java.io.File

/** Feeds one line of `pacenote track inputs`, as it is: one input per line, no extra ticks
 *  (so that the n-th input stored is the n-th line). */
fun feedLine(s: RunSession, line: String) {
    val f = line.split(",")
    val t = f[1].toULong()
    when (f[0]) {
        "start" -> s.start(t)
        "fix" -> s.location(
            LocationFix(
                t, f[2].toDouble(), f[3].toDouble(), f[4].toDouble(), f[5].toDoubleOrNull(), f[6].toDoubleOrNull(),
                f.getOrNull(7)?.toDoubleOrNull()
            )
        )
        "hr" -> s.heartRate(t, f[2].toDouble())
        "cadence" -> s.cadence(t, f[2].toDouble())
        "device_speed" -> s.deviceSpeed(t, f[2].toDouble())
        "altitude" -> s.altitude(t, f[2].toDouble())
        "tick" -> s.tick(t)
        "pause" -> s.pause(t)
        "resume" -> s.resume(t)
        "lap" -> s.lap(t)
        "skip_step" -> s.skipStep(t)
        "finish" -> s.finish(t)
        else -> throw IllegalArgumentException("unknown input line: $line")
    }
}

/** The index of the input being fed, for the cue lines. */
@Volatile var feeding = -1

fun main(args: Array<String>) {
    val data = File(System.getProperty("pacenote.data") ?: "target/kotlin/data")
    val lines = File(data, "inputs.csv").readLines()
    val plan = File(data, "plan.json").readText()
    val speed = args[1].toDouble()
    val out = System.out
    val listener = object : CueListener {
        override fun onUtterance(utterance: Utterance) {
            for (c in utterance.cues) out.println("cue $feeding ${utterance.atMs} ${c.kind.name.lowercase()} ${c.text}")
            out.flush()
        }
    }
    val app = Pacenote.open(args[0], "http://127.0.0.1:9", null, HttpUrlConnectionTransport())
    val run = app.resumeRun(listener)
        ?: app.startRun(RunOptions(plan, "neutral", celebrateWeek = false), listener)
    val from = run.resumedAt()?.inputsReplayed?.toInt() ?: 0
    val fastUntil = maxOf(from, args[2].toInt())
    out.println("from $from")
    out.flush()
    for (i in from until fastUntil) {
        feeding = i
        feedLine(run, lines[i])
        out.println("fed $i ${lines[i].split(",")[1]}")
    }
    app.runs() // waits for the writer: the run so far is stored
    out.println("paced")
    out.flush()
    val wallStart = System.nanoTime()
    val runStart = lines.getOrNull(fastUntil)?.split(",")?.get(1)?.toLong() ?: 0L
    for (i in fastUntil until lines.size) {
        val t = lines[i].split(",")[1].toLong()
        // Paced: the phone's sensors come in real time (here `speed` times faster).
        val dueNs = ((t - runStart) / speed * 1e6).toLong()
        val waitNs = dueNs - (System.nanoTime() - wallStart)
        if (waitNs > 0) Thread.sleep(waitNs / 1_000_000, (waitNs % 1_000_000).toInt())
        feeding = i
        feedLine(run, lines[i])
        out.println("fed $i $t")
        out.flush()
    }
    run.close()
    app.close()
    out.println("done")
    out.flush()
}

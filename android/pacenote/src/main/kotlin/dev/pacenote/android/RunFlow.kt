// A run as Kotlin flows, with the ticker built in: the app starts it, feeds sensors, collects
// `state` for the run screen and `events` for what was said, and never calls tick() itself.
// The voice is given at creation: it is handed each utterance with a `done` to call when it has
// been spoken, and the flow reports the end to the session (no session wiring after the fact).
// Pure Kotlin and kotlinx.coroutines: compiled and tested on the JVM by `cargo xtask kotlin-test`.
package dev.pacenote.android

import dev.pacenote.CueListener
import dev.pacenote.Pacenote
import dev.pacenote.RunOptions
import dev.pacenote.RunSession
import dev.pacenote.RunState
import dev.pacenote.RunSummary
import dev.pacenote.Utterance
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch

/** Speaks an utterance (the pack's clips, or the platform's speech) and calls [done] once it
 *  has been heard, from any thread. */
fun interface Voice {
    fun speak(utterance: Utterance, done: () -> Unit)
}

/** What happened in a run, in order. */
sealed interface RunEvent {
    /** The coach spoke. */
    data class Said(val utterance: Utterance) : RunEvent
    /** The run is over (the finish was said); the summary as the run ends. */
    data class Finished(val summary: RunSummary) : RunEvent
}

class RunFlow private constructor(private val clock: () -> ULong, private val voice: Voice?) : AutoCloseable {
    /** The session, for the sensors: `session.location(...)`, `session.heartRate(...)`. */
    lateinit var session: RunSession
        private set
    private val stateFlow = MutableStateFlow<RunState?>(null)
    private val eventFlow = MutableSharedFlow<RunEvent>(replay = 0, extraBufferCapacity = EVENT_BUFFER)
    @Volatile private var ticker: Job? = null
    private val finishedSent = java.util.concurrent.atomic.AtomicBoolean(false)

    /** The run screen: a fresh snapshot after every tick and every utterance (null until the
     *  ticker first runs). */
    val state: StateFlow<RunState?> = stateFlow.asStateFlow()
    /** What was said, and the finish. A slow collector misses nothing up to [EVENT_BUFFER]. */
    val events: SharedFlow<RunEvent> = eventFlow.asSharedFlow()

    private val listener = object : CueListener {
        override fun onUtterance(utterance: Utterance) {
            eventFlow.tryEmit(RunEvent.Said(utterance))
            voice?.speak(utterance) { runCatching { session.cueFinished(utterance.id, clock()) } }
            publish()
        }
    }

    private fun publish() {
        if (!::session.isInitialized) return
        stateFlow.value = session.state()
        if (session.isFinished() && finishedSent.compareAndSet(false, true)) {
            eventFlow.tryEmit(RunEvent.Finished(session.summary()))
        }
    }

    /** Starts the ticker in [scope]: a tick every [everyMs] of [clock] time, sooner when the
     *  coach asks (`nextWakeupMs`, a countdown on the second); it stops when the run is over or
     *  the scope is cancelled. Returns its job. */
    fun launchIn(scope: CoroutineScope, everyMs: Long = TICK_MS): Job {
        ticker?.cancel()
        val job = scope.launch {
            while (isActive && !session.isFinished()) {
                val now = clock()
                session.tick(now)
                publish()
                val wake = session.nextWakeupMs()
                val untilWake = if (wake != null && wake > now) (wake - now).toLong() else everyMs
                delay(minOf(everyMs, untilWake).coerceAtLeast(1))
            }
            publish()
        }
        ticker = job
        return job
    }

    /** Stops the ticker and frees the session. */
    override fun close() {
        ticker?.cancel()
        if (::session.isInitialized) session.close()
    }

    companion object {
        /** The ticker's pace when the coach asks for nothing sooner (the engine wants about one a
         *  second). */
        const val TICK_MS = 1000L
        const val EVENT_BUFFER = 256

        private fun RunOptions.voiced(voice: Voice?) = if (voice != null) copy(audioReportsFinish = true) else this

        /** A run recorded into the app's store (see `Pacenote.startRun`). */
        fun start(app: Pacenote, options: RunOptions, clock: () -> ULong, voice: Voice? = null): RunFlow =
            RunFlow(clock, voice).also { it.session = app.startRun(options.voiced(voice), it.listener) }

        /** The run a killed app left unfinished, or null. */
        fun resume(app: Pacenote, clock: () -> ULong, voice: Voice? = null): RunFlow? {
            val flow = RunFlow(clock, voice)
            val run = app.resumeRun(flow.listener) ?: return null
            flow.session = run
            return flow
        }

        /** A run with no store (a session alone). */
        fun of(options: RunOptions, clock: () -> ULong, voice: Voice? = null): RunFlow =
            RunFlow(clock, voice).also { it.session = RunSession(options.voiced(voice), it.listener) }
    }
}

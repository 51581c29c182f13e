// Thin Android glue over the generated API: a CueListener that asks for transient audio focus
// with ducking (AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK: music drops in volume, never stops) around
// each utterance, speaks it with TextToSpeech (the fallback voice; recorded packs are played by
// the app's own player), and reports the end to the session so cues never overlap.
// Needs the Android SDK: not compiled on the project's CI machines.
package dev.pacenote.android

import android.content.Context
import android.media.AudioAttributes
import android.media.AudioFocusRequest
import android.media.AudioManager
import android.speech.tts.TextToSpeech
import android.speech.tts.UtteranceProgressListener
import dev.pacenote.CueListener
import dev.pacenote.RunSession
import dev.pacenote.Utterance
import java.util.concurrent.ConcurrentHashMap

class CoachVoice(context: Context, private val clock: () -> ULong) : CueListener {
    /** Set after creating the RunSession with this voice as its listener. */
    @Volatile var session: RunSession? = null

    private val audio = context.getSystemService(Context.AUDIO_SERVICE) as AudioManager
    private val attributes = AudioAttributes.Builder()
        .setUsage(AudioAttributes.USAGE_ASSISTANCE_NAVIGATION_GUIDANCE)
        .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
        .build()
    private val focus = AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK)
        .setAudioAttributes(attributes)
        .build()
    private val speaking = ConcurrentHashMap<String, ULong>()
    private val tts: TextToSpeech = TextToSpeech(context) { }

    init {
        tts.setAudioAttributes(attributes)
        tts.setOnUtteranceProgressListener(object : UtteranceProgressListener() {
            override fun onStart(utteranceId: String) {}
            override fun onDone(utteranceId: String) = finished(utteranceId)
            @Deprecated("required by the base class on older APIs")
            override fun onError(utteranceId: String) = finished(utteranceId)
            override fun onStop(utteranceId: String, interrupted: Boolean) = finished(utteranceId)
        })
    }

    /** Called on the thread that fed the session. */
    override fun onUtterance(utterance: Utterance) {
        val mode = if (utterance.interrupts != null) TextToSpeech.QUEUE_FLUSH else TextToSpeech.QUEUE_ADD
        audio.requestAudioFocus(focus)
        val id = utterance.id.toString()
        speaking[id] = utterance.id
        tts.speak(utterance.text, mode, null, id)
    }

    private fun finished(utteranceId: String) {
        val id = speaking.remove(utteranceId) ?: return
        if (speaking.isEmpty()) audio.abandonAudioFocusRequest(focus)
        runCatching { session?.cueFinished(id, clock()) }
    }

    fun shutdown() {
        tts.shutdown()
        audio.abandonAudioFocusRequest(focus)
    }
}

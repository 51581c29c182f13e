// Thin Android glue over the generated API: a Voice (RunFlow.kt) that asks for transient audio
// focus with ducking (AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK: music drops in volume, never stops)
// around each utterance, speaks it with TextToSpeech (the fallback voice; recorded packs are
// played by PackVoice), and calls `done` when it has been heard, which RunFlow reports to the
// session so cues never overlap: the voice needs no session of its own.
// Needs the Android SDK: not compiled on the project's CI machines.
package dev.pacenote.android

import android.content.Context
import android.media.AudioAttributes
import android.media.AudioFocusRequest
import android.media.AudioManager
import android.speech.tts.TextToSpeech
import android.speech.tts.UtteranceProgressListener
import dev.pacenote.Utterance
import java.util.concurrent.ConcurrentHashMap

class CoachVoice(context: Context) : Voice {
    private val audio = context.getSystemService(Context.AUDIO_SERVICE) as AudioManager
    private val attributes = AudioAttributes.Builder()
        .setUsage(AudioAttributes.USAGE_ASSISTANCE_NAVIGATION_GUIDANCE)
        .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
        .build()
    private val focus = AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK)
        .setAudioAttributes(attributes)
        .build()
    private val speaking = ConcurrentHashMap<String, () -> Unit>()
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
    override fun speak(utterance: Utterance, done: () -> Unit) {
        val mode = if (utterance.interrupts != null) TextToSpeech.QUEUE_FLUSH else TextToSpeech.QUEUE_ADD
        audio.requestAudioFocus(focus)
        val id = utterance.id.toString()
        speaking[id] = done
        tts.speak(utterance.text, mode, null, id)
    }

    private fun finished(utteranceId: String) {
        val done = speaking.remove(utteranceId) ?: return
        if (speaking.isEmpty()) audio.abandonAudioFocusRequest(focus)
        done()
    }

    fun shutdown() {
        tts.shutdown()
        audio.abandonAudioFocusRequest(focus)
    }
}

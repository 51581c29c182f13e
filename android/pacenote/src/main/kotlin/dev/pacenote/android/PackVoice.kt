// The host side of the library's own voice (RunSession.attachAudio): PCM through an AudioTrack,
// transient audio focus with ducking (AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK: the music drops in
// volume, never stops) while the coach speaks, and TextToSpeech synthesising to PCM the text no
// clip holds (a plan's step notes, done when audio is attached). The library decides what to
// play and when, and knows when it ends: no cueFinished calls. Needs the Android SDK: not
// compiled on the project's CI machines (HostAudio in the JVM tests plays its part there).
//
//   val voice = PackVoice(context)
//   run.attachAudio(app.packDir("jenna", "en")!!, voice, voice, voice)   // off the main thread
package dev.pacenote.android

import android.content.Context
import android.media.AudioAttributes
import android.media.AudioFocusRequest
import android.media.AudioFormat
import android.media.AudioManager
import android.media.AudioTrack
import android.speech.tts.TextToSpeech
import android.speech.tts.UtteranceProgressListener
import dev.pacenote.AudioFailure
import dev.pacenote.AudioFocus
import dev.pacenote.AudioOutput
import dev.pacenote.Pcm
import dev.pacenote.SpeechFallback
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

class PackVoice(private val context: Context) : AudioOutput, AudioFocus, SpeechFallback {
    private val audio = context.getSystemService(Context.AUDIO_SERVICE) as AudioManager
    private val attributes = AudioAttributes.Builder()
        .setUsage(AudioAttributes.USAGE_ASSISTANCE_NAVIGATION_GUIDANCE)
        .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
        .build()
    private val focus = AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN_TRANSIENT_MAY_DUCK)
        .setAudioAttributes(attributes)
        .build()
    private val ttsReady = CountDownLatch(1)
    private val tts = TextToSpeech(context) { ttsReady.countDown() }
    @Volatile private var track: AudioTrack? = null

    override fun play(pcm: Pcm) {
        stop()
        val bytes = pcm.samplesLe
        val t = AudioTrack.Builder()
            .setAudioAttributes(attributes)
            .setAudioFormat(
                AudioFormat.Builder()
                    .setEncoding(AudioFormat.ENCODING_PCM_16BIT)
                    .setSampleRate(pcm.sampleRateHz.toInt())
                    .setChannelMask(AudioFormat.CHANNEL_OUT_MONO)
                    .build()
            )
            .setTransferMode(AudioTrack.MODE_STATIC)
            .setBufferSizeInBytes(maxOf(2, bytes.size))
            .build()
        if (t.write(bytes, 0, bytes.size) < 0) {
            t.release()
            throw AudioFailure.Failed("AudioTrack refused ${bytes.size} bytes")
        }
        t.play()
        track = t
    }

    override fun stop() {
        track?.let { it.stop(); it.release() }
        track = null
    }

    override fun duck() {
        if (audio.requestAudioFocus(focus) != AudioManager.AUDIOFOCUS_REQUEST_GRANTED) {
            throw AudioFailure.Failed("audio focus refused (a call?)")
        }
    }

    override fun release() {
        audio.abandonAudioFocusRequest(focus)
    }

    /** Blocks until TextToSpeech has written the text to a WAV file, then returns its PCM. */
    override fun synthesize(text: String): Pcm {
        if (!ttsReady.await(5, TimeUnit.SECONDS)) throw AudioFailure.Failed("TextToSpeech did not start")
        val file = File.createTempFile("pacenote-tts", ".wav", context.cacheDir)
        val done = CountDownLatch(1)
        var failed = false
        tts.setOnUtteranceProgressListener(object : UtteranceProgressListener() {
            override fun onStart(id: String) {}
            override fun onDone(id: String) = done.countDown()
            @Deprecated("required by the base class on older APIs")
            override fun onError(id: String) { failed = true; done.countDown() }
        })
        tts.synthesizeToFile(text, null, file, "pacenote-note")
        try {
            if (!done.await(20, TimeUnit.SECONDS) || failed) throw AudioFailure.Failed("TextToSpeech could not say: $text")
            return wavToPcm(file.readBytes())
        } finally {
            file.delete()
        }
    }

    fun shutdown() {
        stop()
        tts.shutdown()
        release()
    }

    private companion object {
        /** The mono 16-bit PCM of a canonical WAV file (what TextToSpeech writes). */
        fun wavToPcm(bytes: ByteArray): Pcm {
            val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
            var rate = 16000
            var at = 12
            while (at + 8 <= bytes.size) {
                val id = String(bytes, at, 4, Charsets.US_ASCII)
                val size = b.getInt(at + 4)
                if (id == "fmt ") rate = b.getInt(at + 12)
                if (id == "data") {
                    val n = minOf(size, bytes.size - at - 8) and 1.inv()
                    return Pcm(bytes.copyOfRange(at + 8, at + 8 + n), rate.toUInt())
                }
                at += 8 + size
            }
            throw AudioFailure.Failed("TextToSpeech wrote no audio")
        }
    }
}

// The library's log lines to Logcat (tag "Pacenote"). Needs the Android SDK.
package dev.pacenote.android

import android.util.Log
import dev.pacenote.LogLevel
import dev.pacenote.LogSink

class LogcatSink : LogSink {
    override fun log(level: LogLevel, target: String, message: String) {
        val line = "$target: $message"
        when (level) {
            LogLevel.ERROR -> Log.e(TAG, line)
            LogLevel.WARN -> Log.w(TAG, line)
            LogLevel.INFO -> Log.i(TAG, line)
            LogLevel.DEBUG, LogLevel.TRACE -> Log.d(TAG, line)
        }
    }

    private companion object {
        const val TAG = "Pacenote"
    }
}

// Syncs finished runs when the network is back, through WorkManager (survives app death and
// reboots). Needs the Android SDK. The app opens its one Pacenote and hands it over with
// SyncWorker.pacenote = ... in Application.onCreate (which also runs when WorkManager starts
// the process for this job alone); schedule() enqueues a unique job with a network constraint.
// A failed pass is retried by WorkManager's exponential backoff (which, like the library's
// own, grows and is capped); within a pass the library retries with full jitter.
package dev.pacenote.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import dev.pacenote.Pacenote
import dev.pacenote.SyncOutcome
import java.util.concurrent.TimeUnit

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val pacenote = SyncWorker.pacenote ?: return Result.retry()
        pacenote.setConnectivity(true) // WorkManager only runs us with a network.
        val report = pacenote.syncNow()
        return when (report.outcome) {
            SyncOutcome.Done -> Result.success()
            // Nothing uploads until the runner signs in again: retrying now would not help.
            is SyncOutcome.Unauthorized -> Result.failure()
            else -> Result.retry()
        }
    }

    companion object {
        @Volatile var pacenote: Pacenote? = null
        private const val NAME = "pacenote-sync"

        /** Sync once a network is available (after a run is saved, or at app start). */
        fun schedule(context: Context, delayMs: Long = 0) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setInitialDelay(maxOf(0, delayMs), TimeUnit.MILLISECONDS)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, ExistingWorkPolicy.REPLACE, request)
        }
    }
}

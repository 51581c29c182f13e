// Syncing when the app is not in front: a BGProcessingTask that needs the network (iOS runs
// it when there is signal, even hours later), and a background-task grace period so a pass
// that started in the foreground finishes when the runner locks the phone. The transport is
// URLSessionTransport; the library retries within a pass and says when to try again
// (nextSyncAtMs). Not compiled on the Linux CI machines. Add the identifier to the app's
// Info.plist (BGTaskSchedulerPermittedIdentifiers).
#if canImport(BackgroundTasks) && canImport(UIKit)
import BackgroundTasks
import UIKit

public enum BackgroundSync {
    public static let identifier = "dev.pacenote.sync"

    /// Call once at launch, before the app finishes launching.
    public static func register(_ pacenote: Pacenote) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            // Cancelling the task (iOS ends the window) stops the pass in Rust too.
            let work = Task {
                pacenote.setConnectivity(online: true)
                let report = try? await pacenote.syncNowCancellable()
                let done = report?.outcome == .done
                if !done { schedule(after: pacenote.nextSyncAtMs()) }
                task.setTaskCompleted(success: done)
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    /// Asks iOS to sync once a network is available (after a run is saved, at launch).
    public static func schedule(after unixMs: UInt64? = nil) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        if let ms = unixMs {
            request.earliestBeginDate = Date(timeIntervalSince1970: TimeInterval(ms) / 1000)
        }
        try? BGTaskScheduler.shared.submit(request)
    }

    /// Syncs now, and keeps running for the grace period if the app goes to the background.
    @MainActor
    public static func syncNow(_ pacenote: Pacenote) async -> SyncReport? {
        var grace = UIBackgroundTaskIdentifier.invalid
        grace = UIApplication.shared.beginBackgroundTask(withName: identifier) {
            UIApplication.shared.endBackgroundTask(grace)
        }
        defer { UIApplication.shared.endBackgroundTask(grace) }
        return try? await pacenote.syncNowCancellable()
    }
}
#endif

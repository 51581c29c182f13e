//! The threads storage calls run on: as many as the storage serves calls at once (its
//! connections), each taking the next call as soon as it is free, in the order the calls came.
//!
//! Why not tokio's blocking pool behind a fair semaphore (as before): a slot freed there went to
//! the longest-waiting request, but that request's task then had to be polled on a busy async
//! worker before it could start its call, and its call woke a pooled thread; on two loaded
//! cores each took milliseconds, during which the slot and its connection sat idle, and which
//! calls got through quickly was down to the scheduler (p99 twice the median). Here a call
//! waits in one FIFO queue, and a storage thread that finishes a call starts the next one
//! without sleeping in between.
//!
//! Must not: lose a call's answer silently (a call that panics is answered as an error, and its
//! thread goes on); block an async worker (a caller awaits its answer); outlive the server (the
//! threads end when the last handle to the queue is dropped).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::storage::{Storage, StorageError};

/// One call, with where its answer goes.
type Call = Box<dyn FnOnce(&dyn Storage) + Send>;

/// The queue in front of the storage threads.
pub struct StorageThreads {
    calls: mpsc::Sender<Call>,
}

impl std::fmt::Debug for StorageThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageThreads").finish_non_exhaustive()
    }
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    #[error("the storage threads have stopped")]
    Stopped,
    #[error("the storage call failed unexpectedly (a bug: see the server's log)")]
    Panicked,
}

impl StorageThreads {
    /// `threads` threads (at least one) serving calls on `storage`.
    pub fn start(storage: Arc<dyn Storage>, threads: usize) -> std::io::Result<Self> {
        let (calls, queue) = mpsc::channel::<Call>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let (queue, storage) = (queue.clone(), storage.clone());
            std::thread::Builder::new().name(format!("pacenote-storage-{n}")).spawn(move || {
                loop {
                    // The lock is held only while taking a call: the threads take turns at the
                    // queue's head, and a call runs with the queue free for the others.
                    let next = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(call) => call(&*storage),
                        Err(mpsc::RecvError) => return,
                    }
                }
            })?;
        }
        Ok(Self { calls })
    }

    /// Runs `call` when a thread is free, and gives back what it returned.
    pub async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<Result<T, StorageError>, NoAnswer> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Call = Box::new(move |storage| {
            match std::panic::catch_unwind(AssertUnwindSafe(|| call(storage))) {
                // The caller may have gone (its client left): the call is done all the same.
                Ok(result) => drop(answer.send(result)),
                Err(_) => tracing::error!("a storage call panicked"),
            }
        });
        self.calls.send(job).map_err(|_| NoAnswer::Stopped)?;
        answered.await.map_err(|_| NoAnswer::Panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_backends::{Backend, TestDatabase};

    #[test]
    fn calls_are_answered_in_turn_and_a_panic_is_an_error_not_a_lost_thread() {
        let dir = tempfile::tempdir().expect("dir");
        let storage = TestDatabase::new(Backend::Sqlite, dir.path()).open();
        let threads = StorageThreads::start(storage, 1).expect("threads");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            threads.call(|s| s.add_user("alice", "a")).await.expect("answered").expect("added");
            let panicked = threads.call(|_| -> Result<(), StorageError> { panic!("a bug") }).await;
            assert!(matches!(panicked, Err(NoAnswer::Panicked)), "{panicked:?}");
            // The one thread is still there to take the next call.
            let user = threads.call(|s| s.user_for_token("a")).await.expect("answered").expect("found");
            assert_eq!(user.as_deref(), Some("alice"));
        });
    }
}

//! A new phone gets the runner's history back: the finished runs the server holds, listed page
//! by page (`GET /v1/runs`), each stored as a phone that uploaded it keeps it — header,
//! summary, analysis and check-in, marked uploaded, no log rows — so the week's tally, streaks,
//! trends and goals read the same as on the old phone.
//!
//! Must not: store a run twice (restoring again stores nothing new); touch a run the phone
//! already has; restore a run the server does not hold whole (one still uploading from another
//! phone).

use std::sync::Mutex;
use std::time::SystemTime;

use crate::client::{Client, Method, RequestError, Traffic};
use crate::store::{RestoredRun, Store, StoreError};
use crate::wire::{DEFAULT_RUNS_PAGE, RunPage};

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server answered something that is not a page of runs.
    #[error("{0}")]
    Server(String),
}

/// What a restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Runs the server listed.
    pub listed: u64,
    /// Runs stored on this phone now.
    pub restored: u64,
    /// Runs this phone had already.
    pub already_here: u64,
    /// Runs the server does not hold whole yet (still uploading), left for a later restore.
    pub not_finalized: u64,
}

/// Lists the user's runs on the server and stores the finalized ones this phone lacks.
pub fn restore_history(
    client: &Client,
    store: &Mutex<Store>,
    traffic: &mut Traffic,
) -> Result<Restored, RestoreError> {
    let mut done = Restored::default();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            // Run ids are letters, digits, '-', '_' and '.' (the server refuses others): no
            // escaping needed.
            Some(id) => format!("/v1/runs?limit={DEFAULT_RUNS_PAGE}&after={id}"),
            None => format!("/v1/runs?limit={DEFAULT_RUNS_PAGE}"),
        };
        let response = client.send(&client.request(Method::Get, &path, &[], Vec::new()), traffic)?;
        if !response.is_success() {
            return Err(RestoreError::Server(format!(
                "the server refused the list of runs: {} {}",
                response.status,
                response.message()
            )));
        }
        let page: RunPage = serde_json::from_slice(&response.body)
            .map_err(|e| RestoreError::Server(format!("the server's list of runs is not valid: {e}")))?;
        let now_ms =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        for run in &page.runs {
            done.listed += 1;
            if !run.finalized {
                done.not_finalized += 1;
                continue;
            }
            let restored = RestoredRun {
                id: run.id.clone(),
                plan_id: run.header.plan_id.clone(),
                persona: run.header.persona.clone(),
                started_at_unix_ms: run.header.started_at_unix_ms,
                summary_json: run.header.summary.as_ref().map(ToString::to_string),
                analysis_json: run.header.analysis.as_ref().map(ToString::to_string),
                effort: run.header.effort.filter(|e| (1..=10).contains(e)),
                restored_at_unix_ms: now_ms,
            };
            let stored = store
                .lock()
                .map_err(|_| RestoreError::Server("the store's lock was poisoned by a panic".into()))?
                .restore_run(&restored)?;
            if stored {
                done.restored += 1;
            } else {
                done.already_here += 1;
            }
        }
        match page.next_after {
            // A server that repeats a page would loop for ever: the next page must move on.
            Some(next) if after.as_ref().is_none_or(|a| *a < next) && !page.runs.is_empty() => {
                after = Some(next)
            }
            Some(next) => {
                return Err(RestoreError::Server(format!(
                    "the server's next page starts at {next}, not after the last one"
                )));
            }
            None => return Ok(done),
        }
    }
}

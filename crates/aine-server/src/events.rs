//! Run events as Server-Sent Events: `GET /api/v1/runs/{run}/events`.
//!
//! A subscriber first gets the run's journal from the store (after `Last-Event-ID`, if the
//! browser reconnects), then live events from an in-process broadcast channel fed by the
//! runs this server drives. A gap in the live events (a decision journaled outside a drive, a
//! slow subscriber that lagged) is filled from the store, so every subscriber sees every event
//! exactly once and in order. The stream ends after the run's `run_finished` event, or at
//! shutdown. Each SSE event has `id` = the journal seq, `event` = the event's type
//! (`step_finished`, ...), `data` = the journal entry as JSON.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aine_types::{Event as JournalEvent, JournalEntry, RunId};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{ApiQuery, parse_run};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// How many live events a slow subscriber may fall behind before it re-reads the store.
const CHANNEL_CAPACITY: usize = 256;

/// One broadcast channel per run with subscribers.
#[derive(Debug, Default)]
pub struct EventHub {
    channels: Mutex<HashMap<RunId, broadcast::Sender<Arc<JournalEntry>>>>,
}

impl EventHub {
    /// Sends `entry` to the run's subscribers, if any (never blocks).
    pub fn publish(&self, run: &RunId, entry: &JournalEntry) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        if let Some(sender) = channels.get(run)
            && sender.send(Arc::new(entry.clone())).is_err()
        {
            // Nobody listens any more.
            channels.remove(run);
        }
    }

    /// A receiver of the run's live events.
    fn subscribe(&self, run: &RunId) -> Option<broadcast::Receiver<Arc<JournalEntry>>> {
        let mut channels = self.channels.lock().ok()?;
        Some(
            channels
                .entry(*run)
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .subscribe(),
        )
    }

    /// Number of runs with a channel (for tests).
    pub fn channels(&self) -> usize {
        self.channels.lock().map(|c| c.len()).unwrap_or(0)
    }
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(run_events))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct EventsQuery {
    after: Option<u64>,
}

/// Where a subscriber stands.
struct Cursor {
    state: AppState,
    run: RunId,
    last: u64,
    backlog: VecDeque<JournalEntry>,
    live: broadcast::Receiver<Arc<JournalEntry>>,
    finished: bool,
}

impl Cursor {
    /// Loads the journal after `self.last` into the backlog.
    async fn refill(&mut self) -> Result<(), aine_store::Error> {
        let journal = self.state.runtime().store().journal(&self.run).await?;
        self.backlog
            .extend(journal.into_iter().filter(|e| e.seq > self.last));
        Ok(())
    }

    /// The next entry to send, `None` when the stream should end.
    async fn next(&mut self) -> Option<JournalEntry> {
        loop {
            if let Some(entry) = self.backlog.pop_front() {
                if entry.seq <= self.last {
                    continue;
                }
                self.last = entry.seq;
                return Some(entry);
            }
            if self.finished {
                return None;
            }
            match self.live.recv().await {
                Ok(entry) if entry.seq <= self.last => {}
                Ok(entry) if entry.seq == self.last + 1 => {
                    self.last = entry.seq;
                    return Some(entry.as_ref().clone());
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    if self.refill().await.is_err() {
                        return None;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn sse_event(entry: &JournalEntry) -> Event {
    let event = Event::default()
        .id(entry.seq.to_string())
        .event(entry.event.kind());
    event
        .json_data(entry)
        .unwrap_or_else(|_| Event::default().comment("unserializable event"))
}

/// The run's journal events as Server-Sent Events: first those already journaled (after
/// `Last-Event-ID`), then live ones; the stream ends after `run_finished`.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{run}/events",
    tag = "runs",
    params(
        ("run" = String, Path, description = "Run id, `run_<ULID>`"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this journal seq"),
        ("after" = Option<u64>, Query, description = "Start after this journal seq (for `EventSource`, which cannot set headers)")
    ),
    responses(
        (status = 200, description = "An event stream: `id` journal seq, `event` the event type, `data` the journal entry", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn run_events(
    State(state): State<AppState>,
    _caller: Caller,
    Path(run): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let run = parse_run(&run)?;
    // Existence check: an unknown run is a 404, not an empty stream.
    state.runtime().store().run(&run).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(query.after)
        .unwrap_or(0);
    // Subscribe before reading the journal so nothing falls between the two.
    let live = state
        .hub()
        .subscribe(&run)
        .ok_or_else(|| ApiError::Internal("the event hub lock is poisoned".to_owned()))?;
    let mut cursor = Cursor {
        state: state.clone(),
        run,
        last,
        backlog: VecDeque::new(),
        live,
        finished: false,
    };
    cursor.refill().await?;
    let shutdown = state.shutdown_token().clone();
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let entry = cursor.next().await?;
        if matches!(entry.event, JournalEvent::RunFinished { .. }) {
            cursor.finished = true;
        }
        Some((Ok(sse_event(&entry)), cursor))
    });
    let stream = futures_util::StreamExt::take_until(stream, shutdown.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

use crate::error::ErrorBody;

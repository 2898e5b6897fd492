//! `Events`: this manager's cluster events, replayed from its history then followed live, as
//! `docker events` streams them.
//!
//! The stream ends when `until_ms` passes, when the client goes away, or (with an error) when
//! the client reads so slowly that it falls behind the live feed: a stream with silent gaps
//! would mislead whoever watches it.

use std::pin::Pin;
use std::time::Duration;

use api::control as pc;
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Response, Status};
use types::event::EventFilter;

use super::error::ApiError;
use crate::events::{EventHistory, Window};

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pc::Event, Status>> + Send>>;

/// Checks the request and starts the stream.
pub fn stream(
    history: Option<&EventHistory>,
    req: pc::EventsRequest,
) -> Result<Response<EventStream>, Status> {
    Ok(Response::new(checked_stream(history, req)?))
}

fn checked_stream(
    history: Option<&EventHistory>,
    req: pc::EventsRequest,
) -> Result<EventStream, ApiError> {
    let filter = EventFilter::parse(
        req.filters
            .iter()
            .map(|f| (f.key.as_str(), f.value.as_str())),
    )
    .map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    if let (Some(since), Some(until)) = (req.since_ms, req.until_ms) {
        if since > until {
            return Err(ApiError::InvalidArgument(format!(
                "since_ms {since} is after until_ms {until}; give a `since` before the `until`"
            )));
        }
    }
    let history = history.ok_or_else(|| {
        ApiError::Unavailable("this manager keeps no event history; ask another manager".into())
    })?;
    let window = Window {
        since_ms: req.since_ms.unwrap_or(0),
        until_ms: req.until_ms,
    };
    // docker replays its buffer when either end is given, and only follows otherwise.
    let replay = (req.since_ms.is_some() || req.until_ms.is_some()).then_some(window);
    let deadline = req.until_ms.map(|until| {
        let left = u64::try_from(until.saturating_sub(types::now_ms())).unwrap_or(0);
        tokio::time::Instant::now() + Duration::from_millis(left)
    });
    let (past, mut live) = history.subscribe(replay, &filter);
    let stream = async_stream::stream! {
        for event in past {
            yield Ok(pc::Event::from(event));
        }
        loop {
            let next = tokio::select! {
                _ = sleep_until(deadline) => break,
                next = live.recv() => next,
            };
            match next {
                Ok(event) if window.contains(event.time_ms()) && filter.matches(&event) => {
                    yield Ok(pc::Event::from(event.as_ref().clone()));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    yield Err(Status::resource_exhausted(format!(
                        "this events stream fell {missed} events behind and was cut; run it again with --since to replay from the history"
                    )));
                    break;
                }
                Err(RecvError::Closed) => break,
            }
        }
    };
    Ok(Box::pin(stream))
}

/// Waits for `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

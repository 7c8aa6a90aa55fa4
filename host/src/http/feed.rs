//! `GET /admin/events`: the operators' live feed ([`crate::feed`]) as server-sent events, one
//! JSON object per `data:` line (`type`, `at_unix_ms`, the event's fields). A comment line
//! every 15 s keeps proxies from closing an idle stream; the stream ends when the gateway
//! begins to shut down, so it never holds the drain. Over [`MAX_SUBSCRIBERS`] streams → 503.
//!
//! [`MAX_SUBSCRIBERS`]: crate::feed::MAX_SUBSCRIBERS

use crate::feed::Next;
use crate::gateway::Gateway;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn events(State(gateway): State<Arc<Gateway>>) -> Response {
    let Some(subscription) = gateway.feed().subscribe() else {
        let body = axum::Json(serde_json::json!({
            "error": format!("too many event streams open (at most {})", crate::feed::MAX_SUBSCRIBERS)
        }));
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(5u64));
        return response;
    };
    let shutdown = gateway.sessions().shutdown.clone();
    let stream = futures_util::stream::unfold(
        (subscription, shutdown),
        |(mut subscription, mut shutdown)| async move {
            if *shutdown.borrow() {
                return None;
            }
            let next = tokio::select! {
                next = subscription.next() => next,
                _ = shutdown.wait_for(|draining| *draining) => Next::Closed,
            };
            let text = match next {
                Next::Event(text) | Next::Lagged(text) => text,
                Next::Closed => return None,
            };
            let event: Result<Event, Infallible> = Ok(Event::default().data(&*text));
            Some((event, (subscription, shutdown)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

//! `/admin/*`: operator routes. Every request needs `Authorization: Bearer $ADMIN_TOKEN`;
//! with no `ADMIN_TOKEN` set they are refused (403) with a message saying how to enable them.
//!
//! `GET /admin/plugins` (slots, live and previous versions), `POST /admin/plugins/{slot}/reload`,
//! `POST /admin/plugins/{slot}/rollback`, `GET /admin/kb/{kb_id}/search?q=…&k=…`,
//! `GET /admin/sessions`, `GET /admin/sessions/{id}`, `DELETE /admin/sessions/{id}` (the session
//! gets `voxgate.shutdown {reason: "ended by operator"}` and close 1001), `GET /admin/usage`
//! (tokens by kb, client and model with estimated cost), `GET /admin/events` (the live feed, as
//! server-sent events).

use crate::gateway::Gateway;
use crate::plugins::slot::Reloaded;
use crate::plugins::{PluginError, SlotName};
use crate::tools::knowledge_search::{RagFailure, TOP_K};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub fn router(gateway: Arc<Gateway>) -> Router<Arc<Gateway>> {
    Router::new()
        .route("/admin/plugins", get(list_plugins))
        .route("/admin/plugins/{slot}/reload", post(reload))
        .route("/admin/plugins/{slot}/rollback", post(rollback))
        .route("/admin/kb/{kb_id}/search", get(search))
        .route("/admin/sessions", get(list_sessions))
        .route("/admin/sessions/{id}", get(one_session).delete(end_session))
        .route("/admin/usage", get(usage))
        .route("/admin/events", get(super::feed::events))
        .layer(middleware::from_fn_with_state(gateway, require_admin))
}

fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn require_admin(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &gateway.config().admin_token else {
        return error_response(
            StatusCode::FORBIDDEN,
            "admin routes are disabled: set ADMIN_TOKEN to enable them, then send 'Authorization: Bearer <token>'",
        );
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        next.run(request).await
    } else {
        let mut response = error_response(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin token (Authorization: Bearer <ADMIN_TOKEN>)",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        response
    }
}

async fn usage(State(gateway): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    Json(gateway.sessions().usage.report())
}

async fn list_sessions(State(gateway): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    let sessions = gateway.sessions().live.list();
    Json(json!({ "count": sessions.len(), "sessions": sessions }))
}

fn no_session(id: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no live session '{id}' (GET /admin/sessions lists them)"),
    )
}

async fn one_session(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    match gateway.sessions().live.get(&id) {
        Some(session) => Json(session).into_response(),
        None => no_session(&id),
    }
}

async fn end_session(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    if gateway.sessions().live.end(&id) {
        (StatusCode::ACCEPTED, Json(json!({ "ending": id }))).into_response()
    } else {
        no_session(&id)
    }
}

async fn list_plugins(State(gateway): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    Json(gateway.plugins().admin_json())
}

fn plugin_error(error: PluginError) -> Response {
    let status = match error {
        PluginError::UnknownSlot(_) => StatusCode::NOT_FOUND,
        PluginError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PluginError::NoPrevious => StatusCode::CONFLICT,
    };
    error_response(status, error.to_string())
}

async fn reload(State(gateway): State<Arc<Gateway>>, Path(slot): Path<String>) -> Response {
    let slot = match slot.parse::<SlotName>() {
        Ok(slot) => slot,
        Err(error) => return plugin_error(error),
    };
    // Compiling a component is CPU work: never on the async workers.
    let outcome = tokio::task::spawn_blocking(move || gateway.plugins().reload(slot)).await;
    let name = slot_name(slot);
    match outcome {
        Ok(Ok(Reloaded::Swapped { sha256 })) => {
            Json(json!({ "slot": name, "loaded": sha256 })).into_response()
        }
        Ok(Ok(Reloaded::Unchanged)) => {
            Json(json!({ "slot": name, "unchanged": true })).into_response()
        }
        Ok(Err(error)) => plugin_error(error),
        Err(join) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload did not complete: {join}"),
        ),
    }
}

async fn rollback(State(gateway): State<Arc<Gateway>>, Path(slot): Path<String>) -> Response {
    let slot = match slot.parse::<SlotName>() {
        Ok(slot) => slot,
        Err(error) => return plugin_error(error),
    };
    // Waits for a reload in progress on the same slot: off the async workers too.
    match tokio::task::spawn_blocking(move || gateway.plugins().rollback(slot)).await {
        Ok(Ok(sha256)) => {
            Json(json!({ "slot": slot_name(slot), "rolled_back_to": sha256 })).into_response()
        }
        Ok(Err(error)) => plugin_error(error),
        Err(join) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("rollback did not complete: {join}"),
        ),
    }
}

fn slot_name(slot: SlotName) -> &'static str {
    match slot {
        SlotName::Backoff => "backoff",
        SlotName::Rag => "rag",
        SlotName::Routing => "routing",
    }
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    k: Option<u32>,
}

async fn search(
    State(gateway): State<Arc<Gateway>>,
    Path(kb_id): Path<String>,
    Query(params): Query<SearchParams>,
) -> Response {
    let Some(query) = params.q.filter(|q| !q.trim().is_empty()) else {
        return error_response(StatusCode::BAD_REQUEST, "give the query as ?q=…");
    };
    let k = params.k.unwrap_or(TOP_K).clamp(1, 100);
    let search = gateway.knowledge_search();
    if let Err(message) = search.check_kb(&kb_id) {
        return error_response(StatusCode::NOT_FOUND, message);
    }
    match search.search(&kb_id, &query, k).await {
        Ok(hits) => Json(json!({ "kb_id": kb_id, "query": query, "hits": hits })).into_response(),
        Err(RagFailure::Rejected(e)) => error_response(StatusCode::BAD_REQUEST, e.to_string()),
        Err(RagFailure::Unavailable(e)) => error_response(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

//! `GET /health` (the seed's JSON, plus uptime, sessions, RSS, upstream and plugins),
//! `GET /metrics` (Prometheus text), and the probes an orchestrator asks: `GET /livez` (the
//! process serves HTTP) and `GET /readyz` (it takes new sessions: not draining, the upstream's
//! breaker not open; 503 with the reasons otherwise).

use crate::gateway::Gateway;
use crate::resilience::BreakerState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The seed's health JSON, plus uptime, active sessions and plugins.
pub fn health_json(gateway: &Gateway) -> Value {
    let upstream = gateway.upstreams().primary().breaker_state();
    let rag = gateway.knowledge_search().breaker_state();
    let healthy = upstream == BreakerState::Closed && rag == BreakerState::Closed;
    let metrics = gateway.metrics();
    json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "circuit_breakers": { "azure": upstream.as_str(), "rag": rag.as_str() },
        "metrics": metrics.health_json(),
        "uptime_seconds": (gateway.uptime_seconds() * 10.0).round() / 10.0,
        "active_sessions": metrics.active_sessions(),
        "memory_rss_bytes": crate::process::rss_bytes(),
        "upstream": gateway.upstreams().primary().health_json(),
        "upstreams": gateway.upstreams().health_json(),
        "plugins": gateway.plugins().health_json(),
    })
}

pub(super) async fn health(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(health_json(&gateway))
}

pub(super) async fn livez() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

/// Why new sessions would not be served now (none: ready).
pub fn unready_reasons(gateway: &Gateway) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    if gateway.is_draining() {
        reasons.push("draining: shutting down");
    }
    if !gateway.upstreams().any_available() {
        reasons.push("the upstream's circuit breaker is open");
    }
    reasons
}

pub(super) async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    let reasons = unready_reasons(&gateway);
    let status = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if reasons.is_empty() { "ready" } else { "unready" },
        "reasons": reasons,
        "active_sessions": gateway.metrics().active_sessions(),
    });
    (status, Json(body)).into_response()
}

pub(super) async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    // Reading the breakers moves OPEN → HALF_OPEN when due, so the gauges are current.
    for upstream in gateway.upstreams().members() {
        upstream.breaker_state();
    }
    gateway.knowledge_search().breaker_state();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics().prometheus_text(),
    )
        .into_response()
}

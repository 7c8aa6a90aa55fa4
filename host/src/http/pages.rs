//! The gateway's own pages, embedded in the binary (no build step, nothing fetched from a
//! CDN): the try-it page at `/` (a text and voice chat through `/v1/realtime`, the way a
//! browser app would talk to the gateway) and the ops console at `/console` (breakers,
//! upstreams, sessions, plugins and usage, live from `/admin/events`). Neither page holds a
//! secret: the console asks for the admin token and keeps it in the tab's session storage;
//! the try-it page's socket is admitted like any client (`CLIENT_TOKENS`).

use crate::gateway::Gateway;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

const TRY_HTML: &str = include_str!("pages/try.html");
const TRY_JS: &str = include_str!("pages/try.js");
const CONSOLE_HTML: &str = include_str!("pages/console.html");
const CONSOLE_JS: &str = include_str!("pages/console.js");
const STYLE_CSS: &str = include_str!("pages/style.css");

/// Only the gateway's own scripts, styles and sockets; never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
    img-src 'self' data:; media-src 'self' blob:; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

pub fn router() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/", get(|| page(TRY_HTML, "text/html; charset=utf-8")))
        .route(
            "/console",
            get(|| page(CONSOLE_HTML, "text/html; charset=utf-8")),
        )
        .route(
            "/assets/try.js",
            get(|| page(TRY_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/console.js",
            get(|| page(CONSOLE_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/style.css",
            get(|| page(STYLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/try/info", get(try_info))
}

async fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// What the try-it page needs to connect: whether a client token is required, and the
/// knowledge base sessions get when they name none.
async fn try_info(State(gateway): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    let config = gateway.config();
    Json(json!({
        "client_token_required": !config.limits.tokens.is_empty(),
        "default_kb": config.default_kb_id,
    }))
}

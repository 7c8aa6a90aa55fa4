//! `/admin/*`: operator routes (plugin reload/rollback, knowledge-base search). Every request
//! needs `Authorization: Bearer $ADMIN_TOKEN`; with no `ADMIN_TOKEN` set they are refused.

use crate::gateway::Gateway;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub fn router() -> Router<Arc<Gateway>> {
    Router::new()
}

/// Wrap admin routes so each needs the admin token.
pub fn guarded(routes: Router<Arc<Gateway>>, gateway: Arc<Gateway>) -> Router<Arc<Gateway>> {
    routes.layer(middleware::from_fn_with_state(gateway, require_admin))
}

async fn require_admin(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &gateway.config.admin_token else {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "error": "admin routes are disabled: set ADMIN_TOKEN to enable them, then send 'Authorization: Bearer <token>'" })),
        )
            .into_response();
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
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "error": "missing or wrong admin token (Authorization: Bearer <ADMIN_TOKEN>)" })),
        )
            .into_response()
    }
}

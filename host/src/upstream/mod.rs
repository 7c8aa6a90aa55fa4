//! The upstream Realtime API: where it is ([`Endpoint`]), how to authenticate, one connection
//! attempt with its timeout ([`connect_once`]), and the handle sessions use ([`Upstream`]):
//! every connect through the upstream's breaker and retry.

mod endpoint;
pub mod link;
mod pool;
mod route;

pub use endpoint::{Auth, Endpoint, Flavour};
pub use link::{Lease, LinkError, Placement, Target, Upstream};
pub use pool::{Connected, UpstreamPool};
pub use route::{Candidate, RouteContext, Router, RouterFuture};

/// One configured upstream of `UPSTREAMS_FILE`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamSpec {
    pub name: String,
    pub endpoint: Endpoint,
    pub priority: u32,
    pub weight: u32,
    pub max_sessions: usize,
    pub breaker: crate::resilience::BreakerSettings,
    /// Session settings of this upstream's own (`[upstream.session]`: model, voice …),
    /// applied over the session whenever it is sent there.
    pub session: Option<serde_json::Value>,
    /// Free labels for routing policies (region, provider …).
    pub tags: Vec<String>,
}
pub use voxgate_wire::net::{READ_BUFFER, socket_config};

use crate::resilience::ErrorClass;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type UpstreamSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why one connection attempt failed. Messages never contain credentials.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConnectError {
    #[error("upstream did not complete the handshake within {0:?}")]
    Timeout(Duration),
    #[error("upstream refused the connection: {0}")]
    Refused(String),
    #[error("upstream answered HTTP {0} instead of upgrading")]
    Http(u16),
    #[error("upstream handshake failed: {0}")]
    Protocol(String),
}

impl ConnectError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectError::Timeout(_) => ErrorClass::Timeout,
            ConnectError::Refused(_) => ErrorClass::Refused,
            ConnectError::Http(status) => ErrorClass::HttpStatus(*status),
            ConnectError::Protocol(_) => ErrorClass::Other,
        }
    }

    /// The Realtime `error.code` a client sees when connecting finally fails.
    pub fn client_code(&self) -> &'static str {
        match self {
            ConnectError::Http(401 | 403) => "upstream_unauthorized",
            ConnectError::Http(429) => "upstream_rate_limited",
            ConnectError::Timeout(_) => "upstream_timeout",
            _ => "upstream_unavailable",
        }
    }
}

/// Open one WebSocket to `endpoint` within `timeout`, with the gateway's credentials.
pub async fn connect_once(
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<UpstreamSocket, ConnectError> {
    let mut request = endpoint
        .url()
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Protocol(e.to_string()))?;
    let headers = request.headers_mut();
    for (name, value) in endpoint.auth_headers() {
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| ConnectError::Protocol("invalid credential".into()))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    if endpoint.flavour() == Flavour::Preview && endpoint.is_openai() {
        headers.insert("OpenAI-Beta", HeaderValue::from_static("realtime=v1"));
    }
    let attempt =
        tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true);
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(classify(error)),
    }
}

fn classify(error: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Http(response) => ConnectError::Http(response.status().as_u16()),
        Error::Io(io) => ConnectError::Refused(io.kind().to_string()),
        Error::Tls(tls) => ConnectError::Refused(format!("TLS: {tls}")),
        Error::Url(url) => ConnectError::Protocol(url.to_string()),
        other => ConnectError::Protocol(other.to_string()),
    }
}

//! Admission of client sockets, decided before the WebSocket upgrade: the client token
//! (`CLIENT_TOKENS`), the browser origin (`ALLOWED_ORIGINS`), and the session limits
//! (`MAX_SESSIONS` → 503, `MAX_SESSIONS_PER_IP` → 429, both with `Retry-After`).
//! An admitted session holds a [`Ticket`]; dropping it frees its place. Before that, each
//! connection not yet upgraded holds a place among the [`PendingConnections`].

mod pending;

pub use pending::{Pending, PendingConnections};

use crate::config::ClientLimits;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The subprotocol prefix browsers use to carry a key (they cannot set headers on a WebSocket).
const SUBPROTOCOL_KEY: &str = "openai-insecure-api-key.";

pub struct Admission {
    limits: ClientLimits,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A session's place; released on drop.
pub struct Ticket {
    admission: Arc<Admission>,
    ip: IpAddr,
    /// The name of the token the client presented (`None` without client auth).
    client: Option<Arc<str>>,
}

impl Ticket {
    /// The name of the client's token, for the sessions API, usage and logs.
    pub fn client(&self) -> Option<Arc<str>> {
        self.client.clone()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// Why a client was not admitted; becomes the HTTP answer to its upgrade request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    Unauthorized,
    AtCapacity,
    TooManyFromAddress,
    /// Shutting down: sessions open are draining, new ones go to another replica.
    Draining,
    /// An `X-Correlation-Id` that is not 1–128 visible ASCII characters.
    BadCorrelationId,
}

/// The client's own id for this session (`X-Correlation-Id`), carried into its logs.
pub fn correlation_id(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let mut given = headers.get_all("x-correlation-id").iter();
    let Some(value) = given.next() else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|b| b.is_ascii_graphic());
    if given.next().is_some() || bytes.is_empty() || bytes.len() > 128 || !visible {
        return Err(Refusal::BadCorrelationId);
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message, retry_after) = match self {
            Refusal::Origin => (
                StatusCode::FORBIDDEN,
                "this origin is not allowed (ALLOWED_ORIGINS)",
                None,
            ),
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "missing or invalid client token (Authorization: Bearer, api-key, ?token= or the openai-insecure-api-key subprotocol)",
                None,
            ),
            Refusal::AtCapacity => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is at its session limit (MAX_SESSIONS)",
                Some(5u64),
            ),
            Refusal::TooManyFromAddress => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many sessions from this address (MAX_SESSIONS_PER_IP)",
                Some(5),
            ),
            Refusal::BadCorrelationId => (
                StatusCode::BAD_REQUEST,
                "X-Correlation-Id must be 1 to 128 visible ASCII characters",
                None,
            ),
            Refusal::Draining => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is shutting down; connect again (another replica will answer)",
                Some(1),
            ),
        };
        let mut response = (status, axum::Json(json!({ "error": message }))).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Every place a client may put its token.
fn presented_tokens<'a>(headers: &'a HeaderMap, query_token: Option<&'a str>) -> Vec<&'a str> {
    let mut tokens = Vec::new();
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        tokens.push(bearer.trim());
    }
    if let Some(key) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        tokens.push(key.trim());
    }
    if let Some(protocols) = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
    {
        tokens.extend(
            protocols
                .split(',')
                .filter_map(|p| p.trim().strip_prefix(SUBPROTOCOL_KEY)),
        );
    }
    tokens.extend(query_token);
    tokens
}

impl Admission {
    pub fn new(limits: ClientLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// The name of the configured token the client presented: `Ok(None)` when no client
    /// auth is configured, `Err` when none matches.
    fn authorized(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Option<Arc<str>>, Refusal> {
        if self.limits.tokens.is_empty() {
            return Ok(None);
        }
        let presented = presented_tokens(headers, query_token);
        match self.limits.tokens.matching(&presented) {
            Some(name) => Ok(Some(Arc::from(name))),
            None => Err(Refusal::Unauthorized),
        }
    }

    /// The browser origin, checked failing closed: one `Origin` header at most, printable
    /// ASCII (RFC 6454 serializes origins so), equal byte for byte to an allowed origin when
    /// `ALLOWED_ORIGINS` is set. Clients that are not browsers send none.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(header::ORIGIN).iter();
        let origin = match (values.next(), values.next()) {
            (None, _) => return true,
            (Some(origin), None) => origin.as_bytes(),
            (Some(_), Some(_)) => return false,
        };
        if !origin.iter().all(|b| b.is_ascii_graphic()) {
            return false;
        }
        self.limits.allowed_origins.is_empty()
            || self
                .limits
                .allowed_origins
                .iter()
                .any(|allowed| allowed.as_bytes() == origin)
    }

    /// Admit a client, or the response refusing it.
    pub fn admit(
        self: &Arc<Self>,
        headers: &HeaderMap,
        query_token: Option<&str>,
        ip: IpAddr,
    ) -> Result<Ticket, Refusal> {
        if !self.origin_allowed(headers) {
            return Err(Refusal::Origin);
        }
        let client = self.authorized(headers, query_token)?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if self.limits.max_sessions > 0 && open.0 >= self.limits.max_sessions {
            return Err(Refusal::AtCapacity);
        }
        let per_ip = open.1.get(&ip).copied().unwrap_or(0);
        if self.limits.max_sessions_per_ip > 0 && per_ip >= self.limits.max_sessions_per_ip {
            return Err(Refusal::TooManyFromAddress);
        }
        open.0 += 1;
        *open.1.entry(ip).or_default() += 1;
        Ok(Ticket {
            admission: self.clone(),
            ip,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientTokens;

    fn admission(tokens: &[&str]) -> Arc<Admission> {
        Admission::new(ClientLimits {
            tokens: ClientTokens::parse(tokens.iter().copied()).expect("valid tokens"),
            max_sessions: 2,
            max_sessions_per_ip: 1,
            ..ClientLimits::default()
        })
    }

    #[test]
    fn tokens_are_found_in_every_form() {
        let a = admission(&["web:0123456789abcdef"]);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert!(a.admit(&headers, None, ip).is_err());
        let ticket = a
            .admit(&headers, Some("0123456789abcdef"), ip)
            .expect("admitted");
        assert_eq!(ticket.client().as_deref(), Some("web"));
        drop(ticket);
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("realtime, openai-insecure-api-key.0123456789abcdef"),
        );
        assert!(a.admit(&headers, None, ip).is_ok());
    }

    #[test]
    fn origins_fail_closed() {
        let a = Admission::new(ClientLimits {
            allowed_origins: vec!["https://app.example.com".into()],
            ..ClientLimits::default()
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let with = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(header::ORIGIN, HeaderValue::from_bytes(v).unwrap());
            }
            a.admit(&headers, None, ip).err()
        };
        assert_eq!(with(&[]), None, "no Origin: not a browser");
        assert_eq!(with(&[b"https://app.example.com"]), None);
        assert_eq!(with(&[b"https://APP.example.com"]), Some(Refusal::Origin));
        assert_eq!(with(&[b"https://evil.example.net"]), Some(Refusal::Origin));
        assert_eq!(
            with(&[b"https://app.example.com", b"https://evil.example.net"]),
            Some(Refusal::Origin),
            "a second Origin header is refused, not ignored"
        );
        assert_eq!(
            with(&[b"https://app.example.com\xc3\xa9"]),
            Some(Refusal::Origin),
            "non-ASCII"
        );
        let open = Admission::new(ClientLimits::default());
        let mut headers = HeaderMap::new();
        headers.append(
            header::ORIGIN,
            HeaderValue::from_bytes(b"https://x\xff").unwrap(),
        );
        assert_eq!(open.admit(&headers, None, ip).err(), Some(Refusal::Origin));
    }

    #[test]
    fn limits_count_open_tickets() {
        let a = admission(&[]);
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        let three: IpAddr = "10.0.0.3".parse().unwrap();
        let first = a.admit(&HeaderMap::new(), None, one).unwrap();
        assert_eq!(
            a.admit(&HeaderMap::new(), None, one).err(),
            Some(Refusal::TooManyFromAddress)
        );
        let _second = a.admit(&HeaderMap::new(), None, two).unwrap();
        assert_eq!(
            a.admit(&HeaderMap::new(), None, three).err(),
            Some(Refusal::AtCapacity)
        );
        drop(first);
        assert!(a.admit(&HeaderMap::new(), None, one).is_ok());
    }

    #[test]
    fn correlation_ids_are_short_visible_ascii_and_single() {
        let with = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-correlation-id", HeaderValue::from_bytes(value).unwrap());
            }
            correlation_id(&headers)
        };
        assert_eq!(with(&[]), Ok(None));
        assert_eq!(with(&[b"call-42"]), Ok(Some("call-42".into())));
        for bad in [&b"two words"[..], b"caf\xc3\xa9", &[b'x'; 129]] {
            assert_eq!(with(&[bad]), Err(Refusal::BadCorrelationId), "{bad:?}");
        }
        assert_eq!(with(&[b"a", b"b"]), Err(Refusal::BadCorrelationId), "twice");
    }
}

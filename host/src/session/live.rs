//! The live sessions of this process, for operators (`/admin/sessions`): what each one is (id,
//! knowledge base, client path and address, upstream, since when) and what it has done (turns,
//! reconnects, events and bytes each way), and a way to end one. A session registers itself
//! when it starts and leaves when its [`Registered`] guard drops, so an entry cannot outlive
//! its session, even one that panicked. Counters are atomics the session bumps as it goes.

use crate::usage::{MAX_MODEL_CHARS, Tokens};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// What a session is, given when it registers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: String,
    pub kb: String,
    pub path: String,
    pub client: Option<SocketAddr>,
    pub upstream: String,
    /// The client's own id for the session (`X-Correlation-Id`).
    pub correlation: Option<String>,
    /// The name of the client's token (never the token).
    pub client_name: Option<Arc<str>>,
}

/// One live session as operators see it.
pub struct LiveSession {
    identity: Identity,
    since: Instant,
    started_unix: u64,
    pub turns: AtomicU64,
    pub reconnects: AtomicU64,
    /// Moves to another upstream.
    pub failovers: AtomicU64,
    /// The upstream it is on now (the one in `identity` until the first connect).
    upstream: Mutex<Option<String>>,
    pub events_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub events_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// The model the upstream says it runs, and the tokens its responses reported.
    usage: Mutex<(Option<String>, Tokens)>,
    end: Notify,
}

impl LiveSession {
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Count one frame from the client (`bytes` long).
    pub fn frame_in(&self, bytes: usize) {
        self.events_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Count one frame to the client (`bytes` long).
    pub fn frame_out(&self, bytes: usize) {
        self.events_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The session is on the upstream `name` now.
    pub fn set_upstream(&self, name: &str) {
        *self.upstream.lock().unwrap_or_else(|p| p.into_inner()) = Some(name.to_string());
    }

    /// The upstream it is on.
    pub fn upstream(&self) -> String {
        self.upstream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| self.identity.upstream.clone())
    }

    /// The model named by the upstream's `session.created` / `session.updated`.
    pub fn set_model(&self, model: &str) {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        if usage.0.as_deref() != Some(model) {
            usage.0 = Some(model.chars().take(MAX_MODEL_CHARS).collect());
        }
    }

    /// Add one response's tokens; returns the model they are counted for.
    pub fn add_tokens(&self, tokens: &Tokens) -> String {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        usage.1.add(tokens);
        usage.0.clone().unwrap_or_else(|| "unknown".into())
    }

    /// Resolves when an operator ends this session.
    pub async fn ended(&self) {
        self.end.notified().await;
    }

    pub fn json(&self) -> Value {
        let count = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let identity = &self.identity;
        let (model, tokens) = self.usage.lock().unwrap_or_else(|p| p.into_inner()).clone();
        json!({
            "id": identity.id,
            "kb": identity.kb,
            "path": identity.path,
            "client": identity.client.map(|a| a.to_string()),
            "upstream": self.upstream(),
            "correlation": identity.correlation,
            "client_name": identity.client_name.as_deref(),
            "started_at_unix": self.started_unix,
            "age_seconds": (self.since.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "turns": count(&self.turns),
            "reconnects": count(&self.reconnects),
            "failovers": count(&self.failovers),
            "events_in": count(&self.events_in),
            "bytes_in": count(&self.bytes_in),
            "events_out": count(&self.events_out),
            "bytes_out": count(&self.bytes_out),
            "model": model,
            "tokens": tokens.json(),
        })
    }
}

/// The registry of live sessions.
#[derive(Default)]
pub struct LiveSessions {
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
}

/// A session's place in the registry: it leaves when this drops.
pub struct Registered {
    registry: Arc<LiveSessions>,
    pub session: Arc<LiveSession>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.session.identity.id);
    }
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<LiveSession>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(self: &Arc<Self>, identity: Identity) -> Registered {
        let session = Arc::new(LiveSession {
            since: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |t| t.as_secs()),
            turns: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            upstream: Mutex::new(None),
            events_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            events_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            usage: Mutex::new((None, Tokens::default())),
            end: Notify::new(),
            identity,
        });
        self.lock()
            .insert(session.identity.id.clone(), session.clone());
        Registered {
            registry: self.clone(),
            session,
        }
    }

    /// Every live session, oldest first.
    pub fn list(&self) -> Vec<Value> {
        let mut sessions: Vec<Arc<LiveSession>> = self.lock().values().cloned().collect();
        sessions.sort_by_key(|s| s.since);
        sessions.iter().map(|s| s.json()).collect()
    }

    pub fn get(&self, id: &str) -> Option<Value> {
        self.lock().get(id).map(|s| s.json())
    }

    /// Ask session `id` to end; false if there is no such session.
    pub fn end(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(session) => {
                session.end.notify_one();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: &str) -> Identity {
        Identity {
            id: id.into(),
            kb: "docs".into(),
            path: "/v1/realtime".into(),
            client: "127.0.0.1:5000".parse().ok(),
            upstream: "simulator".into(),
            correlation: None,
            client_name: Some("web".into()),
        }
    }

    #[tokio::test]
    async fn sessions_are_listed_counted_ended_and_leave_when_dropped() {
        let registry = Arc::new(LiveSessions::default());
        let first = registry.register(identity("sess_a"));
        let second = registry.register(identity("sess_b"));
        first.session.frame_in(10);
        first.session.frame_out(20);
        first.session.frame_out(5);
        let listed = registry.list();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0]["id"], "sess_a", "oldest first");
        assert_eq!(listed[0]["bytes_out"], 25);
        assert_eq!(listed[0]["events_out"], 2);
        assert_eq!(listed[0]["client"], "127.0.0.1:5000");
        assert!(registry.end("sess_b"));
        assert!(!registry.end("sess_zzz"));
        // The notice waits for the session to look (no lost wake-up).
        second.session.ended().await;
        drop(second);
        assert_eq!(registry.len(), 1);
        assert!(registry.get("sess_b").is_none());
        drop(first);
        assert!(registry.is_empty());
    }
}

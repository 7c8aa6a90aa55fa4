//! Which upstream a session is on: its first connect (routed through the pool, while the
//! client is read meanwhile), its place there (the lease counting it, the `upstream` field of
//! its span and registry entry, that upstream's own session settings), and what routing knows
//! of the session.

use super::{Flow, Session};
use crate::upstream::{Connected, LinkError, RouteContext, Upstream};
use axum::extract::ws::WebSocket;
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use std::sync::Arc;

impl Session {
    /// Connect the first upstream while reading the client: its events wait in the outage
    /// buffer, and a client that leaves cancels the connect (`None`: the session is over).
    pub(super) async fn first_connect(
        &mut self,
        client_rx: &mut SplitStream<WebSocket>,
    ) -> Option<Result<Connected, LinkError>> {
        let ctx = self.ctx.clone();
        let route = self.route_context(Vec::new());
        let connect = ctx.upstreams.connect(self.init.flavour, &route);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                connected = &mut connect => return Some(connected),
                frame = client_rx.next() => {
                    if matches!(self.on_client(frame).await, Flow::End) {
                        tracing::info!("[WS] the client left before the upstream answered; connect cancelled");
                        return None;
                    }
                }
            }
        }
    }

    /// The session is on `upstream` now: its place there, its name in the span and registry.
    pub(super) fn move_to(&mut self, upstream: &Arc<Upstream>) {
        self.on = Some(upstream.lease());
        self.memory
            .set_upstream_override(upstream.session_override().cloned());
        tracing::Span::current().record("upstream", upstream.name());
        self.live.set_upstream(upstream.name());
    }

    /// What routing knows of this session; `lost`: upstreams it is moving away from.
    pub(super) fn route_context(&self, lost: Vec<String>) -> RouteContext {
        RouteContext {
            kb_id: self.init.kb_id.clone(),
            client_path: self.init.path.clone(),
            client_name: self.init.client_name.as_deref().map(str::to_owned),
            lost,
        }
    }

    /// The upstream the session is on (the primary before the first connect).
    pub(super) fn current_upstream(&self) -> Arc<Upstream> {
        match &self.on {
            Some(lease) => lease.upstream().clone(),
            None => self.ctx.upstreams.primary().clone(),
        }
    }
}

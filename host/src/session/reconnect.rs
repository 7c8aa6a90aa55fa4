//! When the upstream drops: tell the client, reconnect through retry + breaker, restore the
//! conversation from `memory`, then forward what the client sent meanwhile, in order.

use super::events;
use super::{Flow, Reconnect, Session, link};
use crate::metrics::{Count, Fault};
use crate::upstream::UpstreamSocket;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as UpMessage;

impl Session {
    pub(super) async fn begin_reconnect(&mut self, why: &str) -> Reconnect {
        self.upstream = None;
        self.upstream_pong_due = None;
        let metrics = &self.gateway.metrics;
        tracing::warn!("[WS] Azure disconnected: {why}");
        metrics.fault(Fault::AzureDisconnected);
        if let Some(response) = self.active_response.take() {
            metrics.fault(Fault::UpstreamInterrupted);
            self.rounds.remove(&response);
            self.to_client_value(events::error(
                "upstream_interrupted",
                format!("The upstream connection dropped while response {response} was streaming; it will not complete. Send response.create to ask again."),
            ))
            .await;
        }
        if self.gateway.config.notify_reconnect {
            self.to_client_value(events::upstream_notice(
                "voxgate.upstream.reconnecting",
                json!({ "reason": why }),
            ))
            .await;
        }
        tracing::info!("[WS] Attempting to reconnect to Azure...");
        let gateway = self.gateway.clone();
        let flavour = self.init.flavour;
        Box::pin(async move { link::connect(&gateway, flavour).await })
    }

    pub(super) async fn on_reconnected(&mut self, socket: UpstreamSocket) -> Flow {
        tracing::info!("[WS] Reconnected to Azure");
        self.gateway.metrics.count(Count::AzureReconnections);
        self.upstream = Some(socket);
        let (restore, ids) = self.memory.restore_events();
        self.echo_ids = ids.into_iter().collect();
        self.echo_session_updated = true;
        let restored_items = self.echo_ids.len();
        for event in restore {
            if let flow @ Flow::Reconnect(_) =
                self.send_upstream(UpMessage::text(event.to_string())).await
            {
                return flow;
            }
        }
        let replayed = self.buffer.len();
        self.buffer_overflowed = false;
        while let Some(pending) = self.buffer.pop_front() {
            match self.forward_client(pending).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        if self.gateway.config.notify_reconnect {
            let notice = json!({ "restored_items": restored_items, "replayed_events": replayed });
            return self
                .to_client_value(events::upstream_notice(
                    "voxgate.upstream.reconnected",
                    notice,
                ))
                .await;
        }
        Flow::Continue
    }
}

//! When the upstream drops: tell the client, reconnect through the upstream's guard, restore
//! the conversation from `memory`, then forward what was held meanwhile, in order.

use super::events;
use super::{Flow, Reconnect, Session};
use crate::metrics::{Count, Fault};
use crate::upstream::UpstreamSocket;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tracing::Instrument;

impl Session {
    pub(super) async fn begin_reconnect(&mut self, why: &str) -> Reconnect {
        self.upstream = None;
        self.keepalive.upstream_lost();
        let metrics = &self.ctx.metrics;
        tracing::warn!("[WS] Azure disconnected: {why}");
        metrics.fault(Fault::UpstreamDisconnected);
        if let Some(response) = self.active_response.take() {
            metrics.fault(Fault::UpstreamInterrupted);
            self.rounds.abandon(&response);
            self.to_client_value(events::error(
                "upstream_interrupted",
                format!("The upstream connection dropped while response {response} was streaming; it will not complete. Send response.create to ask again."),
            ))
            .await;
        }
        if self.ctx.settings.notify_reconnect {
            self.to_client_value(events::upstream_notice(
                "voxgate.upstream.reconnecting",
                json!({ "reason": why }),
            ))
            .await;
        }
        tracing::info!("[WS] Attempting to reconnect to Azure...");
        let upstream = self.ctx.upstream.clone();
        let flavour = self.init.flavour;
        Box::pin(async move { upstream.connect(flavour).await }.in_current_span())
    }

    pub(super) async fn on_reconnected(&mut self, socket: UpstreamSocket) -> Flow {
        tracing::info!("[WS] Reconnected to Azure");
        self.ctx.metrics.count(Count::UpstreamReconnections);
        self.upstream = Some(socket);
        let (restore, ids) = self.memory.restore_events();
        let restored_items = ids.len();
        self.echo.expect(ids);
        for event in restore {
            if let flow @ Flow::Reconnect(_) =
                self.send_upstream(UpMessage::text(event.to_string())).await
            {
                return flow;
            }
        }
        let replayed = self.outage.len();
        self.outage.recovered();
        while let Some(pending) = self.outage.next() {
            match self.forward(pending).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        if self.ctx.settings.notify_reconnect {
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

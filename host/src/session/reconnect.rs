//! When the upstream drops: tell the client, reconnect through the upstream's guard, restore
//! the conversation from `memory`, then forward what was held meanwhile, in order.

use super::events;
use super::reconnects::Next;
use super::{Flow, Reconnect, Session};
use crate::metrics::{Count, Fault};
use crate::upstream::UpstreamSocket;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tracing::Instrument;

impl Session {
    /// The upstream dropped: start reconnecting, or — when every reconnect of this outage
    /// failed — tell the client and return `None` (the session ends).
    pub(super) async fn begin_reconnect(&mut self, why: &str) -> Option<Reconnect> {
        self.upstream = None;
        self.keepalive.upstream_lost();
        let metrics = &self.ctx.metrics;
        tracing::warn!("[WS] Azure disconnected: {why}");
        metrics.fault(Fault::UpstreamDisconnected);
        let (next, failed_restore) = self.reconnects.dropped();
        if failed_restore {
            // It accepted the connection, then failed before the conversation was back.
            self.ctx.upstream.record_failure();
        }
        let failed_before = match next {
            Next::Reconnect { failed_before } => failed_before,
            Next::GiveUp { attempts } => {
                self.give_up(&format!(
                    "it dropped {attempts} time(s) in a row before the conversation was restored ({why})"
                ))
                .await;
                return None;
            }
        };
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
        Some(Box::pin(
            async move { upstream.reconnect(flavour, failed_before).await }.in_current_span(),
        ))
    }

    pub(super) async fn on_reconnected(&mut self, socket: UpstreamSocket) -> Flow {
        tracing::info!("[WS] Reconnected to Azure");
        self.ctx.metrics.count(Count::UpstreamReconnections);
        self.upstream = Some(socket);
        self.reconnects.reconnected();
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

//! When the upstream drops: tell the client, reconnect through the upstream's guard — or, when
//! it cannot be reconnected (its retries exhausted, its breaker open, or it keeps dropping
//! before the restore), move to the next upstream of the pool (failover) — restore the
//! conversation from `memory`, replay what the old upstream never acknowledged (the journal),
//! then forward what was held meanwhile — in order, each exactly once.

use super::events;
use super::journal::{Journal, Replay};
use super::reconnects::Next;
use super::{Flow, Reconnect, Session};
use crate::metrics::{Count, Fault};
use crate::upstream::Connected;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tracing::Instrument;

/// Why a new upstream session is being restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// The old one dropped.
    Reconnect,
    /// The old one reached its age (`UPSTREAM_SESSION_MAX_AGE`) or expired (`session_expired`).
    Rotation,
}

impl Session {
    /// The upstream dropped: start reconnecting, or — when every reconnect of this outage
    /// failed — tell the client and return `None` (the session ends).
    pub(super) async fn begin_reconnect(&mut self, why: &str) -> Option<Reconnect> {
        if let Some(mut lost) = self.upstream.take() {
            self.hold_unsent(lost.unsent());
        }
        self.keepalive.upstream_lost();
        let metrics = &self.ctx.metrics;
        tracing::warn!("[WS] Azure disconnected: {why}");
        metrics.fault(Fault::UpstreamDisconnected);
        let (next, failed_restore) = self.reconnects.dropped();
        let current = self.current_upstream();
        if failed_restore {
            // It accepted the connection, then failed before the conversation was back.
            current.record_failure();
        }
        let failed_before = match next {
            Next::Reconnect { failed_before } => Some(failed_before),
            Next::GiveUp { attempts } => {
                // This upstream keeps failing before the restore: another may take the session.
                self.abandoned.push(current.name().to_string());
                if self.ctx.upstreams.order(&self.abandoned).is_empty() {
                    self.give_up(&format!(
                        "it dropped {attempts} time(s) in a row before the conversation was restored ({why})"
                    ))
                    .await;
                    return None;
                }
                self.reconnects.fresh_upstream();
                None
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
        if self.ctx.settings.notify_reconnect && !self.expiring {
            self.to_client_value(events::upstream_notice(
                "voxgate.upstream.reconnecting",
                json!({ "reason": why }),
            ))
            .await;
        }
        self.tell_operators("upstream.reconnecting", json!({ "reason": why }));
        tracing::info!("[WS] Attempting to reconnect to Azure...");
        let pool = self.ctx.upstreams.clone();
        let flavour = self.init.flavour;
        let mut route = self.route_context(self.abandoned.clone());
        Some(Box::pin(
            async move {
                if let Some(failed_before) = failed_before {
                    match current.reconnect(flavour, failed_before).await {
                        Some(Ok(socket)) => return Some(Ok((current, socket))),
                        lost if pool.members().len() == 1 => {
                            return lost.map(|result| result.map(|socket| (current, socket)));
                        }
                        _ => route.lost.push(current.name().to_string()),
                    }
                }
                // Fail over: the next upstream in the pool's order that answers.
                Some(pool.connect(flavour, &route).await)
            }
            .in_current_span(),
        ))
    }

    /// Frames the lost upstream may never have received: journaled events are replayed from
    /// the journal and appended audio is restored from memory; anything else goes out again
    /// first when the upstream is back.
    fn hold_unsent(&mut self, unsent: Vec<UpMessage>) {
        for frame in unsent.into_iter().rev() {
            let kind = match &frame {
                UpMessage::Text(text) => serde_json::from_str::<EventType>(text)
                    .map(|event| event.kind)
                    .unwrap_or_default(),
                _ => String::new(),
            };
            if Journal::tracks(&kind) || kind == "input_audio_buffer.append" {
                continue;
            }
            self.outage.retry_first(frame);
        }
    }

    pub(super) async fn on_reconnected(&mut self, connected: Connected) -> Flow {
        let why = if std::mem::take(&mut self.expiring) {
            self.ctx.metrics.count(Count::UpstreamRotations);
            Why::Rotation
        } else {
            tracing::info!("[WS] Reconnected to Azure");
            self.ctx.metrics.count(Count::UpstreamReconnections);
            self.live
                .reconnects
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Why::Reconnect
        };
        self.restore_into(connected, why).await
    }

    /// A new upstream session (after a drop, or a rotation) gets the conversation: restore,
    /// replay, then what was held; the client is told what happened.
    pub(super) async fn restore_into(&mut self, (upstream, socket): Connected, why: Why) -> Flow {
        let from = self.current_upstream();
        let failover = from.name() != upstream.name();
        if failover {
            tracing::warn!(
                "[UPSTREAM] session moved from {} to {} (failover)",
                from.name(),
                upstream.name()
            );
            self.ctx.metrics.failover(from.name(), upstream.name());
            self.live
                .failovers
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.move_to(&upstream);
        }
        self.attach(socket);
        self.reconnects.reconnected();
        let (restore, ids) = self.memory.restore_events();
        let restored_items = ids.len();
        // The oldest items forgotten over RESTORE_MAX_BYTES: the client is told, never surprised.
        let dropped_items = self.memory.take_forgotten();
        if dropped_items > 0 {
            tracing::warn!(
                "[WS] restoring without the {dropped_items} oldest item(s) (RESTORE_MAX_BYTES)"
            );
        }
        self.echo.expect(ids);
        for event in restore {
            if let flow @ Flow::Reconnect(_) =
                self.send_upstream(UpMessage::text(event.to_string()))
            {
                return flow;
            }
        }
        // What the old upstream never acknowledged, in order (a commit after its audio), then
        // the audio appended since the last commit, then what was held meanwhile.
        let unacknowledged = self.journal.take_for_replay();
        let replayed = unacknowledged.len() + self.outage.len();
        for Replay { kind, text, before } in unacknowledged {
            for frame in &before {
                if let flow @ Flow::Reconnect(_) =
                    self.send_upstream(UpMessage::text(frame.as_str()))
                {
                    return flow;
                }
            }
            let event = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
            self.journal.record_after(&kind, &event, &text, before);
            if let flow @ Flow::Reconnect(_) = self.send_upstream(UpMessage::text(text)) {
                return flow;
            }
        }
        for frame in self.memory.pending_audio() {
            if let flow @ Flow::Reconnect(_) = self.send_upstream(UpMessage::Text(frame)) {
                return flow;
            }
        }
        self.outage.recovered();
        while let Some(pending) = self.outage.next() {
            match self.forward(pending).await {
                Flow::Continue => {}
                other => return other,
            }
        }
        let mut notice = json!({
            "restored_items": restored_items,
            "replayed_events": replayed,
            "dropped_items": dropped_items,
        });
        let kind = if failover {
            notice["from"] = json!(from.name());
            notice["to"] = json!(upstream.name());
            "failover"
        } else if why == Why::Rotation {
            "rotated"
        } else {
            "reconnected"
        };
        self.tell_operators(&format!("upstream.{kind}"), notice.clone());
        // A failover is always told: the conversation now runs somewhere else.
        if self.ctx.settings.notify_reconnect || failover {
            return self
                .to_client_value(events::upstream_notice(
                    &format!("voxgate.upstream.{kind}"),
                    notice,
                ))
                .await;
        }
        Flow::Continue
    }
}

/// Only the `type` of an event, read without building the rest.
#[derive(serde::Deserialize)]
struct EventType {
    #[serde(rename = "type", default)]
    kind: String,
}

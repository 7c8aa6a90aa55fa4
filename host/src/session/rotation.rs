//! Upstream session rotation. Realtime upstreams end every session at a maximum age
//! (`session_expired`); a call that outlives it should never notice. After
//! `UPSTREAM_SESSION_MAX_AGE` the session waits for its first quiet moment (looked for after
//! every event) — no response in
//! progress, nothing unacknowledged, no audio appended for [`QUIET_AUDIO`] — opens a new upstream
//! session (make-before-break: the old one serves until the new one is connected), restores the
//! conversation into it, switches over and only then closes the old one. A `session_expired`
//! that comes first is handled the same way, from the reconnect path.

use super::{Flow, Reconnect, Session};
use crate::metrics::Count;
use crate::upstream::{Connected, LinkError};
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// Audio appended this recently means the user is speaking: not a quiet moment.
pub const QUIET_AUDIO: Duration = Duration::from_secs(1);
/// After a failed rotation connect, when to try again (the old session still serves).
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// When the current upstream session should be rotated.
#[derive(Debug)]
pub struct RotationClock {
    max_age: Option<Duration>,
    /// When the timer fires next (the age, the end of speech, a retry after a failure).
    next: Option<Instant>,
    /// Past its age: rotate at the first quiet moment.
    overdue: bool,
    last_audio: Option<Instant>,
}

impl RotationClock {
    /// `max_age` zero: never rotate.
    pub fn new(max_age: Duration) -> RotationClock {
        RotationClock {
            max_age: (!max_age.is_zero()).then_some(max_age),
            next: None,
            overdue: false,
            last_audio: None,
        }
    }

    /// A new upstream session started now.
    pub fn started(&mut self) {
        self.overdue = false;
        self.next = self.max_age.map(|age| Instant::now() + age);
    }

    /// The client appended audio now.
    pub fn audio(&mut self) {
        self.last_audio = Some(Instant::now());
    }

    /// Whether the user spoke within [`QUIET_AUDIO`].
    pub fn speaking(&self) -> bool {
        self.last_audio
            .is_some_and(|at| Instant::now() < at + QUIET_AUDIO)
    }

    /// When the timer fires (`None`: not armed).
    pub fn due(&self) -> Option<Instant> {
        self.next
    }

    /// The timer fired: the session is due for rotation from now on.
    pub fn fire(&mut self) {
        self.overdue = true;
        self.next = None;
    }

    /// Whether to rotate now: overdue, and a quiet moment (`busy`: a response in progress or
    /// events unacknowledged; looked at again after the next event). While the user speaks,
    /// the timer is set for the end of their speech.
    pub fn is_quiet(&mut self, busy: bool) -> bool {
        if !self.overdue {
            return false;
        }
        let now = Instant::now();
        if let Some(at) = self.last_audio
            && now < at + QUIET_AUDIO
        {
            self.next = Some(at + QUIET_AUDIO);
            return false;
        }
        if busy {
            return false;
        }
        self.overdue = false;
        self.next = None;
        true
    }

    /// The rotation connect failed (or came back to a busy conversation): try again later.
    pub fn failed(&mut self) {
        self.overdue = false;
        self.next = Some(Instant::now() + RETRY_AFTER);
    }
}

impl Session {
    /// Whether something is in flight that a new upstream session would miss.
    fn busy(&self) -> bool {
        self.active_response.is_some()
            || self.journal.len() > 0
            || self.reconnects.restoring()
            || self.outage.len() > 0
    }

    /// The rotation clock fired: at a quiet moment, start connecting a new upstream session
    /// on the same upstream (the current one keeps serving meanwhile).
    pub(super) fn begin_rotation(&mut self) -> Option<Reconnect> {
        // A new upstream session already connected waits for the conversation to be quiet.
        if let Some((connected, since)) = self.standby.take() {
            if since.elapsed() > RETRY_AFTER {
                tracing::info!(
                    "[UPSTREAM] rotation given up for now: the conversation stayed busy"
                );
                self.rotation.failed();
                return None;
            }
            if self.busy() || self.rotation.speaking() {
                self.standby = Some((connected, since));
                return None;
            }
            return Some(Box::pin(async move { Some(Ok(connected)) }));
        }
        if !self.rotation.is_quiet(self.busy()) {
            return None;
        }
        tracing::info!("[UPSTREAM] rotating the upstream session (UPSTREAM_SESSION_MAX_AGE)");
        let upstream = self.current_upstream();
        let flavour = self.init.flavour;
        Some(Box::pin(
            async move {
                let connected: Result<Connected, LinkError> =
                    upstream.connect(flavour).await.map(|s| (upstream, s));
                Some(connected)
            }
            .in_current_span(),
        ))
    }

    /// The new upstream session is connected: switch to it if still quiet (restoring the
    /// conversation into it), then close the old one.
    pub(super) async fn on_rotation_connected(
        &mut self,
        connected: Result<Connected, LinkError>,
    ) -> Flow {
        let connected = match connected {
            Ok(connected) if !self.busy() && !self.rotation.speaking() => connected,
            Ok(connected) => {
                // Busy again: switch at the next quiet moment.
                self.standby = Some((connected, Instant::now()));
                return Flow::Continue;
            }
            Err(error) => {
                tracing::warn!(
                    "[UPSTREAM] rotation failed, the current upstream session serves on: {error}"
                );
                self.rotation.failed();
                return Flow::Continue;
            }
        };
        if let Some(old) = self.upstream.take() {
            let wait = self.ctx.settings.send_timeout * 2;
            tokio::spawn(
                async move {
                    let _ = tokio::time::timeout(wait, old.close()).await;
                }
                .in_current_span(),
            );
        }
        self.ctx.metrics.count(Count::UpstreamRotations);
        self.restore_into(connected, super::reconnect::Why::Rotation)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_age_then_for_quiet() {
        let mut clock = RotationClock::new(Duration::from_secs(60));
        clock.started();
        let start = Instant::now();
        assert_eq!(clock.due(), Some(start + Duration::from_secs(60)));
        assert!(!clock.is_quiet(false), "not yet due");
        tokio::time::advance(Duration::from_secs(60)).await;
        clock.fire();
        clock.audio();
        assert!(!clock.is_quiet(false), "the user is speaking");
        assert_eq!(clock.due(), Some(Instant::now() + QUIET_AUDIO));
        tokio::time::advance(QUIET_AUDIO).await;
        clock.fire();
        assert!(!clock.is_quiet(true), "a response is streaming");
        assert!(clock.is_quiet(false), "the next quiet moment");
        assert_eq!(clock.due(), None, "once per upstream session");
        assert!(!clock.is_quiet(false));
        clock.failed();
        assert_eq!(clock.due(), Some(Instant::now() + RETRY_AFTER));
        clock.started();
        assert_eq!(clock.due(), Some(Instant::now() + Duration::from_secs(60)));
    }

    #[test]
    fn zero_is_off() {
        let mut clock = RotationClock::new(Duration::ZERO);
        clock.started();
        assert_eq!(clock.due(), None);
    }
}

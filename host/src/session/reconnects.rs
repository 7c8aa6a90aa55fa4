//! The reconnect budget of one outage. A reconnect counts as done only once the new upstream
//! session has confirmed the restore (its `session.updated` and every re-created item echoed);
//! an upstream that accepts the connection and then drops it before that is a failed attempt.
//! Failed attempts of one outage are bounded by `MAX_RETRY_ATTEMPTS` and spaced by the backoff
//! policy, so an upstream that fails right after every connect can never cause a storm.

/// What to do after the upstream dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Reconnect; `failed_before` reconnects of this outage already failed (wait first if > 0).
    Reconnect { failed_before: u32 },
    /// Every attempt of this outage failed: tell the client and close.
    GiveUp { attempts: u32 },
}

#[derive(Debug)]
pub struct ReconnectBudget {
    max_attempts: u32,
    failed: u32,
    restoring: bool,
}

impl ReconnectBudget {
    pub fn new(max_attempts: u32) -> ReconnectBudget {
        ReconnectBudget {
            max_attempts: max_attempts.max(1),
            failed: 0,
            restoring: false,
        }
    }

    /// The upstream dropped. Whether it dropped before confirming a restore (a failed
    /// reconnect) is in `failed_restore`.
    pub fn dropped(&mut self) -> (Next, bool) {
        let failed_restore = std::mem::replace(&mut self.restoring, false);
        if failed_restore {
            self.failed += 1;
        }
        let next = if self.failed >= self.max_attempts {
            Next::GiveUp {
                attempts: self.failed,
            }
        } else {
            Next::Reconnect {
                failed_before: self.failed,
            }
        };
        (next, failed_restore)
    }

    /// A new upstream session is open; the restore is on its way.
    pub fn reconnected(&mut self) {
        self.restoring = true;
    }

    /// Whether a restore is waiting for its confirmation.
    pub fn restoring(&self) -> bool {
        self.restoring
    }

    /// The session moves to another upstream: its attempts start again.
    pub fn fresh_upstream(&mut self) {
        self.failed = 0;
        self.restoring = false;
    }

    /// The new upstream session confirmed the restore: the outage is over.
    pub fn restored(&mut self) {
        self.restoring = false;
        self.failed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_before_the_restore_is_confirmed_are_bounded() {
        let mut budget = ReconnectBudget::new(3);
        assert_eq!(
            budget.dropped(),
            (Next::Reconnect { failed_before: 0 }, false)
        );
        for failed in 1..3 {
            budget.reconnected();
            assert_eq!(
                budget.dropped(),
                (
                    Next::Reconnect {
                        failed_before: failed
                    },
                    true
                )
            );
        }
        budget.reconnected();
        assert_eq!(budget.dropped(), (Next::GiveUp { attempts: 3 }, true));
    }

    #[test]
    fn a_confirmed_restore_ends_the_outage() {
        let mut budget = ReconnectBudget::new(2);
        budget.dropped();
        budget.reconnected();
        assert!(budget.restoring());
        budget.restored();
        assert!(!budget.restoring());
        assert_eq!(
            budget.dropped(),
            (Next::Reconnect { failed_before: 0 }, false)
        );
        budget.reconnected();
        budget.restored();
        assert_eq!(
            budget.dropped(),
            (Next::Reconnect { failed_before: 0 }, false),
            "each outage has its own budget"
        );
    }
}

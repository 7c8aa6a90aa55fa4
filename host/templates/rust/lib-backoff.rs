//! A backoff policy: exponential with full jitter; gives up at once on a client error (4xx
//! other than 408 and 429), which no retry will fix.

/// What the policy decides: `Some(delay in ms)` to retry, `None` to give up.
pub mod policy {
    pub fn next_delay(attempt: u32, base_ms: u64, max_ms: u64, http_status: Option<u16>, random: u64) -> Option<u64> {
        if let Some(status) = http_status
            && (400..500).contains(&status)
            && status != 408
            && status != 429
        {
            return None;
        }
        let ceiling = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(32)).min(max_ms);
        Some(random % (ceiling + 1))
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "wit" });
    use exports::voxgate::plugins::backoff::{Decision, ErrorClass, Guest, RetryContext};

    struct Policy;

    impl Guest for Policy {
        fn next_delay(ctx: RetryContext) -> Decision {
            let status = match ctx.error {
                ErrorClass::HttpStatus(status) => Some(status),
                _ => None,
            };
            match super::policy::next_delay(ctx.attempt, ctx.base_delay_ms, ctx.max_delay_ms, status, ctx.random) {
                Some(ms) => Decision::RetryAfterMs(ms),
                None => Decision::GiveUp,
            }
        }
    }

    export!(Policy);
}

#[cfg(test)]
mod tests {
    use super::policy::next_delay;

    #[test]
    fn delays_stay_within_the_exponential_ceiling_and_max() {
        for attempt in 1..=12 {
            for random in [0, 1, 999, u64::MAX] {
                let delay = next_delay(attempt, 100, 5_000, None, random).unwrap();
                assert!(delay <= (100u64 << (attempt - 1)).min(5_000));
            }
        }
    }

    #[test]
    fn client_errors_give_up_but_throttling_retries() {
        assert_eq!(next_delay(1, 100, 5_000, Some(401), 7), None);
        assert!(next_delay(1, 100, 5_000, Some(429), 7).is_some());
        assert!(next_delay(1, 100, 5_000, Some(503), 7).is_some());
    }
}

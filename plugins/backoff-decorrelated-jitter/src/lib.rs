//! AWS's "decorrelated jitter" backoff (`backoff.wasm` alternative).
//!
//! `sleep = min(cap, random_between(base, previous · 3))`, with `previous = base` before the
//! first retry. Spreads retries of many clients that failed together, while still growing.
//! The randomness comes from the host (`retry-context.random`), so the policy is a pure function.

/// The delay in milliseconds, given the previous delay and a random number.
pub fn delay_ms(previous_ms: u64, base_ms: u64, cap_ms: u64, random: u64) -> u64 {
    let previous = previous_ms.max(base_ms);
    let high = previous.saturating_mul(3).max(base_ms);
    let span = high - base_ms;
    let pick = if span == 0 {
        base_ms
    } else {
        base_ms + random % (span + 1)
    };
    pick.min(cap_ms)
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../wit" });

    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};

    struct DecorrelatedJitter;

    impl Guest for DecorrelatedJitter {
        fn next_delay(ctx: RetryContext) -> Decision {
            Decision::RetryAfterMs(super::delay_ms(
                ctx.previous_delay_ms,
                ctx.base_delay_ms,
                ctx.max_delay_ms,
                ctx.random,
            ))
        }
    }

    export!(DecorrelatedJitter);
}

#[cfg(test)]
mod tests {
    use super::delay_ms;

    #[test]
    fn stays_between_base_and_three_times_previous() {
        for random in [0u64, 1, 7, 999, 123_456_789, u64::MAX] {
            let d = delay_ms(2000, 1000, 60_000, random);
            assert!((1000..=6000).contains(&d), "{d}");
        }
    }

    #[test]
    fn first_retry_uses_base_as_previous() {
        assert_eq!(delay_ms(0, 1000, 10_000, 0), 1000);
        assert_eq!(delay_ms(0, 1000, 10_000, 2000), 3000);
    }

    #[test]
    fn capped() {
        assert_eq!(delay_ms(9000, 1000, 10_000, 26_000), 10_000);
        for random in 0..1000 {
            assert!(delay_ms(50_000, 1000, 10_000, random * 7919) <= 10_000);
        }
    }

    #[test]
    fn degenerate_inputs_do_not_overflow() {
        assert_eq!(delay_ms(u64::MAX, u64::MAX, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(delay_ms(0, 0, 10, 5), 0);
    }
}

//! The default backoff policy (`backoff.wasm`): the seed's exponential doubling.
//!
//! The delay before retry *n* (after failed attempt *n*, counting from 1) is
//! `base · 2ⁿ⁻¹`, capped at the maximum: 1 s, 2 s, 4 s … 10 s with the defaults.
//! It never gives up on its own: the host stops at `MAX_RETRY_ATTEMPTS`.

/// The delay in milliseconds after failed attempt `attempt` (1-based).
pub fn delay_ms(attempt: u32, base_ms: u64, max_ms: u64) -> u64 {
    let exponent = attempt.saturating_sub(1).min(63);
    base_ms.saturating_mul(1u64 << exponent).min(max_ms)
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "backoff-policy", path: "../../wit" });

    use exports::voxgate::plugins::backoff::{Decision, Guest, RetryContext};

    struct Exponential;

    impl Guest for Exponential {
        fn next_delay(ctx: RetryContext) -> Decision {
            Decision::RetryAfterMs(super::delay_ms(
                ctx.attempt,
                ctx.base_delay_ms,
                ctx.max_delay_ms,
            ))
        }
    }

    export!(Exponential);
}

#[cfg(test)]
mod tests {
    use super::delay_ms;

    #[test]
    fn doubles_from_the_base() {
        let delays: Vec<u64> = (1..=5).map(|n| delay_ms(n, 1000, 10_000)).collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000, 10_000]);
    }

    #[test]
    fn capped_and_never_overflows() {
        assert_eq!(delay_ms(64, 1000, 10_000), 10_000);
        assert_eq!(delay_ms(u32::MAX, u64::MAX, 5), 5);
        assert_eq!(
            delay_ms(0, 500, 10_000),
            500,
            "attempt 0 is treated as the first"
        );
    }

    #[test]
    fn zero_base_means_no_wait() {
        assert_eq!(delay_ms(3, 0, 10_000), 0);
    }
}

//! Backoff probes: over random contexts every decision is a finite delay within
//! `[0, max-delay]` or `give-up`, and never a fault; whole retry sequences through the host's
//! retry executor (on a paused clock) stop exactly where the policy gave up, never after
//! `max-attempts`, and wait exactly the delays it chose.

use super::{Options, Probe, Rng};
use crate::plugins::backoff::{Backoff, decide};
use crate::plugins::slot::Slot;
use crate::resilience::backoff::DecisionFuture;
use crate::resilience::{
    BackoffPolicy, BreakerSettings, CircuitBreaker, Decision, ErrorClass, Operation, RetryContext,
    RetrySettings, retry,
};
use std::sync::Mutex;
use std::time::Duration;

const WITHIN_BOUNDS: &str = "every decision is retry-after within [0, max-delay] or give-up";
const ANSWERS: &str = "every call answers (no trap, deadline or memory fault)";
const GIVE_UP: &str = "a retry sequence stops at the policy's give-up, never after max-attempts";
const WAITS: &str = "a retry sequence waits exactly the delays the policy chose";

fn random_context(rng: &mut Rng) -> RetryContext {
    let max_attempts = rng.between(1, 12) as u32;
    // Every order of magnitude as often: tiny delays catch policies that ignore max-delay.
    let scale = |rng: &mut Rng| 10u64.pow(rng.between(0, 5) as u32);
    let (base_scale, max_scale) = (scale(rng), scale(rng));
    let base = rng.between(0, base_scale);
    let max = base + rng.between(0, max_scale);
    let error = match rng.between(0, 5) {
        0 => ErrorClass::Timeout,
        1 => ErrorClass::Refused,
        2 => ErrorClass::HttpStatus(*rng.pick(&[408, 429, 500, 502, 503, 504])),
        3 => ErrorClass::HttpStatus(rng.between(100, 599) as u16),
        4 => ErrorClass::Closed,
        _ => ErrorClass::Other,
    };
    RetryContext {
        operation: *rng.pick(&[Operation::UpstreamConnect, Operation::RagSearch]),
        attempt: rng.between(1, max_attempts as u64) as u32,
        max_attempts,
        base_delay: Duration::from_millis(base),
        max_delay: Duration::from_millis(max),
        previous_delay: Duration::from_millis(rng.between(0, max)),
        elapsed: Duration::from_millis(rng.between(0, 600_000)),
        error,
        random: rng.next(),
    }
}

pub(super) fn probe(
    slot: &Slot<Backoff>,
    options: Options,
    probe: &mut Probe,
    runtime: &tokio::runtime::Runtime,
) {
    let mut rng = Rng(options.seed);
    runtime.block_on(decisions(slot, options, &mut rng, probe));
    // Whole sequences are slower (one runtime each): a tenth as many, at least 10.
    for _ in 0..(options.runs / 10).max(10) {
        sequence(slot, &mut rng, probe);
    }
}

/// Single decisions over random contexts.
async fn decisions(slot: &Slot<Backoff>, options: Options, rng: &mut Rng, probe: &mut Probe) {
    let mut deterministic = (0u64, 0u64);
    for _ in 0..options.runs {
        let ctx = random_context(rng);
        match probe.timed(decide(slot, &ctx)).await {
            Ok(decision) => {
                probe.check(ANSWERS, None);
                let out_of_bounds =
                    matches!(decision, Decision::RetryAfter(d) if d > ctx.max_delay);
                probe.check(
                    WITHIN_BOUNDS,
                    out_of_bounds.then(|| format!("{decision:?} for {ctx:?}")),
                );
                let again = probe.timed(decide(slot, &ctx)).await;
                deterministic.0 += 1;
                deterministic.1 += u64::from(again == Ok(decision));
            }
            Err(fault) => probe.check(ANSWERS, Some(format!("{fault} for {ctx:?}"))),
        }
    }
    probe.observe(format!(
        "same context (random fixed) → same decision in {}/{} pairs",
        deterministic.1, deterministic.0
    ));
}

/// The policy as the retry executor sees it, recording every decision (made on a runtime
/// of its own, so the executor's paused clock never advances while the plugin runs).
struct Recording<'a> {
    slot: &'a Slot<Backoff>,
    decisions: Mutex<Vec<Result<Decision, String>>>,
}

impl BackoffPolicy for Recording<'_> {
    fn next_delay<'a>(&'a self, ctx: &'a RetryContext) -> DecisionFuture<'a> {
        let answer = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let quiet = tracing::subscriber::NoSubscriber::default();
                    tracing::subscriber::with_default(quiet, || {
                        crate::plugins::run_to_completion(decide(self.slot, ctx))
                    })
                })
                .join()
        });
        let decision = match answer {
            Ok(Ok(Ok(decision))) => Ok(decision),
            Ok(Ok(Err(fault))) => Err(fault.to_string()),
            Ok(Err(e)) => Err(format!("cannot run the call: {e}")),
            Err(_) => Err("the call panicked".to_string()),
        };
        self.decisions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(decision.clone());
        Box::pin(async move { decision.unwrap_or(Decision::GiveUp) })
    }
}

/// One retry sequence of an always-failing operation through `retry::run` on a paused clock.
fn sequence(slot: &Slot<Backoff>, rng: &mut Rng, probe: &mut Probe) {
    let ctx = random_context(rng);
    let Ok(settings) = RetrySettings::new(ctx.max_attempts, ctx.base_delay, ctx.max_delay) else {
        return;
    };
    let Ok(breaker) = BreakerSettings::new(u32::MAX, Duration::from_secs(1), 1, 1) else {
        return;
    };
    let breaker = CircuitBreaker::new("plugin-test", breaker, None);
    // A transient class, so only the policy and max-attempts end the sequence.
    let class = *rng.pick(&[ErrorClass::Timeout, ErrorClass::Refused, ErrorClass::Closed]);
    let policy = Recording {
        slot,
        decisions: Mutex::new(Vec::new()),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    else {
        return;
    };
    let (attempts, waited) = runtime.block_on(async {
        let started = tokio::time::Instant::now();
        let mut attempts = 0u32;
        let _ = retry::run(
            ctx.operation,
            &settings,
            &policy,
            &breaker,
            |_: &String| class,
            |_| {
                attempts += 1;
                async { Err::<(), String>("probe failure".to_string()) }
            },
        )
        .await;
        (attempts, started.elapsed())
    });
    let decisions = policy
        .decisions
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(fault) = decisions.iter().find_map(|d| d.as_ref().err()) {
        return probe.check(ANSWERS, Some(format!("{fault} in a retry sequence")));
    }
    let decisions: Vec<Decision> = decisions.into_iter().flatten().collect();
    let expected_attempts = match decisions.iter().position(|d| *d == Decision::GiveUp) {
        Some(gave_up) => gave_up as u32 + 1,
        None => settings.max_attempts(),
    };
    probe.check(
        GIVE_UP,
        (attempts != expected_attempts || attempts > settings.max_attempts()).then(|| {
            format!(
                "{attempts} attempts, expected {expected_attempts} (max {}), decisions {decisions:?}",
                settings.max_attempts()
            )
        }),
    );
    let chosen: Duration = decisions
        .iter()
        .map(|d| match d {
            Decision::RetryAfter(delay) => (*delay).min(settings.max_delay()),
            Decision::GiveUp => Duration::ZERO,
        })
        .sum();
    probe.check(
        WAITS,
        (waited.abs_diff(chosen) > Duration::from_millis(1))
            .then(|| format!("waited {waited:?}, the policy chose {chosen:?} in all")),
    );
}

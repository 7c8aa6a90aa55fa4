//! The `backoff-policy` world on the host side: bindings, the slot kind, and the
//! `BackoffPolicy` the retry executor uses. A decision runs on the async runtime (the guest
//! yields at every epoch tick), under the slot's deadline. A plugin fault (trap, deadline,
//! memory, busy) falls back to the built-in exponential policy for that decision, and is counted.

use super::sandbox::HostState;
use super::slot::{CallFault, Kind, Slot};
use crate::resilience::backoff::DecisionFuture;
use crate::resilience::{
    BackoffPolicy, Decision, ErrorClass, Exponential, Operation, RetryContext,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        world: "backoff-policy",
        path: "../wit",
        with: { "voxgate:plugins/log": crate::plugins::imports::log },
        exports: { default: async },
    });
}

use bindings::exports::voxgate::plugins::backoff as wit;

/// The backoff slot's kind.
pub struct Backoff;

impl Kind for Backoff {
    const SLOT: &'static str = "backoff";
    const WORLD: &'static str = "backoff-policy";
    type Pre = bindings::BackoffPolicyPre<HostState>;
    type Bindings = bindings::BackoffPolicy;
    type Input = wit::RetryContext;
    type Output = wit::Decision;

    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::BackoffPolicy::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
            .map_err(Into::into)
    }

    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre> {
        bindings::BackoffPolicyPre::new(pre).map_err(Into::into)
    }

    fn instantiate<'a>(
        pre: &'a Self::Pre,
        store: &'a mut Store<HostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bindings>> + Send + 'a {
        pre.instantiate_async(store)
    }

    fn invoke<'a>(
        bindings: &'a Self::Bindings,
        store: &'a mut Store<HostState>,
        input: Self::Input,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send + 'a {
        bindings
            .voxgate_plugins_backoff()
            .call_next_delay(store, input)
    }

    fn smoke_input() -> Self::Input {
        to_wit(&probe_context(1, ErrorClass::Refused))
    }
}

/// A context for probes (smoke calls, `plugin check`): the seed's defaults.
pub fn probe_context(attempt: u32, error: ErrorClass) -> RetryContext {
    RetryContext {
        operation: Operation::UpstreamConnect,
        attempt,
        max_attempts: 3,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        previous_delay: Duration::ZERO,
        elapsed: Duration::ZERO,
        error,
        random: 0x5eed,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn to_wit(ctx: &RetryContext) -> wit::RetryContext {
    wit::RetryContext {
        operation: match ctx.operation {
            Operation::UpstreamConnect => wit::Operation::UpstreamConnect,
            Operation::RagSearch => wit::Operation::RagSearch,
        },
        attempt: ctx.attempt,
        max_attempts: ctx.max_attempts,
        base_delay_ms: millis(ctx.base_delay),
        max_delay_ms: millis(ctx.max_delay),
        previous_delay_ms: millis(ctx.previous_delay),
        elapsed_ms: millis(ctx.elapsed),
        error: match ctx.error {
            ErrorClass::Timeout => wit::ErrorClass::Timeout,
            ErrorClass::Refused => wit::ErrorClass::Refused,
            ErrorClass::HttpStatus(status) => wit::ErrorClass::HttpStatus(status),
            ErrorClass::Closed => wit::ErrorClass::Closed,
            ErrorClass::Other => wit::ErrorClass::Other,
        },
        random: ctx.random,
    }
}

/// One decision from the plugin.
pub async fn decide(slot: &Slot<Backoff>, ctx: &RetryContext) -> Result<Decision, CallFault> {
    slot.call(to_wit(ctx)).await.map(from_wit)
}

/// The same decision on a fresh instance (benchmarks: the cost of not reusing instances).
pub async fn decide_fresh(slot: &Slot<Backoff>, ctx: &RetryContext) -> Result<Decision, CallFault> {
    slot.call_fresh(to_wit(ctx)).await.map(from_wit)
}

fn from_wit(decision: wit::Decision) -> Decision {
    match decision {
        wit::Decision::RetryAfterMs(ms) => Decision::RetryAfter(Duration::from_millis(ms)),
        wit::Decision::GiveUp => Decision::GiveUp,
    }
}

/// The retry executor's policy backed by the backoff slot.
pub struct PluginPolicy {
    pub slot: Arc<Slot<Backoff>>,
}

impl BackoffPolicy for PluginPolicy {
    fn next_delay<'a>(&'a self, ctx: &'a RetryContext) -> DecisionFuture<'a> {
        Box::pin(async move {
            match decide(&self.slot, ctx).await {
                Ok(decision) => decision,
                Err(fault) => {
                    tracing::warn!(
                        "[PLUGIN backoff] {fault}; using the built-in exponential policy"
                    );
                    Decision::RetryAfter(Exponential::delay(ctx))
                }
            }
        })
    }
}

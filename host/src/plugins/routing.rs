//! The `routing-policy` world on the host side: bindings, the slot kind, and the [`Router`]
//! the upstream pool consults. `routing.wasm` is optional: without it (or when a call faults)
//! the pool's default order is used. The pool, not the plugin, has the last word: it never
//! tries an upstream whose breaker is open or that is full, whatever the plugin answers.

use super::sandbox::HostState;
use super::slot::{CallFault, Kind, Slot};
use crate::resilience::BreakerState;
use crate::upstream::{Candidate, RouteContext, Router, RouterFuture};
use std::future::Future;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        world: "routing-policy",
        path: "../wit",
        with: { "voxgate:plugins/log": crate::plugins::imports::log },
        exports: { default: async },
    });
}

use bindings::exports::voxgate::plugins::routing as wit;

/// The routing slot's kind.
pub struct Routing;

impl Kind for Routing {
    const SLOT: &'static str = "routing";
    const WORLD: &'static str = "routing-policy";
    type Pre = bindings::RoutingPolicyPre<HostState>;
    type Bindings = bindings::RoutingPolicy;
    type Input = (Vec<wit::Candidate>, wit::SessionContext);
    type Output = Vec<String>;

    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::RoutingPolicy::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
            .map_err(Into::into)
    }

    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre> {
        bindings::RoutingPolicyPre::new(pre).map_err(Into::into)
    }

    fn instantiate<'a>(
        pre: &'a Self::Pre,
        store: &'a mut Store<HostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bindings>> + Send + 'a {
        pre.instantiate_async(store)
    }

    async fn invoke(
        bindings: &Self::Bindings,
        store: &mut Store<HostState>,
        (candidates, ctx): Self::Input,
    ) -> wasmtime::Result<Self::Output> {
        bindings
            .voxgate_plugins_routing()
            .call_order(store, &candidates, &ctx)
            .await
    }

    fn smoke_input() -> Self::Input {
        let candidate = |name: &str, priority| Candidate {
            name: name.into(),
            breaker: BreakerState::Closed,
            priority,
            weight: 1,
            active_sessions: 0,
            max_sessions: 0,
            connect_latency_ms: 0,
            error_rate: 0.0,
            tags: Vec::new(),
        };
        let ctx = RouteContext {
            kb_id: SMOKE_KB.into(),
            client_path: "/v1/realtime".into(),
            client_name: None,
            lost: Vec::new(),
        };
        to_wit(
            &[candidate("primary", 1), candidate("secondary", 2)],
            &ctx,
            0x5eed,
        )
    }
}

/// The knowledge base named in smoke calls and `plugin check` probes.
pub const SMOKE_KB: &str = "plugin-smoke-test";

fn to_wit(
    candidates: &[Candidate],
    ctx: &RouteContext,
    random: u64,
) -> (Vec<wit::Candidate>, wit::SessionContext) {
    let candidates = candidates
        .iter()
        .map(|c| wit::Candidate {
            name: c.name.clone(),
            breaker: match c.breaker {
                BreakerState::Closed => wit::BreakerState::Closed,
                BreakerState::Open => wit::BreakerState::Open,
                BreakerState::HalfOpen => wit::BreakerState::HalfOpen,
            },
            priority: c.priority,
            weight: c.weight,
            active_sessions: c.active_sessions,
            max_sessions: c.max_sessions,
            connect_latency_ms: c.connect_latency_ms,
            error_rate: c.error_rate,
            tags: c.tags.clone(),
        })
        .collect();
    let ctx = wit::SessionContext {
        kb_id: ctx.kb_id.clone(),
        client_path: ctx.client_path.clone(),
        client_name: ctx.client_name.clone(),
        lost: ctx.lost.clone(),
        random,
    };
    (candidates, ctx)
}

/// One order from the plugin, as it answered (unknown names included: the caller filters).
pub async fn order(
    slot: &Slot<Routing>,
    candidates: &[Candidate],
    ctx: &RouteContext,
    random: u64,
) -> Result<Vec<String>, CallFault> {
    slot.call(to_wit(candidates, ctx, random)).await
}

/// The pool's [`Router`] backed by the routing slot.
pub struct PluginRouter {
    pub slot: Arc<Slot<Routing>>,
}

impl Router for PluginRouter {
    fn order<'a>(&'a self, candidates: Vec<Candidate>, ctx: &'a RouteContext) -> RouterFuture<'a> {
        Box::pin(async move {
            // No routing.wasm: the default order, without a word.
            self.slot.live()?;
            let input = to_wit(&candidates, ctx, rand::random());
            match self.slot.call(input).await {
                Ok(names) => Some(names),
                Err(fault) => {
                    tracing::warn!("[PLUGIN routing] {fault}; using the default order");
                    None
                }
            }
        })
    }
}

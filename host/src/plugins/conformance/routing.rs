//! Routing probes over random pools: the order names only known candidates, each at most
//! once, and every call answers.

use super::{Options, Probe, Rng};
use crate::plugins::routing::{Routing, order};
use crate::plugins::slot::Slot;
use crate::resilience::BreakerState;
use crate::upstream::{Candidate, RouteContext};
use std::collections::HashSet;

const ANSWERS: &str = "every call answers (no trap, deadline or memory fault)";
const KNOWN: &str = "the order names only candidates";
const ONCE: &str = "the order names each candidate at most once";

const NAMES: &[&str] = &[
    "sweden", "france", "us-east", "us-west", "japan", "openai", "azure", "backup",
];
const TAGS: &[&str] = &["eu", "us", "asia", "azure", "openai", "cheap", "fast"];

fn random_pool(rng: &mut Rng) -> (Vec<Candidate>, RouteContext) {
    let count = rng.between(1, NAMES.len() as u64) as usize;
    let candidates: Vec<Candidate> = NAMES[..count]
        .iter()
        .map(|name| Candidate {
            name: name.to_string(),
            breaker: *rng.pick(&[
                BreakerState::Closed,
                BreakerState::Closed,
                BreakerState::Open,
                BreakerState::HalfOpen,
            ]),
            priority: rng.between(1, 4) as u32,
            weight: rng.between(0, 10) as u32,
            active_sessions: rng.between(0, 500) as u32,
            max_sessions: *rng.pick(&[0, 0, 100, 1000]),
            connect_latency_ms: rng.between(0, 3_000),
            error_rate: rng.between(0, 100) as f64 / 100.0,
            tags: (0..rng.between(0, 3))
                .map(|_| rng.pick(TAGS).to_string())
                .collect(),
        })
        .collect();
    let lost = candidates
        .iter()
        .filter(|_| rng.between(0, 5) == 0)
        .map(|c| c.name.clone())
        .collect();
    let ctx = RouteContext {
        kb_id: rng.pick(&["default", "support", "sales"]).to_string(),
        client_path: rng
            .pick(&["/v1/realtime", "/openai/realtime", "/ws"])
            .to_string(),
        client_name: (rng.between(0, 1) == 0).then(|| "team-a".to_string()),
        lost,
    };
    (candidates, ctx)
}

pub(super) async fn probe(slot: &Slot<Routing>, options: Options, probe: &mut Probe) {
    let mut rng = Rng(options.seed);
    for _ in 0..options.runs {
        let (candidates, ctx) = random_pool(&mut rng);
        let random = rng.next();
        let names = match probe.timed(order(slot, &candidates, &ctx, random)).await {
            Ok(names) => {
                probe.check(ANSWERS, None);
                names
            }
            Err(fault) => {
                probe.check(ANSWERS, Some(format!("{fault} for {candidates:?}")));
                continue;
            }
        };
        let known: HashSet<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
        let unknown: Vec<&String> = names
            .iter()
            .filter(|n| !known.contains(n.as_str()))
            .collect();
        probe.check(
            KNOWN,
            (!unknown.is_empty()).then(|| format!("{unknown:?} among {known:?}")),
        );
        let mut seen = HashSet::new();
        let twice: Vec<&String> = names.iter().filter(|n| !seen.insert(n.as_str())).collect();
        probe.check(
            ONCE,
            (!twice.is_empty()).then(|| format!("{twice:?} named twice in {names:?}")),
        );
    }
}

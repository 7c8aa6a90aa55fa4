//! A routing policy: upstreams whose breaker is not open and that have room, by priority, then
//! by the lowest connect latency; an upstream the session just lost goes last.

/// One upstream, as the policy needs it.
pub mod policy {
    #[derive(Debug, Clone)]
    pub struct Upstream {
        pub name: String,
        pub open: bool,
        pub full: bool,
        pub priority: u32,
        pub latency_ms: u64,
        pub lost: bool,
    }

    pub fn order(mut upstreams: Vec<Upstream>) -> Vec<String> {
        upstreams.retain(|u| !u.open && !u.full);
        upstreams.sort_by_key(|u| (u.lost, u.priority, u.latency_ms));
        upstreams.into_iter().map(|u| u.name).collect()
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "routing-policy", path: "wit" });
    use exports::voxgate::plugins::routing::{BreakerState, Candidate, Guest, SessionContext};

    struct Policy;

    impl Guest for Policy {
        fn order(candidates: Vec<Candidate>, ctx: SessionContext) -> Vec<String> {
            let upstreams = candidates
                .into_iter()
                .map(|c| super::policy::Upstream {
                    open: c.breaker == BreakerState::Open,
                    full: c.max_sessions > 0 && c.active_sessions >= c.max_sessions,
                    priority: c.priority,
                    latency_ms: c.connect_latency_ms,
                    lost: ctx.lost.contains(&c.name),
                    name: c.name,
                })
                .collect();
            super::policy::order(upstreams)
        }
    }

    export!(Policy);
}

#[cfg(test)]
mod tests {
    use super::policy::{Upstream, order};

    fn up(name: &str, priority: u32, latency_ms: u64) -> Upstream {
        Upstream { name: name.into(), open: false, full: false, priority, latency_ms, lost: false }
    }

    #[test]
    fn priority_then_latency_and_never_an_open_or_full_one() {
        let mut open = up("open", 1, 1);
        open.open = true;
        let mut full = up("full", 1, 1);
        full.full = true;
        assert_eq!(order(vec![up("slow", 1, 90), open, up("fast", 1, 10), up("backup", 2, 1), full]), ["fast", "slow", "backup"]);
    }

    #[test]
    fn a_lost_upstream_goes_last() {
        let mut lost = up("lost", 1, 1);
        lost.lost = true;
        assert_eq!(order(vec![lost, up("other", 3, 50)]), ["other", "lost"]);
    }
}

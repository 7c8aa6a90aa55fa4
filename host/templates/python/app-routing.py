"""The component: adapts the policy to the routing-policy world."""
from typing import List

import wit_world
from wit_world.exports import routing

import policy


class Routing(wit_world.exports.Routing):
    def order(self, candidates: List[routing.Candidate], ctx: routing.SessionContext) -> List[str]:
        upstreams = [
            policy.Upstream(
                name=c.name,
                open=c.breaker == routing.BreakerState.OPEN,
                full=c.max_sessions > 0 and c.active_sessions >= c.max_sessions,
                priority=c.priority,
                latency_ms=c.connect_latency_ms,
                lost=c.name in ctx.lost,
            )
            for c in candidates
        ]
        return policy.order(upstreams)

// The component: adapts the policy to the routing-policy world.
import { order as decide } from './policy.js';

export const routing = {
  order(candidates, ctx) {
    return decide(candidates.map((c) => ({
      name: c.name,
      open: c.breaker === 'open',
      full: c.maxSessions > 0 && c.activeSessions >= c.maxSessions,
      priority: c.priority,
      latencyMs: Number(c.connectLatencyMs),
      lost: ctx.lost.includes(c.name),
    })));
  },
};

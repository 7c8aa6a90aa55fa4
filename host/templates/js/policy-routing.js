// A routing policy: upstreams whose breaker is not open and that have room, by priority, then
// by the lowest connect latency; an upstream the session just lost goes last.

export function order(upstreams) {
  return upstreams
    .filter((u) => !u.open && !u.full)
    .sort((a, b) => (a.lost - b.lost) || (a.priority - b.priority) || (a.latencyMs - b.latencyMs))
    .map((u) => u.name);
}

"""A routing policy: upstreams whose breaker is not open and that have room, by priority, then
by the lowest connect latency; an upstream the session just lost goes last."""
from dataclasses import dataclass


@dataclass
class Upstream:
    name: str
    open: bool
    full: bool
    priority: int
    latency_ms: int
    lost: bool


def order(upstreams):
    usable = [u for u in upstreams if not u.open and not u.full]
    usable.sort(key=lambda u: (u.lost, u.priority, u.latency_ms))
    return [u.name for u in usable]

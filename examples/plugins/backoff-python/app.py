"""The component: adapts the policy to the backoff-policy world."""
import wit_world
from wit_world.exports import backoff

import policy


class Backoff(wit_world.exports.Backoff):
    def next_delay(self, ctx: backoff.RetryContext) -> backoff.Decision:
        status = ctx.error.value if isinstance(ctx.error, backoff.ErrorClass_HttpStatus) else None
        delay = policy.next_delay(ctx.attempt, ctx.base_delay_ms, ctx.max_delay_ms, status, ctx.random)
        if delay is None:
            return backoff.Decision_GiveUp()
        return backoff.Decision_RetryAfterMs(delay)

// The component: adapts the policy to the backoff-policy world.
import { nextDelay as decide } from './policy.js';

export const backoff = {
  nextDelay(ctx) {
    const status = ctx.error.tag === 'http-status' ? ctx.error.val : null;
    const delay = decide(ctx.attempt, ctx.baseDelayMs, ctx.maxDelayMs, status, ctx.random);
    return delay === null ? { tag: 'give-up' } : { tag: 'retry-after-ms', val: delay };
  },
};

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextDelay } from './policy.js';

test('delays stay within the exponential ceiling and max', () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    for (const random of [0n, 1n, 999n, 2n ** 64n - 1n]) {
      const delay = nextDelay(attempt, 100n, 5000n, null, random);
      const ceiling = 100n << BigInt(attempt - 1);
      assert.ok(delay >= 0n && delay <= (ceiling < 5000n ? ceiling : 5000n));
    }
  }
});

test('client errors give up but throttling retries', () => {
  assert.equal(nextDelay(1, 100n, 5000n, 401, 7n), null);
  assert.notEqual(nextDelay(1, 100n, 5000n, 429, 7n), null);
  assert.notEqual(nextDelay(1, 100n, 5000n, 503, 7n), null);
});

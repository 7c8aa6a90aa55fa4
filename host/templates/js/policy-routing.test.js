import { test } from 'node:test';
import assert from 'node:assert/strict';
import { order } from './policy.js';

const up = (name, priority, latencyMs, flags = {}) => ({ name, priority, latencyMs, open: false, full: false, lost: false, ...flags });

test('priority then latency, never an open or full one', () => {
  assert.deepEqual(
    order([up('slow', 1, 90), up('open', 1, 1, { open: true }), up('fast', 1, 10), up('backup', 2, 1), up('full', 1, 1, { full: true })]),
    ['fast', 'slow', 'backup'],
  );
});

test('a lost upstream goes last', () => {
  assert.deepEqual(order([up('lost', 1, 1, { lost: true }), up('other', 3, 50)]), ['other', 'lost']);
});

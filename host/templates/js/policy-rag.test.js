import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Index, words } from './policy.js';

const index = new Index([
  { id: 'a#0', title: 'Retries', content: 'the gateway retries with exponential backoff' },
  { id: 'b#0', title: 'Breakers', content: 'a circuit breaker opens after failures in the gateway' },
  { id: 'c#0', title: 'Gateway', content: 'the gateway forwards audio' },
]);

test('the chunk with the rare words wins and top-k holds', () => {
  assert.equal(index.search('circuit breaker', 5)[0][0].id, 'b#0');
  assert.equal(index.search('gateway', 2).length, 2);
  assert.deepEqual(index.search('zebra', 5), []);
});

test('words: letters of any script, digits, no punctuation, no single letters', () => {
  assert.deepEqual(words('Größe 42, Ünïcödé! a 東京 half-open'), ['größe', '42', 'ünïcödé', '東京', 'half', 'open']);
});

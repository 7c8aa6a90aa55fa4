// The component: adapts the search to the rag-search world. The index of a knowledge base is
// built once per version and kept in the instance.
import { version, chunks } from 'voxgate:plugins/knowledge@0.1.0';
import { Index } from './policy.js';

const indexes = new Map(); // kb id -> { version, index }

function indexFor(kbId) {
  let current;
  try {
    current = version(kbId);
  } catch (e) {
    throw { tag: 'kb', val: e.payload ?? e };
  }
  const held = indexes.get(kbId);
  if (held && held.version === current) return held.index;
  let all;
  try {
    all = chunks(kbId);
  } catch (e) {
    throw { tag: 'kb', val: e.payload ?? e };
  }
  const index = new Index(all);
  indexes.set(kbId, { version: current, index });
  return index;
}

export const search = {
  search(kbId, query, topK) {
    if (!query.trim()) throw { tag: 'invalid-query', val: 'the query is empty' };
    return indexFor(kbId).search(query, topK).map(([c, score]) => ({ chunkId: c.id, title: c.title, content: c.content, score }));
  },
};

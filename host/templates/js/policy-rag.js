// A RAG search: each chunk scored by the query words it contains, rarer words counting more
// (idf), a word of the title counting twice.

// A letter: anything with case, or a script without case (CJK and beyond); digits; '_'.
// (Written out: the component's JS engine has no Unicode property classes in regexps.)
const isWordChar = (c) => c.toLowerCase() !== c.toUpperCase() || (c >= '0' && c <= '9') || c === '_' || c.codePointAt(0) >= 0x2e80;

export function words(text) {
  const found = [];
  let word = '';
  for (const c of text.toLowerCase()) {
    if (isWordChar(c)) {
      word += c;
    } else {
      if (word.length > 1) found.push(word);
      word = '';
    }
  }
  if (word.length > 1) found.push(word);
  return found;
}

export class Index {
  constructor(chunks) {
    this.chunks = chunks;
    this.postings = new Map(); // word -> [[chunk number, weight]]
    chunks.forEach((chunk, n) => {
      const title = new Set(words(chunk.title));
      for (const word of new Set([...title, ...words(chunk.content)])) {
        if (!this.postings.has(word)) this.postings.set(word, []);
        this.postings.get(word).push([n, title.has(word) ? 2 : 1]);
      }
    });
  }

  search(query, topK) {
    const scores = new Map();
    for (const word of new Set(words(query))) {
      const entries = this.postings.get(word);
      if (!entries) continue;
      const idf = Math.log(1 + this.chunks.length / entries.length);
      for (const [chunk, weight] of entries) scores.set(chunk, (scores.get(chunk) ?? 0) + idf * weight);
    }
    return [...scores.entries()]
      .sort((a, b) => (b[1] - a[1]) || (a[0] - b[0]))
      .slice(0, topK)
      .map(([n, score]) => [this.chunks[n], score]);
  }
}

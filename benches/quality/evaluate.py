#!/usr/bin/env python3
"""Score known-item retrieval: voxgate's rag-bm25 plugin (ours.jsonl, from examples/rag_eval.rs)
next to the reference BM25 library rank_bm25 (BM25Okapi, k1=1.2, b=0.75) run on the very same
chunks. A query's item is found when a chunk of its document is ranked.

    pip install rank_bm25 && python3 benches/quality/evaluate.py target/quality
"""
import hashlib, json, os, re, sys, time
from rank_bm25 import BM25Okapi

def doc_of(chunk_id):
    return chunk_id.split("#", 1)[0]

def score(runs):
    mrr, recall = 0.0, 0
    for doc, ranked in runs:
        docs = [doc_of(c) for c in ranked[:10]]
        if doc in docs:
            mrr += 1.0 / (docs.index(doc) + 1)
        if doc in docs[:5]:
            recall += 1
    return mrr / len(runs), recall / len(runs)

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/quality"
    chunks = [json.loads(l) for l in open(f"{out}/chunks.jsonl")]
    ours = [json.loads(l) for l in open(f"{out}/ours.jsonl")]
    # The reference's rankings depend only on the chunks and queries: kept between runs.
    key = hashlib.sha256(open(f"{out}/chunks.jsonl", "rb").read() + open(f"{out}/queries.jsonl", "rb").read()).hexdigest()
    cached = f"{out}/reference-{key[:16]}.json"
    if os.path.exists(cached):
        reference = [tuple(r) for r in json.load(open(cached))]
        report(ours, reference, len(chunks))
        print("(reference rankings from the cache)", file=sys.stderr)
        return
    tokenize = lambda text: re.findall(r"\w+", text.lower())
    started = time.time()
    bm25 = BM25Okapi([tokenize(c["title"] + " " + c["content"]) for c in chunks], k1=1.2, b=0.75)
    build = time.time() - started
    ids = [c["id"] for c in chunks]
    reference = []
    started = time.time()
    for q in ours:
        scores = bm25.get_scores(tokenize(q["query"]))
        top = sorted(range(len(scores)), key=lambda i: -scores[i])[:10]
        reference.append((q["doc"], [ids[i] for i in top]))
    search = time.time() - started
    json.dump(reference, open(cached, "w"))
    report(ours, reference, len(chunks))
    print(f"(reference index {build:.1f} s, {len(ours)} searches {search:.1f} s)", file=sys.stderr)

def report(ours, reference, chunks):
    ours_runs = [(q["doc"], q["ranked"]) for q in ours]
    m1, r1 = score(ours_runs)
    m2, r2 = score(reference)
    print(f"| implementation | MRR@10 | recall@5 | queries | chunks |")
    print(f"|---|---:|---:|---:|---:|")
    print(f"| voxgate rag-bm25 plugin | {m1:.3f} | {r1:.3f} | {len(ours)} | {chunks} |")
    print(f"| rank_bm25 BM25Okapi (reference) | {m2:.3f} | {r2:.3f} | {len(ours)} | {chunks} |")

if __name__ == "__main__":
    main()

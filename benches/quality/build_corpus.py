#!/usr/bin/env python3
"""Build a known-item evaluation set from the machine's own manual pages (written by their
projects' authors, not by us): each page becomes a knowledge-base document with its NAME
section removed; the NAME section's one-line summary becomes the query that should find it.

    python3 benches/quality/build_corpus.py [--pages 3000] [--out target/quality]
"""
import argparse, gzip, hashlib, json, os, re, sys

ESCAPES = [
    (r"\\f\[[^\]]*\]", ""), (r"\\f\([A-Za-z]{2}", ""), (r"\\f[A-Za-z0-9]", ""),
    (r"\\s[+-]?\d", ""), (r"\\\(em", "—"), (r"\\\(en", "–"), (r"\\\(aq", "'"), (r"\\\(dq", '"'),
    (r"\\\(bu", "•"), (r"\\\([a-z]{2}", ""), (r"\\\*\(..", ""), (r"\\\*.", ""), (r"\\-", "-"),
    (r"\\e", "\\\\"), (r"\\&", ""), (r"\\ ", " "), (r"\\c", ""), (r"\\\|", ""), (r"\\\^", ""),
    (r"\\/", ""), (r"\\,", ""), (r"\\%", ""), (r'\\"', ""),
]

def plain(line):
    for pattern, repl in ESCAPES:
        line = re.sub(pattern, repl, line)
    return line

def parse(roff):
    """(summary, [(section, text)]) of a man page, or None."""
    sections, current, lines = [], None, []
    for raw in roff.splitlines():
        if raw.startswith('.\\"') or raw.startswith("'\\\""):
            continue
        if raw.startswith(".so "):
            return None
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', raw)
        if m:
            if current is not None:
                sections.append((current, " ".join(lines)))
            current, lines = m.group(1).strip().upper(), []
            continue
        if raw.startswith("."):
            parts = raw.split(None, 1)
            raw = parts[1].replace('"', "") if len(parts) > 1 and parts[0] in (
                ".B", ".I", ".BR", ".IR", ".RB", ".RI", ".BI", ".IB", ".SM", ".SB", ".TP", ".IP", ".SS", ".Nm", ".Nd", ".Ar", ".Fl") else ""
        text = plain(raw).strip()
        if text:
            lines.append(text)
    if current is not None:
        sections.append((current, " ".join(lines)))
    name = [t for s, t in sections if s == "NAME"]
    if not name or " - " not in name[0]:
        return None
    summary = name[0].split(" - ", 1)[1].strip()
    body = [(s, t) for s, t in sections if s != "NAME" and t.strip()]
    return summary, body

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--man", default="/usr/share/man/man1")
    ap.add_argument("--out", default="target/quality")
    args = ap.parse_args()
    names = sorted(os.listdir(args.man), key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    kb = os.path.join(args.out, "kb", "man")
    os.makedirs(kb, exist_ok=True)
    seen, queries = set(), []
    for name in names:
        if len(queries) >= args.pages:
            break
        path = os.path.join(args.man, name)
        if os.path.islink(path) or not name.endswith(".gz"):
            continue
        try:
            roff = gzip.open(path, "rt", errors="replace").read()
        except OSError:
            continue
        parsed = parse(roff)
        if not parsed:
            continue
        summary, body = parsed
        words = len(re.findall(r"\w+", summary))
        text_len = sum(len(t) for _, t in body)
        if words < 3 or text_len < 400 or summary.lower() in seen:
            continue
        seen.add(summary.lower())
        page = name[: -len(".gz")]
        doc = f"{page}.md"
        with open(os.path.join(kb, doc), "w") as f:
            f.write(f"# {page}\n\n")
            for section, text in body:
                # Paragraph breaks every ~5 sentences so chunks stay a readable size.
                sentences = re.split(r"(?<=[.!?])\s+", text)
                f.write(f"## {section.title()}\n\n")
                for i in range(0, len(sentences), 5):
                    f.write(" ".join(sentences[i:i + 5]) + "\n\n")
        queries.append({"query": summary, "doc": doc})
    with open(os.path.join(args.out, "queries.jsonl"), "w") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    print(f"{len(queries)} documents in {kb}, queries in {args.out}/queries.jsonl", file=sys.stderr)

if __name__ == "__main__":
    main()

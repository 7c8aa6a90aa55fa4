"""A RAG search: each chunk scored by the query words it contains, rarer words counting more
(idf), a word of the title counting twice."""
import math
import re
from dataclasses import dataclass

WORD = re.compile(r"\w\w+")


@dataclass
class Chunk:
    id: str
    title: str
    content: str


def words(text):
    return [w.lower() for w in WORD.findall(text)]


class Index:
    def __init__(self, chunks, postings=None):
        self.chunks = chunks
        if postings is None:
            postings = {}
            for n, chunk in enumerate(chunks):
                title = set(words(chunk.title))
                for word in set(words(chunk.title)) | set(words(chunk.content)):
                    postings.setdefault(word, []).append([n, 2.0 if word in title else 1.0])
        # word -> [[chunk number, weight], ...]
        self.postings = postings

    def search(self, query, top_k):
        """The best top_k (chunk, score), best first; chunks sharing no word are left out."""
        scores = {}
        for word in sorted(set(words(query))):  # a fixed order: the same scores, to the bit
            entries = self.postings.get(word, ())
            if entries:
                idf = math.log(1 + len(self.chunks) / len(entries))
                for chunk, weight in entries:
                    scores[chunk] = scores.get(chunk, 0.0) + idf * weight
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        return [(self.chunks[n], score) for n, score in ranked]

    def to_json(self):
        return {"chunks": [[c.id, c.title, c.content] for c in self.chunks], "postings": self.postings}

    @staticmethod
    def from_json(data):
        return Index([Chunk(*c) for c in data["chunks"]], data["postings"])

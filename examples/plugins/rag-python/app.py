"""The component: adapts the search to the rag-search world. The index of a knowledge base is
built once per version, kept in the instance, and stored in the host's index cache so a fresh
instance loads it instead of rebuilding it."""
import json
from typing import List

import wit_world
from wit_world.exports import search
from wit_world.imports import index_cache, knowledge
from componentize_py_types import Err

import policy

INDEXES = {}  # kb id -> (version, Index)


def index_for(kb_id):
    try:
        version = knowledge.version(kb_id)
    except Err as e:
        raise Err(search.SearchError_Kb(e.value))
    held = INDEXES.get(kb_id)
    if held is not None and held[0] == version:
        return held[1]
    blob = index_cache.load(kb_id, version)
    if blob is not None:
        index = policy.Index.from_json(json.loads(blob))
    else:
        try:
            chunks = knowledge.chunks(kb_id)
        except Err as e:
            raise Err(search.SearchError_Kb(e.value))
        index = policy.Index([policy.Chunk(c.id, c.title, c.content) for c in chunks])
        index_cache.store(kb_id, version, json.dumps(index.to_json()).encode())
    INDEXES[kb_id] = (version, index)
    return index


class Search(wit_world.exports.Search):
    def search(self, kb_id: str, query: str, top_k: int) -> List[search.Hit]:
        if not query.strip():
            raise Err(search.SearchError_InvalidQuery("the query is empty"))
        index = index_for(kb_id)
        return [search.Hit(c.id, c.title, c.content, score) for c, score in index.search(query, top_k)]

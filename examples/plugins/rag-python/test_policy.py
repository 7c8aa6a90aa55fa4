import unittest

from policy import Chunk, Index


class Search(unittest.TestCase):
    def setUp(self):
        self.index = Index([
            Chunk("a#0", "Retries", "the gateway retries with exponential backoff"),
            Chunk("b#0", "Breakers", "a circuit breaker opens after failures in the gateway"),
            Chunk("c#0", "Gateway", "the gateway forwards audio"),
        ])

    def test_the_chunk_with_the_rare_words_wins_and_top_k_holds(self):
        self.assertEqual(self.index.search("circuit breaker", 5)[0][0].id, "b#0")
        self.assertEqual(len(self.index.search("gateway", 2)), 2)
        self.assertEqual(self.index.search("zebra", 5), [])

    def test_the_index_survives_the_cache_round_trip(self):
        again = Index.from_json(self.index.to_json())
        self.assertEqual(again.search("gateway audio", 3), self.index.search("gateway audio", 3))


if __name__ == "__main__":
    unittest.main()

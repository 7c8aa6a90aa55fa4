import unittest

from policy import Upstream, order


def up(name, priority, latency_ms, **flags):
    return Upstream(name, flags.get("open", False), flags.get("full", False), priority, latency_ms, flags.get("lost", False))


class Order(unittest.TestCase):
    def test_priority_then_latency_never_open_or_full(self):
        upstreams = [up("slow", 1, 90), up("open", 1, 1, open=True), up("fast", 1, 10), up("backup", 2, 1), up("full", 1, 1, full=True)]
        self.assertEqual(order(upstreams), ["fast", "slow", "backup"])

    def test_a_lost_upstream_goes_last(self):
        self.assertEqual(order([up("lost", 1, 1, lost=True), up("other", 3, 50)]), ["other", "lost"])


if __name__ == "__main__":
    unittest.main()

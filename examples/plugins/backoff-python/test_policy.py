import unittest

from policy import next_delay


class NextDelay(unittest.TestCase):
    def test_delays_stay_within_the_exponential_ceiling_and_max(self):
        for attempt in range(1, 13):
            for random in (0, 1, 999, 2**64 - 1):
                delay = next_delay(attempt, 100, 5000, None, random)
                self.assertTrue(0 <= delay <= min(5000, 100 << (attempt - 1)))

    def test_client_errors_give_up_but_throttling_retries(self):
        self.assertIsNone(next_delay(1, 100, 5000, 401, 7))
        self.assertIsNotNone(next_delay(1, 100, 5000, 429, 7))
        self.assertIsNotNone(next_delay(1, 100, 5000, 503, 7))


if __name__ == "__main__":
    unittest.main()

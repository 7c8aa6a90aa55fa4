"""A backoff policy: exponential with full jitter; gives up at once on a client error (4xx
other than 408 and 429), which no retry will fix."""


def next_delay(attempt, base_ms, max_ms, http_status, random):
    """Milliseconds to wait before the next attempt, or None to give up."""
    if http_status is not None and 400 <= http_status < 500 and http_status not in (408, 429):
        return None
    ceiling = min(max_ms, base_ms << min(attempt - 1, 32))
    return random % (ceiling + 1)

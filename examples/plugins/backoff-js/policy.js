// A backoff policy: exponential with full jitter; gives up at once on a client error (4xx
// other than 408 and 429), which no retry will fix. Milliseconds are BigInt (WIT u64).

export function nextDelay(attempt, baseMs, maxMs, httpStatus, random) {
  if (httpStatus !== null && httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 429) {
    return null;
  }
  let ceiling = baseMs << BigInt(Math.min(attempt - 1, 32));
  if (ceiling > maxMs) ceiling = maxMs;
  return random % (ceiling + 1n);
}

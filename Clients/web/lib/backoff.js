// When to try again after a lost connection: exponential backoff with jitter, from 1 s doubling to
// at most 30 s; a refusal (close code 15) waits at least 15 s, since a penalized source is
// refused until its penalty has drained (PROTOCOL.md §4, §9).

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
export const REFUSED_MIN_DELAY_MS = 15_000;

/** The delay before attempt `attempt` (0 for the first retry); `random()` in [0, 1). */
export function backoffDelay(attempt, { refused = false, random = Math.random } = {}) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 10));
  const delay = Math.round(ceiling * (0.5 + random() / 2));
  return refused ? Math.max(delay, REFUSED_MIN_DELAY_MS) : delay;
}

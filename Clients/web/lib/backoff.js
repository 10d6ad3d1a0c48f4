// When to try again after a lost connection: exponential backoff with jitter, from 1 s doubling to
// at most 30 s; a refusal (close code 15) waits at least 15 s, since a penalized source is
// refused until its penalty has drained (PROTOCOL.md §4, §9), and never less than the `retry_ms`
// a lockout's refusal carries.

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
export const REFUSED_MIN_DELAY_MS = 15_000;

/** The delay before attempt `attempt` (0 for the first retry); `random()` in [0, 1). A lockout's
 * `retryMs` (§9, Admission) is a floor: connecting earlier is refused again. */
export function backoffDelay(attempt, { refused = false, retryMs = 0, random = Math.random } = {}) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 10));
  const delay = Math.round(ceiling * (0.5 + random() / 2));
  return Math.max(refused ? Math.max(delay, REFUSED_MIN_DELAY_MS) : delay, retryMs);
}

/** A wait as the server writes it in a lockout's message: "4m 30s", "1h 2m 5s", "45s" (whole
 * seconds, rounded up). */
export function formatDuration(ms) {
  let seconds = Math.ceil(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts = [];
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (seconds || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join(" ");
}

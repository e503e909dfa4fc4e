import type { ResolvedRetry } from './options.js';

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * a uniform draw below a ceiling that doubles per retry, so many clients refused together spread
 * out instead of returning in lockstep. `random` is injectable for tests.
 */
export function jitteredBackoff(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, baseMs * 2 ** attempt);
}

/**
 * Delay before retrying a task answered `busy` for the `retries`-th time (0 for the first):
 * never sooner than the manager's hint, which is its estimate of when room frees up.
 */
export function busyRetryDelay(retryAfterMs: number, retries: number, retry: ResolvedRetry, random: () => number = Math.random): number {
  return Math.max(retryAfterMs, jitteredBackoff(retries, retry.baseMs, retry.maxMs, random));
}

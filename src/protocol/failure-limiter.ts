/**
 * Failed handshakes per remote address (the IP, not the port), in fixed windows. An address that
 * reaches the limit is refused — its sockets closed unread, before the hello — until its window
 * ends, so a key cannot be guessed at speed and garbage costs a socket accept, nothing more.
 *
 * Memory is bounded: at most `maxAddresses` are tracked; past that the least recently failing
 * one is forgotten (an attacker with that many addresses is past what a per-address limit can
 * do anyway; the concurrent-handshake cap still holds). Time is injected.
 */
export const DEFAULT_MAX_FAILURES_PER_ADDRESS = 30;
export const DEFAULT_FAILURE_WINDOW_MS = 60_000;
const DEFAULT_MAX_ADDRESSES = 10_000;

interface Window { start: number; failures: number }

export class FailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  /** In order of last failure: the first entry is the one to forget. */
  readonly #windows = new Map<string, Window>();

  /** `limit` 0 turns limiting off (failures are still counted by the caller). */
  constructor(limit: number, windowMs: number, now: () => number, maxAddresses = DEFAULT_MAX_ADDRESSES) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#maxAddresses = maxAddresses;
  }

  /** Addresses being tracked. */
  get size(): number {
    return this.#windows.size;
  }

  recordFailure(address: string): void {
    if (this.#limit === 0) return;
    const now = this.#now();
    let window = this.#windows.get(address);
    if (window === undefined || now - window.start >= this.#windowMs) window = { start: now, failures: 0 };
    window.failures++;
    this.#windows.delete(address);
    this.#windows.set(address, window);
    if (this.#windows.size > this.#maxAddresses) this.#windows.delete(this.#windows.keys().next().value as string);
  }

  /** True while `address` has used up its failures for the current window. */
  isRefused(address: string): boolean {
    const window = this.#windows.get(address);
    if (window === undefined) return false;
    if (this.#now() - window.start >= this.#windowMs) {
      this.#windows.delete(address);
      return false;
    }
    return window.failures >= this.#limit;
  }
}

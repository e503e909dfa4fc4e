import { PRIORITY_LEVELS, type Priority } from '../core/priority.js';

/**
 * Remembers that the manager refused work, so the gateway can answer 503 at once instead of asking
 * again and again while the queue is still full — cheap refusals are the point of a bounded queue.
 * Pure: time is passed in (a monotonic clock, ms).
 *
 * A refusal at priority p says the queue is full for every priority ≤ p (a higher priority may
 * still displace it), so it closes the gate for those. It stays closed for half the manager's
 * hint, at most 1 s: the hint is the time until everything queued at ≥ p has started, so the
 * queue cannot have emptied in half of it and the workers stay fed when the gate reopens; the
 * first requests after it are the probes that learn whether space has come back.
 * `deadline` refusals are about one task's deadline, not the queue, and close nothing.
 */
export const GATE_FRACTION = 0.5;
export const GATE_MAX_MS = 1_000;

export class BusyGate {
  /** Per priority: closed until this time. */
  readonly #until = new Float64Array(PRIORITY_LEVELS);
  readonly #reason: string[] = new Array<string>(PRIORITY_LEVELS).fill('full');
  /** The latest closing time of any priority: a single compare on the hot path when open. */
  #latest = 0;

  /** Records a `busy` answer for a task of `priority`. */
  refused(priority: Priority, reason: string, retryAfterMs: number, now: number): void {
    if (reason === 'deadline') return;
    const until = now + Math.min(Math.max(0, retryAfterMs) * GATE_FRACTION, GATE_MAX_MS);
    // Without workers or while draining nothing is admitted, whatever its priority.
    const top = reason === 'no_workers' || reason === 'draining' ? PRIORITY_LEVELS - 1 : priority;
    for (let p = 0; p <= top; p++) {
      if ((this.#until[p] as number) < until) {
        this.#until[p] = until;
        this.#reason[p] = reason;
      }
    }
    if (until > this.#latest) this.#latest = until;
  }

  /** Milliseconds the gate stays closed for `priority`; 0 when open. */
  closedFor(priority: Priority, now: number): number {
    if (now >= this.#latest) return 0;
    const left = (this.#until[priority] as number) - now;
    return left > 0 ? left : 0;
  }

  /** Why the gate is closed for `priority` (meaningful while `closedFor` > 0). */
  reason(priority: Priority): string {
    return this.#reason[priority] as string;
  }
}

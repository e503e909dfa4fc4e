import type { ClientMessage } from '../protocol/messages.js';
import type { StatusSnapshot } from '../protocol/status.js';
import { ClientClosedError, StatusTimeoutError } from './errors.js';

/** @default for `client.status()` */
export const DEFAULT_STATUS_TIMEOUT_MS = 5_000;

export interface StatusOptions {
  signal?: AbortSignal;
  /** Reject with StatusTimeoutError after this long without a snapshot. @default 5000 */
  timeoutMs?: number;
}

interface PendingStatus {
  resolve(snapshot: StatusSnapshot): void;
  reject(error: unknown): void;
}

type Send = (message: ClientMessage) => void;

/**
 * Status requests and the watch subscription of one client. Requests wait across reconnections
 * (they are re-sent on each new connection) until answered, timed out or aborted; the
 * subscription is renewed on each new connection while anyone watches.
 */
export class StatusRequests {
  readonly #pending = new Map<number, PendingStatus>();
  #nextRef = 1;
  #watchers = 0;

  get isWatched(): boolean {
    return this.#watchers > 0;
  }

  request(send: Send | undefined, options: StatusOptions = {}): Promise<StatusSnapshot> {
    const { signal, timeoutMs = DEFAULT_STATUS_TIMEOUT_MS } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ref = this.#nextRef++;
    return new Promise<StatusSnapshot>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new StatusTimeoutError(timeoutMs))), timeoutMs);
      const onAbort = (): void => settle(() => reject(signal!.reason));
      const settle = (then: () => void): void => {
        if (!this.#pending.delete(ref)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(ref, {
        resolve: (snapshot) => settle(() => resolve(snapshot)),
        reject: (error) => settle(() => reject(error)),
      });
      send?.({ type: 'status_request', ref });
    });
  }

  /** A snapshot arrived: answers the request with its `ref`; false when it was a watcher's tick. */
  answer(ref: number | undefined, snapshot: StatusSnapshot): boolean {
    if (ref === undefined) return false;
    this.#pending.get(ref)?.resolve(snapshot);
    return true;
  }

  /** Counts a watcher; returns whether the subscription must be started now. */
  addWatcher(): boolean {
    return ++this.#watchers === 1;
  }

  /** Returns whether the subscription must be stopped now. */
  removeWatcher(): boolean {
    if (this.#watchers === 0) return false;
    return --this.#watchers === 0;
  }

  /** A new connection: re-send what is unanswered and renew the subscription. */
  resend(send: Send): void {
    for (const ref of this.#pending.keys()) send({ type: 'status_request', ref });
    if (this.#watchers > 0) send({ type: 'watch', on: true });
  }

  close(): void {
    for (const pending of [...this.#pending.values()]) pending.reject(new ClientClosedError());
    this.#watchers = 0;
  }
}

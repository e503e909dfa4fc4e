import type { Dispatch } from '../protocol/messages.js';
import { IdTable } from '../core/id-table.js';

/** A dispatch the node took while its slots were busy, to start the moment one frees. */
export interface HeldTask {
  readonly dispatch: Dispatch;
  /** The link epoch it arrived on: its outcome goes back on that link only. */
  readonly epoch: number;
  /** performance.now() when it arrived; its deadline runs while it waits. */
  readonly heldAt: number;
}

/**
 * The node's prefetch: at most `limit` dispatches waiting for a slot, first in first out. The
 * manager sends them only while every slot of every node is busy, so one waits about as long as
 * the next slot takes to free — and a slot never idles for a manager round trip between tasks.
 */
export class HeldTasks {
  /** Insertion-ordered: the first entry is the oldest. */
  readonly #byToken = new IdTable<HeldTask>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.#byToken.size;
  }

  get hasRoom(): boolean {
    return this.#byToken.size < this.limit;
  }

  has(token: number): boolean {
    return this.#byToken.has(token);
  }

  hold(task: HeldTask): void {
    this.#byToken.set(task.dispatch.token, task);
  }

  /** Withdraws one (cancelled, or its link lost). */
  take(token: number): HeldTask | undefined {
    const task = this.#byToken.get(token);
    if (task !== undefined) this.#byToken.delete(token);
    return task;
  }

  /** The oldest, to start on a slot that just freed. */
  shift(): HeldTask | undefined {
    const first = this.#byToken.values().next();
    if (first.done === true) return undefined;
    this.#byToken.delete(first.value.dispatch.token);
    return first.value;
  }

  /** Every held task, oldest first, leaving none. */
  takeAll(): HeldTask[] {
    const all = [...this.#byToken.values()];
    this.#byToken.clear();
    return all;
  }
}

/** The dispatch as it starts after `heldMs`: the deadline left is shorter by the wait. */
export function startedAfter(dispatch: Dispatch, heldMs: number): Dispatch {
  if (dispatch.deadlineMs === undefined || heldMs <= 0) return dispatch;
  return { ...dispatch, deadlineMs: Math.max(0, dispatch.deadlineMs - heldMs) };
}

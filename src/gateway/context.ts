import { performance } from 'node:perf_hooks';
import { childLogger, type Logger } from '../core/logger.js';
import type { Priority } from '../core/priority.js';
import type { TaskMap } from '../core/tasks.js';
import type { Client, TaskHandle } from '../client/index.js';
import type { BusyGate } from './busy-gate.js';
import { busyResponse, type ErrorResponse, type LocalBusyReason } from './http-errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { PerTurn } from './per-turn.js';
import type { AnswerBatch } from './responses.js';
import type { ResolvedGatewayOptions } from './options.js';

/** What the route handlers share: one per gateway. */
export interface GatewayContext {
  readonly options: ResolvedGatewayOptions;
  readonly client: Client<TaskMap>;
  readonly metrics: GatewayMetrics;
  /** Where answers that settle asynchronously are written from (see AnswerBatch). */
  readonly answers: AnswerBatch;
  /**
   * Synchronous calls whose requests were read this turn, handed to the client together: the
   * client, the manager and (embedded) the worker node then take them as one batch per link
   * rather than one chain of hand-overs per request (about 6% more requests a second with a
   * no-op task in `sluice dev`).
   */
  readonly submissions: PerTurn<{ submit(): void }>;
  readonly gate: BusyGate;
  readonly logger: Logger;
  /** Synchronous callers waiting for an answer (plain calls and callers attached to a job). */
  pending: number;
  /** Bound on `pending`: the option, or the manager's capacity when the option was not given. */
  maxPending: number;
  /** Set once close() starts: new requests are answered 503 `unavailable`. */
  closing: boolean;
  /** Plain synchronous calls in flight, cancelled with `shutdown` when close() runs out of grace. */
  readonly calls: CallList;
}

/** The reason a task's signal is aborted by the gateway; never reaches an HTTP caller as such. */
export class GatewayAbort extends Error {
  constructor(readonly why: 'caller_gone' | 'cancelled' | 'shutdown') {
    super(`aborted by the gateway: ${why}`);
  }
}
export const CALLER_GONE = new GatewayAbort('caller_gone');
export const CANCELLED = new GatewayAbort('cancelled');
export const SHUTDOWN = new GatewayAbort('shutdown');

/**
 * A task started with `client.submit`, which the gateway may cancel before or after its handle
 * arrives (the handle comes once the task holds a client slot). Cancelling through the handle
 * instead of an AbortSignal is deliberate: an AbortController with a listener costs about 20 µs
 * per request in Node 20, a third of the gateway's whole budget.
 */
export class TaskCall {
  handle: TaskHandle<unknown> | undefined = undefined;
  prev: TaskCall | undefined = undefined;
  next: TaskCall | undefined = undefined;
  /** Why the gateway cancelled it; set once. */
  reason: GatewayAbort | undefined = undefined;

  attach(handle: TaskHandle<unknown>): void {
    this.handle = handle;
    if (this.reason !== undefined) void handle.cancel();
  }

  cancel(reason: GatewayAbort): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    if (this.handle !== undefined) void this.handle.cancel();
  }
}

/**
 * The calls in flight as an intrusive doubly linked list: O(1) add and remove with no hashing
 * (a Set keyed by fresh objects showed up at ~1 µs per request in profiles).
 */
export class CallList {
  #head: TaskCall | undefined = undefined;

  add(call: TaskCall): void {
    call.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = call;
    this.#head = call;
  }

  remove(call: TaskCall): void {
    if (call.prev !== undefined) call.prev.next = call.next;
    else if (this.#head === call) this.#head = call.next;
    else return; // not listed
    if (call.next !== undefined) call.next.prev = call.prev;
    call.prev = call.next = undefined;
  }

  /** A snapshot, so callers may remove while they walk it. */
  toArray(): TaskCall[] {
    const calls: TaskCall[] = [];
    for (let c = this.#head; c !== undefined; c = c.next) calls.push(c);
    return calls;
  }
}

/** Monotonic ms: what the gate and the job store measure time in. */
export const now = (): number => performance.now();

/** Retry hint when the gateway refuses on its own account (its bound, no manager link). */
const LOCAL_RETRY_AFTER_MS = 1_000;

/**
 * The refusals decided without asking the manager, cheapest first: no link to a manager, the busy
 * gate closed for this priority, or (for synchronous calls) the pending bound reached.
 */
export function localRefusal(ctx: GatewayContext, priority: Priority, sync: boolean): ErrorResponse | undefined {
  let reason: LocalBusyReason | string;
  let retryAfterMs = LOCAL_RETRY_AFTER_MS;
  if (!ctx.client.connected) {
    reason = 'no_manager';
  } else {
    const closed = ctx.gate.closedFor(priority, now());
    if (closed > 0) {
      reason = ctx.gate.reason(priority);
      retryAfterMs = closed;
    } else if (sync && ctx.pending >= ctx.maxPending) {
      reason = 'gateway_full';
    } else {
      return undefined;
    }
  }
  ctx.metrics.countLocalBusy(reason);
  return busyResponse(reason, retryAfterMs, reason === 'no_manager' ? 'The gateway is not connected to a manager; retry later' : 'The task queue is full; retry later');
}

export function requestLogger(ctx: GatewayContext, reqId: string): Logger {
  return childLogger(ctx.logger, { reqId });
}

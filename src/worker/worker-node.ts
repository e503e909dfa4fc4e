import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { dial } from '../protocol/index.js';
import type { PeerLink } from '../protocol/link.js';
import type { AbortReason, Dispatch, ManagerToClient, ManagerToWorker, WorkerMessage } from '../protocol/messages.js';
import { integerOption, MAX_TIMER_MS } from './pool/options.js';
import type { ExecutionResult, TaskPool } from './pool/types.js';
import { backoffDelay } from './backoff.js';
import { HeldTasks, startedAfter, type HeldTask } from './held-tasks.js';
import { endEvent, outcomeOf, unencodableResult } from './outcomes.js';
import type { ResolvedWorkerOptions } from './options.js';
import { withSignal } from './with-signal.js';
import type { HistoryRecorder } from '../core/history/events.js';
import { historyTime } from '../protocol/history-file.js';
import { IdTable } from '../core/id-table.js';

/** A TCP connection to the manager, or an in-process link when the manager lives here. */
type ManagerLink = PeerLink;

export interface WorkerNodeEvents {
  /** Registered with a manager (after every reconnect too). */
  connected: [info: { managerId: string }];
  /** The link to the manager closed; `error` is undefined for a clean close. */
  disconnected: [error: Error | undefined];
  /** A dial failed or something went wrong in the background. Emitted only when listened to. */
  error: [error: Error];
}

export interface WorkerNode extends EventEmitter<WorkerNodeEvents> {
  readonly nodeId: string;
  /** Tasks running on this node, including leftovers of a lost link that ignore their abort. */
  readonly running: number;
  /** Dispatches held for the next free slot (see the `prefetch` option). */
  readonly held: number;
  /** True while a link to the manager is registered. */
  readonly connected: boolean;
  /**
   * Stops taking work (tells the manager `capacity 0`), waits up to `timeoutMs` for running tasks,
   * aborts the rest with reason `shutdown` and hands them back (`returned`, no attempt used), then
   * closes the link and stops reconnecting. Memoized; `signal` only stops this call's waiting.
   */
  drain(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Immediate: terminates the pool (running tasks are handed back), closes the link. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Lifecycle:
 *
 *   RUNNING ──drain()──► DRAINING ──tasks done or handed back──► DRAINED
 *      │                    │                                      │
 *      └──── close() ───────┴──────────────── close() ─────────────┴──► CLOSED
 *
 * Links: one at a time. Each new link starts an epoch; a task remembers the epoch it was dispatched
 * in, and its outcome is sent only on that same link. Tasks of a lost link are aborted (the manager
 * re-queues them) and count as "leftovers" until they end: the node offers the manager
 * `capacity - leftovers` slots, and sends `capacity` again as leftovers end.
 *
 * Prefetch: while every slot is busy the node holds up to `prefetch` more dispatches and starts
 * each the moment a slot frees. Held tasks never outlive their link (dropped when it is lost: the
 * manager re-queues them), are handed back at once on drain or close, and count as started — in
 * the history, and for their run time — only when they get a slot.
 */
const RUNNING = 0;
const DRAINING = 1;
const DRAINED = 2;
const CLOSED = 3;
type NodeState = typeof RUNNING | typeof DRAINING | typeof DRAINED | typeof CLOSED;

export class PooledWorkerNode extends EventEmitter<WorkerNodeEvents> implements WorkerNode {
  readonly nodeId: string;
  readonly #options: ResolvedWorkerOptions;
  readonly #pool: TaskPool;
  readonly #taskNames: string[];
  readonly #knownTasks: ReadonlySet<string>;
  /** token → epoch of the link it was dispatched on; running and held tasks alike. */
  readonly #tasks = new IdTable<number>();
  readonly #held: HeldTasks;
  #leftovers = 0;
  #link: ManagerLink | undefined;
  #epoch = 0;
  #state: NodeState = RUNNING;
  /** Aborted by drain() and close(): stops dialing and the reconnect loop. */
  readonly #lifetime = new AbortController();
  #linkClosed: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;
  #draining: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #detachSignal: (() => void) | undefined;
  /** Set only when recording a history; every hook is one branch on it. */
  readonly #history: HistoryRecorder | undefined;

  constructor(options: ResolvedWorkerOptions, pool: TaskPool, history: HistoryRecorder | undefined) {
    super();
    this.nodeId = options.nodeId;
    this.#options = options;
    this.#pool = pool;
    this.#history = history;
    this.#held = new HeldTasks(options.prefetch);
    this.#taskNames = [...pool.taskNames];
    this.#knownTasks = new Set(pool.taskNames);
  }

  get running(): number {
    return this.#tasks.size - this.#held.size;
  }

  get held(): number {
    return this.#held.size;
  }

  get connected(): boolean {
    return this.#link !== undefined;
  }

  /** First dial attempt, then reconnects in the background. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    let connected: boolean;
    if (signal === undefined) connected = await this.#connectOnce(0);
    else {
      const onAbort = (): void => this.#lifetime.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        connected = await this.#connectOnce(0);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      signal.throwIfAborted();
      const closeOnAbort = (): void => void this.close();
      signal.addEventListener('abort', closeOnAbort, { once: true });
      this.#detachSignal = () => signal.removeEventListener('abort', closeOnAbort);
    }
    this.#loop = this.#reconnectLoop(connected ? 0 : 1);
  }

  async #connectOnce(failures: number): Promise<boolean> {
    const o = this.#options;
    const signal = this.#lifetime.signal;
    try {
      const link = o.local !== undefined ? await o.local.connectLocal('worker', o.name) : await dial({
        host: o.host, port: o.port, role: 'worker', signal,
        ...(o.key === undefined ? {} : { key: o.key }),
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.tls === undefined ? {} : { tls: o.tls }),
      });
      if (signal.aborted) {
        link.destroy();
        return false;
      }
      this.#attach(link);
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      const message = `cannot reach manager ${o.host}:${o.port}`;
      if (failures <= 1) o.logger.warn({ err: error, failures }, message);
      else o.logger.debug({ err: error, failures }, message);
      if (this.listenerCount('error') > 0) this.emit('error', error as Error);
      return false;
    }
  }

  /** Runs until drain() or close(); every wait in it ends when #lifetime aborts. */
  async #reconnectLoop(initialFailures: number): Promise<void> {
    const signal = this.#lifetime.signal;
    let failures = initialFailures;
    while (!signal.aborted) {
      if (this.#link !== undefined) {
        await new Promise<void>((resolve) => { this.#linkClosed = resolve; });
        failures = 0;
        continue;
      }
      const delay = backoffDelay(failures, this.#options.reconnectBaseMs, this.#options.reconnectMaxMs);
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        break;
      }
      failures = (await this.#connectOnce(failures + 1)) ? 0 : failures + 1;
    }
  }

  #attach(link: ManagerLink): void {
    this.#epoch += 1;
    this.#link = link;
    link.on('message', (message) => this.#onMessage(link, message));
    link.on('close', (error) => this.#onClose(link, error));
    if (link.isClosed) {
      this.#onClose(link, undefined);
      return;
    }
    const prefetch = this.#held.limit;
    link.send({ type: 'register', nodeId: this.nodeId, capacity: this.#offered(), prefetch, tasks: this.#taskNames });
    this.#options.logger.info({ managerId: link.managerId, manager: `${this.#options.host}:${this.#options.port}`, capacity: this.#offered(), prefetch }, 'registered with manager');
    this.emit('connected', { managerId: link.managerId });
  }

  /** Slots the manager may fill: none while draining, else capacity less leftovers of lost links. */
  #offered(): number {
    return this.#state === RUNNING ? Math.max(0, this.#pool.capacity - this.#leftovers) : 0;
  }

  #onMessage(link: ManagerLink, message: ManagerToClient | ManagerToWorker): void {
    if (link !== this.#link) return;
    if (message.type === 'dispatch') this.#dispatch(link, message);
    else if (message.type === 'abort') {
      if (this.#tasks.get(message.token) !== this.#epoch) return;
      const held = this.#held.take(message.token);
      if (held === undefined) this.#pool.abort(message.token, message.reason);
      else this.#endHeld(held, message.reason);
    }
  }

  #dispatch(link: ManagerLink, message: Dispatch): void {
    const token = message.token;
    // An unknown name is answered `failed` by the pool at once, without taking a slot.
    const needsSlot = this.#knownTasks.has(message.name);
    const startsNow = !needsSlot || (this.#pool.hasFreeSlot && this.#held.size === 0);
    if (this.#state !== RUNNING || this.#tasks.has(token) || !(startsNow || this.#held.hasRoom)) {
      // Past its slots and prefetch: hand it back at once, re-queued without using an attempt.
      this.#send(link, { type: 'outcome', token, status: 'returned' });
      return;
    }
    const epoch = this.#epoch;
    this.#tasks.set(token, epoch);
    if (startsNow) this.#run(message, epoch);
    else this.#held.hold({ dispatch: message, epoch, heldAt: performance.now() });
  }

  #run(dispatch: Dispatch, epoch: number): void {
    if (this.#history !== undefined) {
      this.#history.record({ ev: 'start', at: historyTime(), id: dispatch.id, name: dispatch.name, attempt: dispatch.attempt, token: dispatch.token, node: this.#historyNode, pid: process.pid });
    }
    const startedAt = performance.now();
    // Dispatch has every field of ExecutionRequest: pass it as is.
    void this.#pool.run(dispatch).then((result) => this.#finish(dispatch.token, epoch, result, dispatch, performance.now() - startedAt));
  }

  /** Starts held tasks on the slots free now, oldest first. */
  #startHeld(): void {
    while (this.#held.size > 0 && this.#pool.hasFreeSlot && this.#state === RUNNING) {
      const { dispatch, epoch, heldAt } = this.#held.shift()!;
      this.#run(startedAfter(dispatch, performance.now() - heldAt), epoch);
    }
  }

  /** Answers a held task that never started: aborted for `reason`, or handed back on shutdown. */
  #endHeld(held: HeldTask, reason: AbortReason): void {
    const token = held.dispatch.token;
    this.#tasks.delete(token);
    const link = this.#link;
    if (link === undefined || held.epoch !== this.#epoch) return;
    this.#send(link, reason === 'shutdown' ? { type: 'outcome', token, status: 'returned' } : { type: 'outcome', token, status: 'aborted', reason });
  }

  #finish(token: number, epoch: number, result: ExecutionResult, dispatch: Dispatch, runMs: number): void {
    this.#tasks.delete(token);
    this.#startHeld();
    const link = this.#link;
    const current = epoch === this.#epoch && link !== undefined;
    const delivered = current && this.#sendOutcome(link, token, result, runMs);
    if (this.#history !== undefined) this.#history.record(endEvent(dispatch, token, result, delivered, this.#historyNode));
    if (!current) {
      this.#leftovers -= 1;
      if (link !== undefined && this.#state === RUNNING) this.#send(link, { type: 'capacity', capacity: this.#offered() });
    }
    if (this.#tasks.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  get #historyNode(): string {
    return this.#options.name ?? this.nodeId;
  }

  /** False when the outcome could not be sent. */
  #sendOutcome(link: ManagerLink, token: number, result: ExecutionResult, runMs: number): boolean {
    if (this.#send(link, outcomeOf(token, result, runMs))) return true;
    if (result.status !== 'completed') return false;
    return this.#send(link, unencodableResult(token, runMs));
  }

  /** False when the message could not be encoded; the link's own buffering handles back pressure. */
  #send(link: ManagerLink, message: WorkerMessage): boolean {
    try {
      link.send(message);
      return true;
    } catch (error) {
      this.#options.logger.error({ err: error, type: message.type }, 'cannot send to manager');
      return false;
    }
  }

  #onClose(link: ManagerLink, error: Error | undefined): void {
    if (link !== this.#link) return;
    this.#link = undefined;
    // Held tasks never started: the manager re-queues them with the rest of the link's tasks.
    for (const held of this.#held.takeAll()) this.#tasks.delete(held.dispatch.token);
    this.#leftovers = this.#tasks.size;
    if (this.#state === RUNNING || this.#state === DRAINING) {
      // Their outcomes can no longer be delivered; the manager re-queues them.
      const reason = this.#state === RUNNING ? 'cancelled' : 'shutdown';
      for (const token of this.#tasks.keys()) this.#pool.abort(Number(token), reason);
      this.#options.logger.warn({ err: error, running: this.#tasks.size }, 'lost the link to the manager');
    }
    this.emit('disconnected', error);
    const resolve = this.#linkClosed;
    this.#linkClosed = undefined;
    resolve?.();
  }

  /** Hands every held task back (no attempt used), so another node runs it now. */
  #returnHeld(): void {
    for (const held of this.#held.takeAll()) this.#endHeld(held, 'shutdown');
  }

  #whenIdle(): Promise<void> {
    if (this.#tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  drain(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = options.timeoutMs === undefined ? this.#options.drainTimeoutMs : integerOption('timeoutMs', options.timeoutMs, 0, MAX_TIMER_MS);
      options.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state === CLOSED && this.#draining === undefined) return Promise.resolve();
    this.#draining ??= this.#drain(timeoutMs);
    return withSignal(this.#draining, options.signal);
  }

  async #drain(timeoutMs: number): Promise<void> {
    this.#state = DRAINING;
    this.#lifetime.abort();
    const link = this.#link;
    if (link !== undefined) this.#send(link, { type: 'capacity', capacity: 0 });
    this.#returnHeld();
    this.#options.logger.info({ running: this.#tasks.size, timeoutMs }, 'draining');
    if (this.#tasks.size > 0) {
      const timer = new AbortController();
      await Promise.race([this.#whenIdle(), sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => {})]);
      timer.abort();
      if (this.#tasks.size > 0) {
        this.#options.logger.warn({ running: this.#tasks.size }, 'drain timeout: handing back running tasks');
        for (const token of this.#tasks.keys()) this.#pool.abort(Number(token), 'shutdown');
        // Bounded: the pool terminates handlers that ignore the abort after abortGraceMs.
        await this.#whenIdle();
      }
    }
    if (this.#state === DRAINING) this.#state = DRAINED;
    await this.#closeLink();
  }

  async #closeLink(): Promise<void> {
    const link = this.#link;
    if (link !== undefined) await link.close();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = CLOSED;
    this.#lifetime.abort();
    this.#detachSignal?.();
    this.#returnHeld();
    const failures: unknown[] = [];
    // Running tasks settle as aborted/shutdown and are handed back on the link while it is up.
    let poolClosed = true;
    await this.#pool.close().catch((error: unknown) => {
      poolClosed = false;
      failures.push(error);
    });
    if (poolClosed) await this.#whenIdle();
    await this.#closeLink().catch((error: unknown) => failures.push(error));
    await this.#loop?.catch((error: unknown) => failures.push(error));
    this.#history?.close();
    if (failures.length > 0) {
      throw new AggregateError(failures, 'Closing the worker node failed');
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

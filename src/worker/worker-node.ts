import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { dial } from '../protocol/index.js';
import { MAX_NESTING, nestsDeeperThan } from '../protocol/codec.js';
import type { PeerLink } from '../protocol/link.js';
import type { Dispatch, ManagerToClient, ManagerToWorker, Outcome, WorkerMessage } from '../protocol/messages.js';
import { createTaskPool } from './pool/task-pool.js';
import { integerOption, MAX_TIMER_MS } from './pool/options.js';
import type { ExecutionResult, TaskPool } from './pool/types.js';
import { backoffDelay } from './backoff.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.js';
import { withSignal } from './with-signal.js';
import type { ExecutionStatus, HistoryRecorder } from '../core/history/events.js';
import { historyTime, openHistory } from '../protocol/history-file.js';

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
 */
const RUNNING = 0;
const DRAINING = 1;
const DRAINED = 2;
const CLOSED = 3;
type NodeState = typeof RUNNING | typeof DRAINING | typeof DRAINED | typeof CLOSED;

class PooledWorkerNode extends EventEmitter<WorkerNodeEvents> implements WorkerNode {
  readonly nodeId: string;
  readonly #options: ResolvedWorkerOptions;
  readonly #pool: TaskPool;
  readonly #taskNames: string[];
  readonly #knownTasks: ReadonlySet<string>;
  /** token → epoch of the link it was dispatched on. */
  readonly #tasks = new Map<number, number>();
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
    this.#taskNames = [...pool.taskNames];
    this.#knownTasks = new Set(pool.taskNames);
  }

  get running(): number {
    return this.#tasks.size;
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
    link.send({ type: 'register', nodeId: this.nodeId, capacity: this.#offered(), tasks: this.#taskNames });
    this.#options.logger.info({ managerId: link.managerId, manager: `${this.#options.host}:${this.#options.port}`, capacity: this.#offered() }, 'registered with manager');
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
      if (this.#tasks.get(message.token) === this.#epoch) this.#pool.abort(message.token, message.reason);
    }
  }

  #dispatch(link: ManagerLink, message: Dispatch): void {
    const token = message.token;
    // An unknown name is answered `failed` by the pool at once, without taking a slot.
    const needsSlot = this.#knownTasks.has(message.name);
    if (this.#state !== RUNNING || (needsSlot && !this.#pool.hasFreeSlot) || this.#tasks.has(token)) {
      // Never queue: hand it back at once, the manager re-queues it without using an attempt.
      this.#send(link, { type: 'outcome', token, status: 'returned' });
      return;
    }
    const epoch = this.#epoch;
    this.#tasks.set(token, epoch);
    if (this.#history !== undefined) {
      this.#history.record({ ev: 'start', at: historyTime(), id: message.id, name: message.name, attempt: message.attempt, token, node: this.#historyNode, pid: process.pid });
    }
    // Dispatch has every field of ExecutionRequest: pass it as is.
    void this.#pool.run(message).then((result) => this.#finish(token, epoch, result, message));
  }

  #finish(token: number, epoch: number, result: ExecutionResult, dispatch: Dispatch): void {
    this.#tasks.delete(token);
    const link = this.#link;
    const current = epoch === this.#epoch && link !== undefined;
    const delivered = current && this.#sendOutcome(link, token, result);
    if (this.#history !== undefined) this.#recordEnd(dispatch, token, result, delivered);
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

  #recordEnd(dispatch: Dispatch, token: number, result: ExecutionResult, delivered: boolean): void {
    let status: ExecutionStatus = result.status;
    let reason: string | undefined;
    if (result.status === 'aborted') {
      if (result.reason === 'shutdown') status = 'returned';
      else reason = result.reason;
    }
    this.#history!.record({
      ev: 'end', at: historyTime(), id: dispatch.id, attempt: dispatch.attempt, token, node: this.#historyNode, pid: process.pid,
      status, ...(reason === undefined ? {} : { reason }), delivered,
    });
  }

  /** False when the outcome could not be sent. */
  #sendOutcome(link: ManagerLink, token: number, result: ExecutionResult): boolean {
    let outcome: Outcome;
    switch (result.status) {
      case 'completed':
        // The outcome is one level around the result; the manager refuses deeper frames.
        outcome = nestsDeeperThan(result.result, MAX_NESTING - 1)
          ? { type: 'outcome', token, status: 'failed', error: { name: 'ResultEncodeError', message: `The task result nests deeper than ${MAX_NESTING - 1} levels of objects and arrays` } }
          : { type: 'outcome', token, status: 'completed', result: result.result };
        break;
      case 'failed': outcome = { type: 'outcome', token, status: 'failed', error: result.error }; break;
      case 'crashed': outcome = { type: 'outcome', token, status: 'crashed', error: result.error }; break;
      default:
        // Stopped for shutdown: handed back, re-queued without using an attempt.
        outcome = result.reason === 'shutdown'
          ? { type: 'outcome', token, status: 'returned' }
          : { type: 'outcome', token, status: 'aborted', reason: result.reason };
    }
    if (this.#send(link, outcome)) return true;
    if (result.status !== 'completed') return false;
    return this.#send(link, { type: 'outcome', token, status: 'failed', error: { name: 'ResultEncodeError', message: 'The task result cannot be encoded for the wire (msgpack)' } });
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
    this.#leftovers = this.#tasks.size;
    if (this.#state === RUNNING || this.#state === DRAINING) {
      // Their outcomes can no longer be delivered; the manager re-queues them.
      const reason = this.#state === RUNNING ? 'cancelled' : 'shutdown';
      for (const token of this.#tasks.keys()) this.#pool.abort(token, reason);
      this.#options.logger.warn({ err: error, running: this.#tasks.size }, 'lost the link to the manager');
    }
    this.emit('disconnected', error);
    const resolve = this.#linkClosed;
    this.#linkClosed = undefined;
    resolve?.();
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
    this.#options.logger.info({ running: this.#tasks.size, timeoutMs }, 'draining');
    if (this.#tasks.size > 0) {
      const timer = new AbortController();
      await Promise.race([this.#whenIdle(), sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => {})]);
      timer.abort();
      if (this.#tasks.size > 0) {
        this.#options.logger.warn({ running: this.#tasks.size }, 'drain timeout: handing back running tasks');
        for (const token of this.#tasks.keys()) this.#pool.abort(token, 'shutdown');
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

/**
 * Starts the task pool (loading the module to learn its tasks), dials the manager once and
 * resolves — connected or not; it keeps reconnecting in the background with exponential backoff
 * and full jitter. Rejects on invalid options (InvalidArgumentError), an unusable task module
 * (TaskModuleError) or `signal`.
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerNode> {
  const resolved = resolveWorkerOptions(options);
  const signal = options.signal;
  signal?.throwIfAborted();
  const pool = await createTaskPool({
    tasksModule: resolved.tasks,
    capacity: resolved.capacity,
    isolation: resolved.isolation,
    threads: resolved.threads,
    taskTimeoutMs: resolved.taskTimeoutMs,
    abortGraceMs: resolved.abortGraceMs,
    maxOldGenerationSizeMb: resolved.maxOldGenerationSizeMb,
    signal,
    logger: resolved.logger,
  });
  let history: HistoryRecorder | undefined;
  try {
    history = openHistory(resolved.history);
  } catch (error) {
    await pool.close().catch(() => {});
    throw error;
  }
  const node = new PooledWorkerNode(resolved, pool, history);
  try {
    await node.start(signal);
  } catch (error) {
    await node.close().catch(() => {});
    throw error;
  }
  return node;
}

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from '../core/errors.js';
import { DEFAULT_PRIORITY } from '../core/priority.js';
import type { TaskArgs, TaskMap, TaskName, TaskResult } from '../core/tasks.js';
import { MAX_NESTING, nestsDeeperThan } from '../protocol/codec.js';
import type { Busy, ManagerToClient, Submit } from '../protocol/messages.js';
import type { AnswerOutcome, HistoryRecorder } from '../core/history/events.js';
import { historyTime } from '../protocol/history-file.js';
import { busyRetryDelay } from './backoff.js';
import type { Client, ClientEvents } from './client-api.js';
import { BusyError, CancelledError, ClientClosedError, ExpiredError, answerError } from './errors.js';
import { ManagerLink, type ManagerConnection } from './manager-link.js';
import { resolveRunOptions, validateTaskName, type ResolvedClientOptions, type RunOptions } from './options.js';
import { PendingTask, PendingTaskHandle, TaskState, type TaskHandle } from './pending-task.js';
import { IndexedHeap as TimerHeap } from '../core/indexed-heap.js';
import { WaitList } from './wait-list.js';
import { StatusRequests, type StatusOptions } from './status-requests.js';
import type { StatusSnapshot } from '../protocol/status.js';
import { IdTable } from '../core/id-table.js';

/**
 * The client: holds every submitted task until its final answer, retries `busy`, enforces local
 * deadlines, and resubmits unanswered tasks after a reconnection. Connection keeping lives in
 * ManagerLink; this class only ever sees an open connection or none.
 *
 * Timers: one setTimeout for all tasks, armed for the earliest `dueAt` in the timer heap (deadlines
 * and busy wake-ups alike), so the cost per task is a heap push, not a timer.
 */
export class ReconnectingClient<T extends TaskMap = TaskMap> extends EventEmitter<ClientEvents> implements Client<T> {
  readonly #options: ResolvedClientOptions;
  readonly #link: ManagerLink;
  /** ACTIVE and SLEEPING tasks by id. */
  readonly #tasks = new IdTable<PendingTask>();
  readonly #waitList = new WaitList<PendingTask>();
  readonly #heap = new TimerHeap<PendingTask>();
  readonly #status = new StatusRequests();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #connection: ManagerConnection | undefined;
  /** Incremented on every new connection: a task was sent on the current one iff its epoch matches. */
  #epoch = 0;
  #closed: Promise<void> | undefined;
  /** Set synchronously as close() starts, so nothing new is admitted or activated from then on. */
  #isClosed = false;
  /** Set only when recording a history; every hook is one branch on it. */
  readonly #history: HistoryRecorder | undefined;

  constructor(options: ResolvedClientOptions, key: Buffer | undefined, history?: HistoryRecorder) {
    super();
    this.#options = options;
    this.#history = history;
    this.#link = new ManagerLink(options, key, {
      open: (connection) => this.#onOpen(connection),
      message: this.#onMessage,
      lost: (error) => this.#onLost(error),
      trouble: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    });
  }

  /** Used by `connect()`; on failure the client is closed and the error rethrown. */
  async start(): Promise<this> {
    try {
      await this.#link.start();
    } catch (error) {
      await this.close();
      throw error;
    }
    return this;
  }

  get inFlight(): number {
    return this.#tasks.size;
  }

  get waiting(): number {
    return this.#waitList.size;
  }

  get connected(): boolean {
    return this.#connection !== undefined;
  }

  run<K extends TaskName<T>>(name: K, args: TaskArgs<T[K]>, options?: RunOptions): Promise<TaskResult<T[K]>> {
    let task: PendingTask;
    try {
      task = this.#create(name, args, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#admit(task);
    return task.promise as Promise<TaskResult<T[K]>>;
  }

  submit<K extends TaskName<T>>(name: K, args: TaskArgs<T[K]>, options?: RunOptions): Promise<TaskHandle<TaskResult<T[K]>>> {
    let task: PendingTask;
    try {
      task = this.#create(name, args, options);
    } catch (error) {
      return Promise.reject(error);
    }
    task.promise.catch(noop); // see TaskHandle.result
    const admitted = new Promise<TaskHandle<unknown>>((resolve, reject) => {
      task.waiter = { resolve, reject };
    });
    this.#admit(task);
    return admitted as Promise<TaskHandle<TaskResult<T[K]>>>;
  }

  status(options?: StatusOptions): Promise<StatusSnapshot> {
    if (this.#isClosed) return Promise.reject(new ClientClosedError());
    const connection = this.#connection;
    return this.#status.request(connection === undefined ? undefined : (m) => connection.send(m), options);
  }

  watchStatus(): () => void {
    if (this.#isClosed) throw new ClientClosedError();
    if (this.#status.addWatcher()) this.#connection?.send({ type: 'watch', on: true });
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (this.#status.removeWatcher() && !this.#isClosed) this.#connection?.send({ type: 'watch', on: false });
    };
  }

  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #create(name: unknown, args: unknown, options: RunOptions | undefined): PendingTask {
    if (this.#isClosed) throw new ClientClosedError();
    validateTaskName(name);
    // The submit message is one level around the arguments; a manager refuses deeper frames.
    if (nestsDeeperThan(args, MAX_NESTING - 1)) {
      throw new InvalidArgumentError(`Expected the arguments of task ${JSON.stringify(name)} to nest at most ${MAX_NESTING - 1} levels of objects and arrays`);
    }
    if (options === undefined) {
      const timeoutMs = this.#options.timeoutMs;
      const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
      return new PendingTask(randomUUID(), name as string, args, DEFAULT_PRIORITY, deadline, undefined, this.#options.retry, undefined, this.#drop);
    }
    const run = resolveRunOptions(options, this.#options);
    const deadline = run.timeoutMs === undefined ? Infinity : performance.now() + run.timeoutMs;
    const task = new PendingTask(run.id ?? randomUUID(), name as string, args, run.priority, deadline, run.maxAttempts, run.retry, run.signal, this.#drop);
    task.notifyStart = run.notifyStart;
    return task;
  }

  /** Takes a new task in: a slot now, or a place in the wait list. */
  #admit(task: PendingTask): void {
    if (this.#history !== undefined) {
      const deadline = task.deadline === Infinity ? null : historyTime() + (task.deadline - performance.now());
      this.#history.record({ ev: 'submit', at: historyTime(), id: task.id, name: task.name, deadline, proc: process.pid });
    }
    const signal = task.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#settle(task);
        this.#fail(task, signal.reason);
        return;
      }
      signal.addEventListener('abort', task);
    }
    if (task.deadline !== Infinity) {
      this.#heap.push(task);
      this.#arm();
    }
    if (this.#tasks.size < this.#options.maxInFlight && this.#waitList.size === 0) this.#activate(task);
    else this.#waitList.push(task);
  }

  /** Gives `task` a slot and sends it (or leaves it for the next connection). */
  #activate(task: PendingTask): void {
    if (this.#tasks.has(task.id)) {
      this.#settle(task);
      this.#fail(task, new InvalidArgumentError(`Task id ${JSON.stringify(task.id)} is already in flight on this client; ids must be unique`));
      return;
    }
    task.state = TaskState.ACTIVE;
    this.#tasks.set(task.id, task);
    const waiter = task.waiter;
    if (waiter !== undefined) {
      task.waiter = undefined;
      waiter.resolve(new PendingTaskHandle(task));
    }
    if (this.#connection !== undefined) this.#send(task, this.#connection);
  }

  /** Writes a submit with the time left before the deadline; a task out of time expires instead. */
  #send(task: PendingTask, connection: ManagerConnection): void {
    const message: Submit = { type: 'submit', id: task.id, name: task.name, args: task.args, priority: task.priority };
    if (task.deadline !== Infinity) {
      const remaining = task.deadline - performance.now();
      if (remaining <= 0) {
        this.#expire(task);
        return;
      }
      message.deadlineMs = Math.ceil(remaining);
    }
    if (task.maxAttempts !== undefined) message.maxAttempts = task.maxAttempts;
    if (task.notifyStart) message.notifyStart = true;
    try {
      connection.send(message);
    } catch (error) {
      // Only an argument the codec cannot encode gets here; the task cannot ever be sent.
      this.#settle(task);
      this.#fail(task, new InvalidArgumentError(`Could not encode the arguments of task ${JSON.stringify(task.name)}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    task.epoch = this.#epoch;
  }

  readonly #onMessage = (message: ManagerToClient): void => {
    switch (message.type) {
      case 'ping':
        return;
      case 'status':
        if (!this.#status.answer(message.ref, message.snapshot)) this.emit('status', message.snapshot);
        return;
      case 'alert':
        this.emit('alert', message.event);
        return;
    }
    const task = this.#tasks.get(message.id);
    if (task === undefined) {
      // Answered, cancelled or expired here already.
      if (this.#history !== undefined && message.type !== 'started') {
        this.#history.record({ ev: 'stray', at: historyTime(), id: message.id, outcome: message.type, proc: process.pid });
      }
      return;
    }
    switch (message.type) {
      case 'completed':
        this.#settle(task);
        if (this.#history !== undefined) this.#recordAnswer(task, 'completed', 'manager');
        task.resolve(message.result);
        return;
      case 'busy':
        this.#onBusy(task, message);
        return;
      case 'started':
        task.attempt = message.attempt;
        return;
      default:
        this.#settle(task);
        this.#fail(task, answerError(message), 'manager');
    }
  };

  #onBusy(task: PendingTask, busy: Busy): void {
    if (task.state !== TaskState.ACTIVE) return;
    const retries = task.busyCount++;
    const retry = task.retry;
    if (retry !== false && retries < retry.maxRetries) {
      const delayMs = busyRetryDelay(busy.retryAfterMs, retries, retry);
      const wakeAt = performance.now() + delayMs;
      // An attempt landing at or after the deadline could only expire: give up now with the hint.
      if (wakeAt < task.deadline) {
        task.state = TaskState.SLEEPING;
        task.dueAt = wakeAt;
        this.#heap.push(task);
        this.#arm();
        if (this.listenerCount('retry') > 0) {
          this.emit('retry', { taskId: task.id, retry: retries + 1, delayMs, reason: busy.reason, retryAfterMs: busy.retryAfterMs });
        }
        return;
      }
    }
    this.#settle(task);
    this.#fail(task, new BusyError(task.id, busy.reason, busy.retryAfterMs, task.busyCount), 'manager');
  }

  /** Ends a task early: abort (error = signal.reason) or cancel through its handle (undefined). */
  readonly #drop = (task: PendingTask, error: unknown): void => {
    if (task.state === TaskState.DONE) return;
    this.#cancelRemote(task);
    this.#settle(task);
    this.#fail(task, error === undefined ? new CancelledError(task.id) : error);
  };

  #expire(task: PendingTask): void {
    this.#cancelRemote(task);
    this.#settle(task);
    this.#fail(task, new ExpiredError(task.id));
  }

  /** Tells the manager to drop a task it holds for us: only one sent on the current connection. */
  #cancelRemote(task: PendingTask): void {
    const connection = this.#connection;
    if (task.state === TaskState.ACTIVE && task.epoch === this.#epoch && connection !== undefined) {
      connection.send({ type: 'cancel', id: task.id });
    }
  }

  /** Moves `task` to DONE and releases all it holds: slot, heap entry, signal listener. */
  #settle(task: PendingTask): void {
    const state = task.state;
    if (state === TaskState.DONE) return;
    task.state = TaskState.DONE;
    if (task.heapIndex >= 0) {
      this.#heap.remove(task);
      if (this.#heap.size === 0) this.#disarm();
    }
    task.signal?.removeEventListener('abort', task);
    if (state === TaskState.WAITING) {
      this.#waitList.remove(task);
      return;
    }
    this.#tasks.delete(task.id);
    if (this.#waitList.size > 0) this.#pump();
  }

  /** `via`: whether the manager's answer ends the task, or the client gives up on its own. */
  #fail(task: PendingTask, error: unknown, via: 'manager' | 'local' = 'local'): void {
    if (this.#history !== undefined) this.#recordAnswer(task, outcomeOf(error), via);
    const waiter = task.waiter;
    if (waiter !== undefined) {
      task.waiter = undefined;
      waiter.reject(error);
    }
    task.reject(error);
  }

  /** Hands freed slots to waiting calls, in order. */
  #pump(): void {
    while (this.#tasks.size < this.#options.maxInFlight && !this.#isClosed) {
      const next = this.#waitList.shift();
      if (next === undefined) return;
      this.#activate(next);
    }
  }

  #recordAnswer(task: PendingTask, outcome: AnswerOutcome, via: 'manager' | 'local'): void {
    this.#history!.record({ ev: 'answer', at: historyTime(), id: task.id, outcome, via, proc: process.pid });
  }

  // ── the single timer ─────────────────────────────────────────────────────────────────────────

  #arm(): void {
    const next = this.#heap.peek();
    if (next === undefined || next.dueAt >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next.dueAt;
    // Capped: Node fires longer delays at once (and a huge busy hint must not spin the timer).
    this.#timer = setTimeout(this.#onTimer, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(next.dueAt - performance.now()))));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    // A timer may fire up to a millisecond before performance.now() reaches its due time;
    // anything not yet due waits for the re-armed timer, so a retry is never sooner than its hint.
    const now = performance.now();
    for (let task = this.#heap.peek(); task !== undefined && task.dueAt <= now; task = this.#heap.peek()) {
      this.#heap.pop();
      if (task.state === TaskState.SLEEPING) this.#wake(task);
      else this.#expire(task);
    }
    this.#arm();
  };

  /** A busy retry is due: back to ACTIVE under its deadline, and resubmitted if connected. */
  #wake(task: PendingTask): void {
    task.state = TaskState.ACTIVE;
    task.dueAt = task.deadline;
    if (task.deadline !== Infinity) this.#heap.push(task);
    if (this.#connection !== undefined) this.#send(task, this.#connection);
  }

  // ── connection events ────────────────────────────────────────────────────────────────────────

  #onOpen(connection: ManagerConnection): void {
    this.#epoch++;
    // Resubmit everything unanswered under the same ids; sleeping tasks go when they wake. The
    // connection is published only afterwards: a task activated during the loop (a slot freed by
    // an expiry) is then sent once, by the loop, which visits entries added while it runs.
    for (const task of this.#tasks.values()) {
      if (task.state === TaskState.ACTIVE) this.#send(task, connection);
    }
    this.#status.resend((m) => connection.send(m));
    this.#connection = connection;
    this.emit('connected', { managerId: connection.managerId, address: this.#link.address });
  }

  #onLost(error: Error | undefined): void {
    this.#connection = undefined;
    this.emit('disconnected', error);
  }

  async #close(): Promise<void> {
    this.#isClosed = true;
    this.#disarm();
    this.#heap.clear();
    const error = (task: PendingTask): ClientClosedError => new ClientClosedError(task.id);
    for (const task of this.#waitList.drain()) this.#settleClosed(task, error(task));
    for (const task of [...this.#tasks.values()]) {
      this.#cancelRemote(task);
      this.#settleClosed(task, error(task));
    }
    this.#status.close();
    await this.#link.close();
    this.#connection = undefined;
    this.#history?.close();
  }

  #settleClosed(task: PendingTask, error: ClientClosedError): void {
    this.#settle(task);
    this.#fail(task, error);
  }
}

function noop(): void {}

const OUTCOME_BY_CODE: Readonly<Record<string, AnswerOutcome>> = {
  busy: 'busy', task_failed: 'failed', expired: 'expired', worker_lost: 'worker_lost', cancelled: 'cancelled',
  client_closed: 'closed', invalid_argument: 'invalid',
};

/** The history outcome of a task that ended with `error`; anything else was an abort's reason. */
function outcomeOf(error: unknown): AnswerOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' ? OUTCOME_BY_CODE[code] : undefined) ?? 'aborted';
}

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2_147_483_647;

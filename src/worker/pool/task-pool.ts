import { performance } from 'node:perf_hooks';
import type { AbortReason } from '../../protocol/messages.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { TaskModuleError } from '../errors.js';
import { errorSummary, type ExecutionBackend } from './backend.js';
import { IndexedHeap, type HeapItem } from '../../core/indexed-heap.js';
import { MAX_TIMER_MS, resolveTaskPoolOptions, type ResolvedTaskPoolOptions } from './options.js';
import { ProcessBackend } from './process-backend.js';
import { ThreadBackend } from './thread-backend.js';
import { InlineBackend } from './inline-backend.js';
import type { ExecutionRequest, ExecutionResult, TaskPool, TaskPoolOptions } from './types.js';
import { OUTCOME_ABORTED, OUTCOME_COMPLETED, abortCode, abortReason, type EntryOutcome, type TaskPayload } from './wire.js';
import { withSignal } from '../with-signal.js';
import { IdTable } from '../../core/id-table.js';

/**
 * Slot lifecycle (one slot = one task that may run at once):
 *
 *   IDLE ──run──► RUNNING ──abort / deadline──► ABORTING ──grace passed──► KILLING
 *     ▲              │                             │                         │
 *     └──────────────┴─── outcome or crash ────────┴─────────────────────────┘
 *
 * RUNNING and ABORTING slots sit in one heap keyed by their next action time (deadline, then
 * deadline + grace); a single timer serves the earliest. KILLING slots wait for the backend's
 * rejection, which is answered `aborted` with the slot's reason.
 */
const IDLE = 0;
const RUNNING = 1;
const ABORTING = 2;
const KILLING = 3;
type SlotState = typeof IDLE | typeof RUNNING | typeof ABORTING | typeof KILLING;

/** Retry delay when a task to terminate has not reached a thread yet. */
const NOT_STARTED_RETRY_MS = 50;
/** How often a task lost with a thread before it started is posted again before it counts as crashed. */
const MAX_REPOSTS = 3;

const SHUTDOWN: ExecutionResult = Object.freeze({ status: 'aborted', reason: 'shutdown' });
const EXPIRED: ExecutionResult = Object.freeze({ status: 'aborted', reason: 'expired' });
const ABORTED_RESULTS: Readonly<Record<AbortReason, ExecutionResult>> = Object.freeze({
  expired: EXPIRED,
  cancelled: Object.freeze({ status: 'aborted', reason: 'cancelled' }),
  shutdown: SHUTDOWN,
});

class Slot implements HeapItem {
  dueAt = 0;
  heapIndex = -1;
  token = -1;
  state: SlotState = IDLE;
  reason: AbortReason = 'expired';
  /** Kept so a task lost with a thread before it started can be posted again. */
  payload: TaskPayload | undefined;
  /** Times this run was posted again after its thread died before starting it. */
  reposts = 0;
  /** Bound once per slot so the per-task path allocates no closures. */
  readonly onOutcome: (outcome: EntryOutcome) => ExecutionResult;
  readonly onCrash: (error: unknown) => ExecutionResult | Promise<ExecutionResult>;

  constructor(readonly index: number, pool: SlotTaskPool) {
    this.onOutcome = (outcome) => pool.settle(this, outcome);
    this.onCrash = (error) => pool.crash(this, error);
  }
}

class SlotTaskPool implements TaskPool {
  readonly capacity: number;
  readonly taskNames: readonly string[];
  readonly #names: ReadonlySet<string>;
  readonly #options: ResolvedTaskPoolOptions;
  readonly #backend: ExecutionBackend;
  readonly #free: Slot[] = [];
  readonly #byToken = new IdTable<Slot>();
  readonly #heap = new IndexedHeap<Slot>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #onTimer = (): void => this.#fire();

  constructor(options: ResolvedTaskPoolOptions, backend: ExecutionBackend, names: string[]) {
    this.#options = options;
    this.#backend = backend;
    this.capacity = options.capacity;
    this.taskNames = Object.freeze([...names]);
    this.#names = new Set(names);
    // Popped from the end: slot 0 is used first.
    for (let i = options.capacity - 1; i >= 0; i--) this.#free.push(new Slot(i, this));
  }

  get running(): number {
    return this.capacity - this.#free.length;
  }

  get hasFreeSlot(): boolean {
    return !this.#closed && this.#free.length > 0;
  }

  run(request: ExecutionRequest): Promise<ExecutionResult> {
    if (this.#closed) return Promise.resolve(SHUTDOWN);
    if (!this.#names.has(request.name)) {
      return Promise.resolve({ status: 'failed', error: { name: 'UnknownTaskError', message: `No task named ${JSON.stringify(request.name)} in this worker's task module` } });
    }
    if (this.#byToken.has(request.token)) {
      return Promise.resolve({ status: 'failed', error: { name: 'DuplicateTokenError', message: `Token ${request.token} is already running` } });
    }
    const { deadlineMs } = request;
    let budget = this.#options.taskTimeoutMs;
    let deadline: number | undefined;
    if (deadlineMs !== undefined) {
      if (!(deadlineMs > 0)) return Promise.resolve(EXPIRED);
      budget = deadlineMs;
      deadline = Date.now() + deadlineMs;
    }
    const slot = this.#free.pop();
    if (slot === undefined) {
      return Promise.resolve({ status: 'failed', error: { name: 'CapacityError', message: `All ${this.capacity} slots are busy; check hasFreeSlot before run()` } });
    }
    slot.token = request.token;
    slot.state = RUNNING;
    slot.reposts = 0;
    this.#byToken.set(request.token, slot);
    this.#schedule(slot, performance.now() + budget);
    const payload: TaskPayload = {
      token: request.token, id: request.id, name: request.name, args: request.args, attempt: request.attempt, deadline, slot: slot.index,
    };
    slot.payload = payload;
    return this.#backend.run(slot.index, payload).then(slot.onOutcome, slot.onCrash);
  }

  abort(token: number, reason: AbortReason): void {
    const slot = this.#byToken.get(token);
    if (slot === undefined || slot.state !== RUNNING) return;
    this.#startAbort(slot, reason, performance.now());
    this.#arm();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // Rejects every running task: `crash` answers them `aborted`/`shutdown` since #closed is set.
    await this.#backend.destroy();
  }

  /** Called through Slot.onOutcome. */
  settle(slot: Slot, outcome: EntryOutcome): ExecutionResult {
    this.#release(slot);
    switch (outcome[0]) {
      case OUTCOME_COMPLETED: return { status: 'completed', result: outcome[1] };
      case OUTCOME_ABORTED: return ABORTED_RESULTS[abortReason(outcome[1])];
      default: return { status: 'failed', error: outcome[1] };
    }
  }

  /**
   * Called through Slot.onCrash: the thread or process running the task died. A task that had not
   * started yet (queued behind a handler that blocked its thread) did nothing wrong: it is posted
   * again to a replacement thread, or answered `aborted` if an abort was already requested.
   */
  crash(slot: Slot, error: unknown): ExecutionResult | Promise<ExecutionResult> {
    let result: ExecutionResult;
    if (slot.state === KILLING) result = ABORTED_RESULTS[slot.reason];
    else if (this.#closed) result = SHUTDOWN;
    else if (!this.#backend.wasStarted(slot.index) && slot.state === ABORTING) result = ABORTED_RESULTS[slot.reason];
    else if (!this.#backend.wasStarted(slot.index) && slot.reposts < MAX_REPOSTS) {
      slot.reposts += 1;
      return this.#backend.run(slot.index, slot.payload!).then(slot.onOutcome, slot.onCrash);
    } else {
      let summary: { name: string; message: string };
      try {
        summary = this.#backend.crashError(slot.index, error);
      } catch {
        summary = errorSummary(error);
      }
      result = { status: 'crashed', error: summary };
    }
    this.#release(slot);
    return result;
  }

  #release(slot: Slot): void {
    this.#heap.remove(slot);
    this.#byToken.delete(slot.token);
    slot.state = IDLE;
    slot.token = -1;
    slot.payload = undefined;
    this.#free.push(slot);
  }

  #startAbort(slot: Slot, reason: AbortReason, now: number): void {
    slot.state = ABORTING;
    slot.reason = reason;
    this.#backend.sendAbort(slot.index, slot.token, abortCode(reason));
    this.#heap.update(slot, now + this.#options.abortGraceMs);
  }

  #schedule(slot: Slot, dueAt: number): void {
    this.#heap.update(slot, dueAt);
    if (dueAt < this.#timerAt) this.#arm();
  }

  /** Keeps one timer armed for the earliest due slot; a later one is left to fire and re-arm. */
  #arm(): void {
    const top = this.#heap.peek();
    if (top === undefined || this.#closed) return;
    if (this.#timer !== undefined && this.#timerAt <= top.dueAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = top.dueAt;
    this.#timer = setTimeout(this.#onTimer, Math.min(MAX_TIMER_MS, Math.max(0, top.dueAt - performance.now())));
    // Running tasks keep the process alive through the pool, not through this timer.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    // Each pass moves the top slot to a later time or out of the heap, so this ends: at most
    // two passes per slot when abortGraceMs is 0 (abort, then terminate).
    for (let top = this.#heap.peek(); top !== undefined && top.dueAt <= now + 1; top = this.#heap.peek()) {
      if (top.state === RUNNING) {
        this.#startAbort(top, 'expired', now);
      } else if (this.#backend.terminate(top.index, top.token)) {
        top.state = KILLING;
        this.#heap.remove(top);
      } else {
        this.#heap.update(top, now + Math.max(this.#options.abortGraceMs, NOT_STARTED_RETRY_MS));
      }
    }
    this.#arm();
  }
}

function createBackend(options: ResolvedTaskPoolOptions, logger: Logger): ExecutionBackend {
  switch (options.isolation) {
    case 'process': return new ProcessBackend(options, logger);
    case 'none': return new InlineBackend(options, logger);
    default: return new ThreadBackend(options, logger);
  }
}

/**
 * Starts the threads (or processes), loads the task module in one of them to learn its task names,
 * and resolves once the pool can run tasks. Rejects with InvalidArgumentError for bad options and
 * TaskModuleError when the module cannot be loaded, has no default export of handlers, or is empty.
 */
export async function createTaskPool(options: TaskPoolOptions): Promise<TaskPool> {
  const resolved = resolveTaskPoolOptions(options);
  const signal = options.signal;
  signal?.throwIfAborted();
  const logger = options.logger ?? silentLogger;
  const backend = createBackend(resolved, logger);
  try {
    let described;
    try {
      described = await withSignal(backend.describe(), signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new TaskModuleError(resolved.tasksModule, `Task module ${resolved.tasksModule} could not be loaded: the ${resolved.isolation} loading it died (${errorSummary(error).message})`, { cause: error });
    }
    if (!described.ok) throw new TaskModuleError(resolved.tasksModule, described.error.message);
    return new SlotTaskPool(resolved, backend, described.names);
  } catch (error) {
    await backend.destroy().catch(() => {});
    throw error;
  }
}

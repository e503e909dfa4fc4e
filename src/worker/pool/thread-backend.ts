import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/logger.js';
import { errorSummary, type ExecutionBackend } from './backend.js';
import type { ResolvedTaskPoolOptions } from './options.js';
import {
  OUTCOME_FAILED, RUN_FIELDS, packRun,
  type AbortCode, type DescribeOutcome, type EntryOutcome, type MainToThread, type TaskPayload, type ThreadToMain, type ThreadWorkerData,
} from './wire.js';
import { IdTable } from '../../core/id-table.js';

const ENTRY = fileURLToPath(new URL('./thread-entry.js', import.meta.url));
/** How many terminated threads we remember, to explain the crash of tasks that shared them. */
const KILLED_MEMORY = 64;

interface Waiter<T = EntryOutcome> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One thread of the pool as this side sees it. */
class PoolThread {
  /** Runs handed to it and not yet answered, by token (those still in `outbox` included). */
  readonly waiters = new IdTable<Waiter>();
  /** Runs handed to it this turn (packed, see packRun), posted together by the next flush. */
  outbox: unknown[] = [];
  readonly describing: Waiter<DescribeOutcome>[] = [];
  /** What it reported before exiting ('error'), if anything. */
  failure: unknown = undefined;
  exited = false;

  constructor(readonly worker: Worker) {}

  /** Referenced only while it owes an answer: an idle pool must not keep the process alive. */
  hold(): void {
    if (this.waiters.size === 0 && this.describing.length === 0) this.worker.ref();
  }

  release(): void {
    if (this.waiters.size === 0 && this.describing.length === 0) this.worker.unref();
  }
}

/**
 * Worker threads, several tasks per thread, with batched hand-over: every run handed to a thread
 * in one event-loop turn travels in one message, and each thread answers every outcome of one of
 * its turns in one message (thread-entry.ts).
 *
 * Why not piscina, which this pool used before: piscina posts one message per task each way (and
 * wraps each in an AsyncResource), which measured 12.6 µs of CPU per no-op task with 100 in flight
 * against 2 µs batched; for short tasks that hand-over was most of a worker node's cost per task
 * and what held the HTTP gateway to 40% of a bare node:http server. piscina has no batch API, and
 * a batch run as one piscina task would hold every result until the slowest handler of the batch.
 *
 * What is kept from the piscina design: a fixed number of threads (`threads`), each run on the
 * thread with the fewest runs; a thread that exits is replaced at once, its unanswered runs
 * rejected; the thread's event loop runs freely between tasks (no Atomics.wait), so timers a task
 * module keeps and handlers left running go on. Aborts reach a running handler by message and a
 * not yet started one through a shared table (`aborts[slot]`), which the thread reads when the run
 * starts; the thread records in `started[slot]` that it took the run, so the pool knows whether a
 * lost run did anything and which thread to terminate when a handler ignores its abort.
 */
export class ThreadBackend implements ExecutionBackend {
  readonly #options: ResolvedTaskPoolOptions;
  readonly #logger: Logger;
  readonly #workerData: ThreadWorkerData;
  readonly #started: Int32Array;
  readonly #aborts: Int32Array;
  readonly #threads: PoolThread[] = [];
  /** The thread each slot's run was handed to. */
  readonly #slotThread: (PoolThread | undefined)[];
  /** threadId → token whose handler ignored its abort and got the thread terminated. */
  readonly #killed = new Map<number, number>();
  #flushScheduled = false;
  #destroyed: Promise<void> | undefined;
  readonly #flush = (): void => this.#flushAll();

  constructor(options: ResolvedTaskPoolOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    const started = new SharedArrayBuffer(options.capacity * Int32Array.BYTES_PER_ELEMENT);
    const aborts = new SharedArrayBuffer(options.capacity * Int32Array.BYTES_PER_ELEMENT);
    this.#started = new Int32Array(started);
    this.#aborts = new Int32Array(aborts);
    this.#slotThread = new Array<PoolThread | undefined>(options.capacity).fill(undefined);
    this.#workerData = { tasksModule: options.tasksModule, started, aborts };
    for (let i = 0; i < options.threads; i++) this.#spawn();
  }

  describe(): Promise<DescribeOutcome> {
    const thread = this.#threads[0];
    if (thread === undefined) return Promise.reject(new Error('The thread pool is destroyed'));
    return new Promise<DescribeOutcome>((resolve, reject) => {
      thread.hold();
      thread.describing.push({ resolve, reject });
      this.#post(thread, { type: 'describe' });
    });
  }

  run(slot: number, payload: TaskPayload): Promise<EntryOutcome> {
    Atomics.store(this.#started, slot, 0);
    Atomics.store(this.#aborts, slot, 0);
    const thread = this.#leastBusy();
    if (thread === undefined) return Promise.reject(new Error('The thread pool is destroyed'));
    this.#slotThread[slot] = thread;
    return new Promise<EntryOutcome>((resolve, reject) => {
      thread.hold();
      thread.waiters.set(payload.token, { resolve, reject });
      packRun(thread.outbox, payload);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  sendAbort(slot: number, token: number, code: AbortCode): void {
    // The table covers a run not started yet (still in the outbox, or queued in the thread); the
    // message reaches one already running.
    Atomics.store(this.#aborts, slot, code);
    const thread = this.#slotThread[slot];
    if (thread !== undefined && !thread.exited) this.#post(thread, { type: 'abort', token, code });
  }

  terminate(slot: number, token: number): boolean {
    const threadId = Atomics.load(this.#started, slot);
    if (threadId === 0) return false;
    const thread = this.#slotThread[slot];
    // Gone already: its runs are being rejected.
    if (thread === undefined || thread.exited) return true;
    this.#killed.set(threadId, token);
    if (this.#killed.size > KILLED_MEMORY) this.#killed.delete(this.#killed.keys().next().value!);
    void thread.worker.terminate();
    return true;
  }

  wasStarted(slot: number): boolean {
    return Atomics.load(this.#started, slot) !== 0;
  }

  crashError(slot: number, error: unknown): { name: string; message: string } {
    const killer = this.#killed.get(Atomics.load(this.#started, slot));
    if (killer !== undefined) {
      return {
        name: 'ThreadTerminatedError',
        message: `The thread running this task was terminated because another task on it (token ${killer}) ignored its abort signal`,
      };
    }
    return errorSummary(error);
  }

  destroy(): Promise<void> {
    this.#destroyed ??= Promise.all(this.#threads.map((thread) => thread.worker.terminate())).then(() => {});
    return this.#destroyed;
  }

  #spawn(): void {
    const worker = new Worker(ENTRY, {
      workerData: this.#workerData,
      ...(this.#options.maxOldGenerationSizeMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: this.#options.maxOldGenerationSizeMb } }),
    });
    worker.unref();
    const thread = new PoolThread(worker);
    worker.on('message', (message: ThreadToMain) => this.#onMessage(thread, message));
    // An uncaught exception or an unhandled rejection in the thread, or running out of memory:
    // 'exit' follows, which answers its runs.
    worker.on('error', (error: unknown) => {
      thread.failure ??= error;
    });
    worker.on('exit', (code) => this.#onExit(thread, code));
    // A batch that cannot be read here leaves its runs unanswered: each is then aborted at its
    // deadline and, if its handler does not stop, its thread is replaced, as for any stuck run.
    worker.on('messageerror', (error: unknown) => this.#logger.warn({ err: error }, 'a message from a pool thread could not be read'));
    this.#threads.push(thread);
  }

  #leastBusy(): PoolThread | undefined {
    let best: PoolThread | undefined;
    for (const thread of this.#threads) {
      if (best === undefined || thread.waiters.size < best.waiters.size) best = thread;
    }
    return best;
  }

  #flushAll(): void {
    this.#flushScheduled = false;
    for (const thread of this.#threads) {
      if (thread.outbox.length === 0) continue;
      const runs = thread.outbox;
      thread.outbox = [];
      this.#postRuns(thread, runs);
    }
  }

  /** Arguments that cannot be cloned (possible in-process, never off the wire) fail their own run only. */
  #postRuns(thread: PoolThread, runs: unknown[]): void {
    try {
      thread.worker.postMessage({ type: 'run', runs } satisfies MainToThread);
    } catch (error) {
      if (runs.length > RUN_FIELDS) {
        for (let at = 0; at < runs.length; at += RUN_FIELDS) this.#postRuns(thread, runs.slice(at, at + RUN_FIELDS));
        return;
      }
      const { message } = errorSummary(error);
      this.#settle(thread, runs[0] as number, [OUTCOME_FAILED, { name: 'DataCloneError', message: `The task's arguments cannot be passed to a thread: ${message}` }]);
    }
  }

  #post(thread: PoolThread, message: MainToThread): void {
    thread.worker.postMessage(message);
  }

  #onMessage(thread: PoolThread, message: ThreadToMain): void {
    if (message.type === 'outcomes') {
      const outcomes = message.outcomes;
      for (let i = 0; i < outcomes.length; i += 3) this.#settle(thread, outcomes[i] as number, [outcomes[i + 1], outcomes[i + 2]] as EntryOutcome);
    } else {
      const waiter = thread.describing.shift();
      thread.release();
      waiter?.resolve(message.outcome);
    }
  }

  #settle(thread: PoolThread, token: number, outcome: EntryOutcome): void {
    const waiter = thread.waiters.get(token);
    if (waiter === undefined) return;
    thread.waiters.delete(token);
    thread.release();
    waiter.resolve(outcome);
  }

  #onExit(thread: PoolThread, code: number): void {
    thread.exited = true;
    thread.outbox = [];
    const index = this.#threads.indexOf(thread);
    if (index !== -1) this.#threads.splice(index, 1);
    const error = thread.failure ?? new Error(`The thread running this task exited (code: ${code})`);
    const owed: Array<{ reject(error: unknown): void }> = [...thread.waiters.values(), ...thread.describing];
    thread.waiters.clear();
    thread.describing.length = 0;
    for (const waiter of owed) waiter.reject(error);
    if (this.#destroyed !== undefined) return;
    if (owed.length === 0 && thread.failure !== undefined) {
      this.#logger.warn({ err: thread.failure }, 'task pool thread failed outside a task');
    }
    this.#spawn();
  }
}

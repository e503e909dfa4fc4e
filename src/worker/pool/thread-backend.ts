import { fileURLToPath } from 'node:url';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from '../../core/logger.js';
import { errorSummary, uniquePoolName, type ExecutionBackend } from './backend.js';
import type { ResolvedTaskPoolOptions } from './options.js';
import type { AbortCode, DescribeOutcome, EntryOutcome, TaskPayload, ThreadWorkerData } from './wire.js';

const ENTRY = fileURLToPath(new URL('./entry.js', import.meta.url));
/** How many terminated threads we remember, to explain the crash of tasks that shared them. */
const KILLED_MEMORY = 64;

/**
 * Worker threads via piscina, `ceil(capacity / threads)` tasks per thread.
 *
 * Atomics mode: `async`. In piscina's default `sync` mode an idle thread blocks in `Atomics.wait`
 * until the next task arrives, which freezes everything else in that thread between tasks: timers
 * a task module keeps (connection-pool keep-alives, metric flushes), work a handler left running,
 * and our abort channel. `async` waits with `Atomics.waitAsync`, so the thread's event loop keeps
 * running; concurrent async handlers in one thread work in either mode while any task is in flight.
 * `disabled` would also be correct but gives up the shared-memory fast path. See piscina's README
 * (`atomics`) and piscinajs/piscina#346 / #687.
 *
 * We never pass piscina a per-task `signal`: piscina runs a task that has one alone on its thread
 * (no concurrency). Instead each thread records in a shared table which thread runs which slot,
 * and the pool terminates that thread directly when a handler ignores its abort.
 */
export class ThreadBackend implements ExecutionBackend {
  readonly #pool: Piscina;
  readonly #started: Int32Array;
  readonly #aborts: Int32Array;
  readonly #channel: BroadcastChannel;
  /** threadId → token whose handler ignored its abort and got the thread terminated. */
  readonly #killed = new Map<number, number>();

  constructor(options: ResolvedTaskPoolOptions, logger: Logger) {
    const channelName = uniquePoolName();
    const started = new SharedArrayBuffer(options.capacity * Int32Array.BYTES_PER_ELEMENT);
    const aborts = new SharedArrayBuffer(options.capacity * Int32Array.BYTES_PER_ELEMENT);
    this.#started = new Int32Array(started);
    this.#aborts = new Int32Array(aborts);
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.unref();
    const workerData: ThreadWorkerData = { tasksModule: options.tasksModule, started, aborts, channel: channelName };
    this.#pool = new Piscina({
      filename: ENTRY,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: Math.ceil(options.capacity / options.threads),
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'async',
      workerData,
      ...(options.maxOldGenerationSizeMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb } }),
    });
    // Errors of a thread with no task in flight (e.g. a rejection a handler left behind): the
    // thread is replaced; without a listener piscina's 'error' event would crash the node.
    this.#pool.on('error', (error: unknown) => logger.warn({ err: error }, 'task pool thread failed outside a task'));
  }

  describe(): Promise<DescribeOutcome> {
    return this.#pool.run(null, { name: 'describe' }) as Promise<DescribeOutcome>;
  }

  run(slot: number, payload: TaskPayload): Promise<EntryOutcome> {
    Atomics.store(this.#started, slot, 0);
    Atomics.store(this.#aborts, slot, 0);
    return this.#pool.run(payload) as Promise<EntryOutcome>;
  }

  sendAbort(slot: number, token: number, code: AbortCode): void {
    // The table covers a task still queued for a thread (it reads the table when it starts);
    // the broadcast reaches one already running.
    Atomics.store(this.#aborts, slot, code);
    this.#channel.postMessage([token, code]);
  }

  terminate(slot: number, token: number): boolean {
    const threadId = Atomics.load(this.#started, slot);
    if (threadId === 0) return false;
    const thread = this.#pool.threads.find((t) => t.threadId === threadId);
    // Not found: that thread already exited and piscina is rejecting its tasks.
    if (thread === undefined) return true;
    this.#killed.set(threadId, token);
    if (this.#killed.size > KILLED_MEMORY) this.#killed.delete(this.#killed.keys().next().value!);
    void thread.terminate();
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

  async destroy(): Promise<void> {
    this.#channel.close();
    await this.#pool.destroy();
  }
}

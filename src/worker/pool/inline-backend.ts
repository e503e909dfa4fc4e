import type { Logger } from '../../core/logger.js';
import { errorSummary, type ExecutionBackend } from './backend.js';
import type { ResolvedTaskPoolOptions } from './options.js';
import { TaskRun, describeHandlers, execute, findHandler, loadTaskModule, type Handlers } from './task-module.js';
import { abortCode, type AbortCode, type DescribeOutcome, type EntryOutcome, type TaskPayload } from './wire.js';

/** Why a run was given up on: isolation "none" cannot stop a handler that ignores its signal. */
export class HandlerAbandonedError extends Error {
  override readonly name = 'HandlerAbandonedError';
}

interface InlineRun {
  readonly run: TaskRun;
  readonly abandon: (error: Error) => void;
}

/**
 * Isolation "none": handlers run on the worker node's own event loop, with no thread or process
 * hop per task. For handlers that await I/O this saves the hop's cost (most of a no-op task's);
 * the price is everything isolation gives:
 * - a handler that ignores its signal cannot be stopped: past the grace period its task is answered
 *   (`aborted` with its reason) and the handler is left running, with a warning;
 * - a handler that blocks the event loop (CPU work, a sync loop) blocks the node, including its
 *   heartbeats, so the manager takes the node for lost;
 * - process.exit or a crash in a handler takes the node down with every task on it.
 */
export class InlineBackend implements ExecutionBackend {
  readonly #options: ResolvedTaskPoolOptions;
  readonly #logger: Logger;
  readonly #slots: (InlineRun | undefined)[];
  #loading: Promise<{ handlers: Handlers } | { error: { name: string; message: string } }> | undefined;
  #handlers: Handlers | undefined;
  #destroyed = false;
  #active = 0;
  /**
   * Referenced while any handler runs: threads keep a process alive while they work, and a handler
   * awaiting its deadline here must too. One timer, toggled, so the per-task path allocates none.
   */
  readonly #keepAlive = setInterval(() => {}, 1 << 30).unref();

  constructor(options: ResolvedTaskPoolOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.#slots = new Array<InlineRun | undefined>(options.capacity);
  }

  async describe(): Promise<DescribeOutcome> {
    this.#loading ??= loadTaskModule(this.#options.tasksModule);
    const loaded = await this.#loading;
    if ('handlers' in loaded) this.#handlers = loaded.handlers;
    return describeHandlers(loaded);
  }

  run(slot: number, payload: TaskPayload): Promise<EntryOutcome> {
    const handlers = this.#handlers;
    if (this.#destroyed || handlers === undefined) return Promise.reject(new HandlerAbandonedError('The pool is closed'));
    const handler = findHandler(handlers, payload.name);
    if (typeof handler !== 'function') return Promise.resolve(handler);
    const run = new TaskRun(payload);
    if (this.#active++ === 0) this.#keepAlive.ref();
    return new Promise<EntryOutcome>((resolve, reject) => {
      this.#slots[slot] = { run, abandon: reject };
      void execute(handlers, handler, payload, run).then((outcome) => {
        if (this.#slots[slot]?.run === run) {
          this.#slots[slot] = undefined;
          this.#release();
        }
        resolve(outcome);
      });
    });
  }

  #release(): void {
    if (--this.#active === 0) this.#keepAlive.unref();
  }

  sendAbort(slot: number, _token: number, code: AbortCode): void {
    this.#slots[slot]?.run.abort(code);
  }

  /** Gives up on the slot's run: its task is answered, its handler goes on unobserved. */
  terminate(slot: number): boolean {
    const current = this.#slots[slot];
    if (current === undefined) return true;
    this.#slots[slot] = undefined;
    this.#release();
    this.#logger.warn({ taskId: current.run.taskId, attempt: current.run.attempt },
      'handler ignored its abort signal; with isolation "none" it cannot be stopped and keeps running');
    current.abandon(new HandlerAbandonedError(`Task ${current.run.taskId} ignored its abort signal and was abandoned`));
    return true;
  }

  wasStarted(): boolean {
    return true;
  }

  crashError(_slot: number, error: unknown): { name: string; message: string } {
    return errorSummary(error);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#keepAlive);
    for (let slot = 0; slot < this.#slots.length; slot++) {
      const current = this.#slots[slot];
      if (current === undefined) continue;
      current.run.abort(abortCode('shutdown'));
      this.#slots[slot] = undefined;
      current.abandon(new HandlerAbandonedError('The pool is closed'));
    }
  }
}

import type { Logger } from '../../core/logger.js';
import type { AbortReason } from '../../protocol/messages.js';

/** One execution handed to the pool. `deadlineMs` is the time left, measured when the dispatch arrived. */
export interface ExecutionRequest {
  token: number;
  id: string;
  name: string;
  args: unknown;
  attempt: number;
  deadlineMs?: number | undefined;
}

export type ExecutionResult =
  | { status: 'completed'; result: unknown }
  | { status: 'failed'; error: { name: string; message: string; stack?: string } }
  /** The thread or process died while running it (process.exit, out of memory, unhandled rejection…). */
  | { status: 'crashed'; error: { name: string; message: string } }
  /** Stopped by `abort()`, by its deadline (reason `expired`), or by `close()` (reason `shutdown`). */
  | { status: 'aborted'; reason: AbortReason };

export interface TaskPool {
  /** Tasks that may run at once. */
  readonly capacity: number;
  /** Names of the tasks the module defines, in definition order. */
  readonly taskNames: readonly string[];
  /** Executions started and not yet finished. */
  readonly running: number;
  /** True when `run` may be called; the node checks it before running a dispatch. */
  readonly hasFreeSlot: boolean;
  /**
   * Runs one task. Never rejects. Called without a free slot it answers `failed` with a
   * `CapacityError` (a caller bug: check `hasFreeSlot`); after `close()` it answers `aborted`/`shutdown`.
   */
  run(request: ExecutionRequest): Promise<ExecutionResult>;
  /**
   * Asks the handler to stop (its `ctx.signal` fires with a TaskAbortedError carrying `reason`). A
   * handler still running `abortGraceMs` later has its thread (or process) terminated and the task is
   * answered `aborted`. Unknown or finished tokens are ignored.
   */
  abort(token: number, reason: AbortReason): void;
  /** Terminates every thread at once; running tasks answer `aborted`/`shutdown`. Idempotent. */
  close(): Promise<void>;
}

/**
 * Where handlers run: `thread` (default) a pool of worker threads; `process` one child process per slot;
 * `none` the worker node's own event loop — no hop per task, for handlers that only await I/O, at
 * the cost of isolation (see inline-backend.ts).
 */
export type Isolation = 'thread' | 'process' | 'none';

export interface TaskPoolOptions {
  /**
   * Path (absolute, or relative to the working directory) or file URL of the task module: its default
   * export is an object of handlers (`export default defineTasks({ ... })`).
   */
  tasksModule: string | URL;
  /** Tasks run at once. @example 8 */
  capacity: number;
  /**
   * `thread`: worker threads, several tasks per thread when capacity > threads.
   * `process`: tinypool child processes, one task per process (so the pool has `capacity` processes).
   * @default 'thread'
   */
  isolation?: Isolation | undefined;
  /**
   * Threads in the pool (thread isolation). Must not exceed `capacity`; with process isolation it must
   * equal `capacity` when given.
   * @default min(capacity, os.availableParallelism())
   */
  threads?: number | undefined;
  /** Execution limit for a task without a deadline; then it is aborted with reason `expired`. @default 300000 */
  taskTimeoutMs?: number | undefined;
  /** How long a handler may ignore its abort signal before its thread is terminated. @default 1000 */
  abortGraceMs?: number | undefined;
  /** Heap limit per thread (`resourceLimits.maxOldGenerationSizeMb`) or per process (`--max-old-space-size`). */
  maxOldGenerationSizeMb?: number | undefined;
  /** Aborts pool start-up (loading the module). */
  signal?: AbortSignal | undefined;
  /** Receives errors of threads that fail outside any task. @default silent */
  logger?: Logger | undefined;
}

/**
 * Loading a task module and running one of its handlers: shared by the pool's threads and child
 * processes (entry.ts) and by isolation "none", which runs handlers on the node's own event loop.
 *
 * Invariants:
 * - `execute` never rejects for a handler's error: a throw becomes a FAILED outcome, and a throw
 *   after the run was aborted becomes ABORTED.
 * - Handlers are looked up with `Object.hasOwn`, so `constructor`, `__proto__` or `toString` never
 *   resolve to prototype members.
 * - The module URL comes from the node's own configuration, never from wire data.
 */
import type { TaskContext, TaskHandler } from '../../core/tasks.js';
import { describeValue } from '../../core/errors.js';
import { TaskAbortedError } from '../errors.js';
import {
  OUTCOME_ABORTED, OUTCOME_COMPLETED, OUTCOME_FAILED, abortReason,
  type AbortCode, type DescribeOutcome, type EntryOutcome, type SerializedError, type TaskPayload,
} from './wire.js';
import { IdTable } from '../../core/id-table.js';

export type Handlers = Record<string, TaskHandler>;

/** One running execution; it is also the handler's `ctx`. The AbortController is created on first use. */
export class TaskRun implements TaskContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly deadline: number | undefined;
  abortedWith: AbortCode | 0 = 0;
  #controller: AbortController | undefined;

  constructor(payload: TaskPayload) {
    this.taskId = payload.id;
    this.attempt = payload.attempt;
    this.deadline = payload.deadline;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.abortedWith !== 0) this.#controller.abort(new TaskAbortedError(abortReason(this.abortedWith)));
    }
    return this.#controller.signal;
  }

  abort(code: AbortCode): void {
    if (this.abortedWith !== 0) return;
    this.abortedWith = code;
    this.#controller?.abort(new TaskAbortedError(abortReason(code)));
  }
}

/** Imports the module and checks it default-exports a non-empty object of functions. */
export async function loadTaskModule(moduleUrl: string | undefined): Promise<{ handlers: Handlers } | { error: SerializedError }> {
  if (moduleUrl === undefined) return { error: { name: 'TaskModuleError', message: 'No task module configured for this pool' } };
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    const cause = serializeError(error);
    return { error: { name: 'TaskModuleError', message: `Cannot load task module ${moduleUrl}: ${cause.name}: ${cause.message}` } };
  }
  const tasks = namespace['default'];
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks)) {
    return {
      error: {
        name: 'TaskModuleError',
        message: `Expected task module ${moduleUrl} to default-export an object of handlers (export default defineTasks({ ... })), got ${tasks === undefined ? 'no default export' : describeValue(tasks)}`,
      },
    };
  }
  for (const name of Object.keys(tasks)) {
    const handler = (tasks as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      return { error: { name: 'TaskModuleError', message: `Expected task \`${name}\` of ${moduleUrl} to be a function, got ${describeValue(handler)}` } };
    }
  }
  if (Object.keys(tasks).length === 0) return { error: { name: 'TaskModuleError', message: `Task module ${moduleUrl} defines no tasks` } };
  return { handlers: tasks as Handlers };
}

export function describeHandlers(loaded: { handlers: Handlers } | { error: SerializedError }): DescribeOutcome {
  return 'error' in loaded ? { ok: false, error: loaded.error } : { ok: true, names: Object.keys(loaded.handlers) };
}

/** The handler for a payload, or the outcome that answers a name the module does not define. */
export function findHandler(handlers: Handlers, name: string): TaskHandler | EntryOutcome {
  const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
  if (typeof handler === 'function') return handler;
  return [OUTCOME_FAILED, { name: 'UnknownTaskError', message: `No task named ${JSON.stringify(name)} in this worker's task module` }];
}

/**
 * A task module as a thread or child process runs it: loaded once, at start, and each payload
 * executed to its outcome, the run listed in `running` while its handler is in progress.
 */
export class ModuleRunner {
  readonly running = new IdTable<TaskRun>();
  readonly #loading: Promise<{ handlers: Handlers } | { error: SerializedError }>;
  #handlers: Handlers | undefined;
  #loadError: SerializedError | undefined;

  constructor(moduleUrl: string | undefined) {
    this.#loading = loadTaskModule(moduleUrl).then((loaded) => {
      if ('error' in loaded) this.#loadError = loaded.error;
      else this.#handlers = loaded.handlers;
      return loaded;
    });
  }

  async describe(): Promise<DescribeOutcome> {
    return describeHandlers(await this.#loading);
  }

  /** Never rejects. `beforeStart` sees the run once its handler is found, just before it starts. */
  async execute(payload: TaskPayload, beforeStart: (run: TaskRun) => void): Promise<EntryOutcome> {
    if (this.#handlers === undefined) {
      await this.#loading;
      if (this.#handlers === undefined) return [OUTCOME_FAILED, this.#loadError!];
    }
    const handler = findHandler(this.#handlers, payload.name);
    if (typeof handler !== 'function') return handler;
    const run = new TaskRun(payload);
    this.running.set(payload.token, run);
    beforeStart(run);
    try {
      return await execute(this.#handlers, handler, payload, run);
    } finally {
      this.running.delete(payload.token);
    }
  }
}

/** Runs one handler to its outcome; never rejects. */
export async function execute(handlers: Handlers, handler: TaskHandler, payload: TaskPayload, run: TaskRun): Promise<EntryOutcome> {
  try {
    const result: unknown = await handler.call(handlers, payload.args, run);
    if (typeof result === 'function' || typeof result === 'symbol') {
      return [OUTCOME_FAILED, { name: 'TypeError', message: `Task ${JSON.stringify(payload.name)} returned a ${typeof result}, which cannot be sent as a result` }];
    }
    return [OUTCOME_COMPLETED, result];
  } catch (error) {
    if (run.abortedWith !== 0) return [OUTCOME_ABORTED, run.abortedWith];
    return [OUTCOME_FAILED, serializeError(error)];
  }
}

/** Plain `{ name, message, stack }`, whatever was thrown (getters that throw included). */
export function serializeError(error: unknown): SerializedError {
  try {
    if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
      const e = error as { name?: unknown; message?: unknown; stack?: unknown };
      const out: SerializedError = { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message) };
      if (typeof e.stack === 'string') out.stack = e.stack;
      return out;
    }
    return { name: 'Error', message: typeof error === 'string' ? error : `Non-error thrown: ${describeValue(error)}` };
  } catch {
    return { name: 'Error', message: 'A value that cannot be described was thrown' };
  }
}

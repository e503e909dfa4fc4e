/**
 * Runs inside every pool thread (piscina) or child process (tinypool). Loads the configured task
 * module once — never a path from wire data — and executes handlers by name.
 *
 * Invariants:
 * - The exported functions never reject for a handler's error: a handler throw becomes a FAILED
 *   outcome. So a rejected piscina/tinypool promise on the main side means the thread or process
 *   died (process.exit, out of memory, unhandled rejection, or terminated by the pool).
 * - Handlers are looked up with `Object.hasOwn`, so `constructor`, `__proto__` or `toString` never
 *   resolve to prototype members.
 * - Timing lives on the main side (one timer for the whole pool): it sends an abort at the deadline
 *   and terminates the thread if the handler ignores it. This side only turns abort messages into
 *   `ctx.signal` events.
 */
import { BroadcastChannel, isMainThread, threadId, workerData } from 'node:worker_threads';
import type { TaskContext, TaskHandler } from '../../core/tasks.js';
import { describeValue } from '../../core/errors.js';
import { TaskAbortedError } from '../errors.js';
import {
  OUTCOME_ABORTED, OUTCOME_COMPLETED, OUTCOME_FAILED, PROCESS_ABORT_TAG, TASKS_MODULE_ENV, abortReason,
  type AbortCode, type DescribeOutcome, type EntryOutcome, type SerializedError, type TaskPayload, type ThreadWorkerData,
} from './wire.js';

type Handlers = Record<string, TaskHandler>;

/** One running execution; it is also the handler's `ctx`. The AbortController is created on first use. */
class TaskRun implements TaskContext {
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

const running = new Map<number, TaskRun>();
const inThread = !isMainThread;
const data = inThread ? (workerData as ThreadWorkerData) : undefined;
const startedTable = data ? new Int32Array(data.started) : undefined;
const abortTable = data ? new Int32Array(data.aborts) : undefined;
const moduleUrl = data ? data.tasksModule : process.env[TASKS_MODULE_ENV];

/**
 * Processes only: an abort that arrived before its task reached `execute` (tinypool awaits its
 * handler lookup first, so the IPC abort can overtake the task). One process runs one task at a
 * time, so remembering the last such abort is enough; threads use the shared abort table instead.
 */
let earlyAbortToken = -1;
let earlyAbortCode: AbortCode | 0 = 0;

function onAbortMessage(token: number, code: AbortCode): void {
  const run = running.get(token);
  if (run !== undefined) run.abort(code);
  else if (!inThread) {
    earlyAbortToken = token;
    earlyAbortCode = code;
  }
}

if (data) {
  const channel = new BroadcastChannel(data.channel);
  channel.onmessage = (event) => {
    const [token, code] = (event as { data: [number, AbortCode] }).data;
    onAbortMessage(token, code);
  };
  // The pool terminates its threads; the channel must not be what keeps one alive.
  channel.unref();
} else {
  process.on('message', (message: unknown) => {
    if (Array.isArray(message) && message[0] === PROCESS_ABORT_TAG) onAbortMessage(message[1] as number, message[2] as AbortCode);
  });
}

let handlers: Handlers | undefined;
let loadError: SerializedError | undefined;
const loading = load();

async function load(): Promise<void> {
  if (moduleUrl === undefined) {
    loadError = { name: 'TaskModuleError', message: 'No task module configured for this pool' };
    return;
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    loadError = serializeError(error);
    loadError.message = `Cannot load task module ${moduleUrl}: ${loadError.name}: ${loadError.message}`;
    loadError.name = 'TaskModuleError';
    return;
  }
  const tasks = namespace['default'];
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks)) {
    loadError = {
      name: 'TaskModuleError',
      message: `Expected task module ${moduleUrl} to default-export an object of handlers (export default defineTasks({ ... })), got ${tasks === undefined ? 'no default export' : describeValue(tasks)}`,
    };
    return;
  }
  for (const name of Object.keys(tasks)) {
    const handler = (tasks as Record<string, unknown>)[name];
    if (typeof handler !== 'function') {
      loadError = { name: 'TaskModuleError', message: `Expected task \`${name}\` of ${moduleUrl} to be a function, got ${describeValue(handler)}` };
      return;
    }
  }
  if (Object.keys(tasks).length === 0) {
    loadError = { name: 'TaskModuleError', message: `Task module ${moduleUrl} defines no tasks` };
    return;
  }
  handlers = tasks as Handlers;
}

/** Named export used once by the pool to learn the task names (and surface load errors). */
export async function describe(): Promise<DescribeOutcome> {
  await loading;
  if (handlers === undefined) return { ok: false, error: loadError! };
  return { ok: true, names: Object.keys(handlers) };
}

/** Default export: executes one task. */
export default async function execute(payload: TaskPayload): Promise<EntryOutcome> {
  if (handlers === undefined) {
    await loading;
    if (handlers === undefined) return [OUTCOME_FAILED, loadError!];
  }
  const tasks = handlers;
  const handler = Object.hasOwn(tasks, payload.name) ? tasks[payload.name] : undefined;
  if (typeof handler !== 'function') {
    return [OUTCOME_FAILED, { name: 'UnknownTaskError', message: `No task named ${JSON.stringify(payload.name)} in this worker's task module` }];
  }
  const run = new TaskRun(payload);
  running.set(payload.token, run);
  if (startedTable !== undefined) {
    // Tells the main side which thread to terminate if this handler ignores its signal, and reads an
    // abort that was requested before this task reached the thread (the broadcast would be missed).
    Atomics.store(startedTable, payload.slot, threadId);
    const early = Atomics.load(abortTable!, payload.slot);
    if (early !== 0) run.abort(early as AbortCode);
  } else if (earlyAbortToken === payload.token && earlyAbortCode !== 0) {
    run.abort(earlyAbortCode);
  }
  try {
    const result: unknown = await handler.call(tasks, payload.args, run);
    if (typeof result === 'function' || typeof result === 'symbol') {
      return [OUTCOME_FAILED, { name: 'TypeError', message: `Task ${JSON.stringify(payload.name)} returned a ${typeof result}, which cannot be sent as a result` }];
    }
    return [OUTCOME_COMPLETED, result];
  } catch (error) {
    if (run.abortedWith !== 0) return [OUTCOME_ABORTED, run.abortedWith];
    return [OUTCOME_FAILED, serializeError(error)];
  } finally {
    running.delete(payload.token);
  }
}

/** Plain `{ name, message, stack }`, whatever was thrown (getters that throw included). */
function serializeError(error: unknown): SerializedError {
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


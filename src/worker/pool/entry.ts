/**
 * Runs inside every pool thread (piscina) or child process (tinypool). Loads the configured task
 * module once — never a path from wire data — and executes handlers by name.
 *
 * Invariants:
 * - The exported functions never reject for a handler's error: a handler throw becomes a FAILED
 *   outcome. So a rejected piscina/tinypool promise on the main side means the thread or process
 *   died (process.exit, out of memory, unhandled rejection, or terminated by the pool).
 * - Loading and running handlers is task-module.ts; this file is the thread/process glue around it.
 * - Timing lives on the main side (one timer for the whole pool): it sends an abort at the deadline
 *   and terminates the thread if the handler ignores it. This side only turns abort messages into
 *   `ctx.signal` events.
 */
import { BroadcastChannel, isMainThread, threadId, workerData } from 'node:worker_threads';
import { TaskRun, describeHandlers, execute as executeHandler, findHandler, loadTaskModule, type Handlers } from './task-module.js';
import {
  OUTCOME_FAILED, PROCESS_ABORT_TAG, TASKS_MODULE_ENV,
  type AbortCode, type DescribeOutcome, type EntryOutcome, type SerializedError, type TaskPayload, type ThreadWorkerData,
} from './wire.js';

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
const loading = loadTaskModule(moduleUrl).then((loaded) => {
  if ('error' in loaded) loadError = loaded.error;
  else handlers = loaded.handlers;
  return loaded;
});

/** Named export used once by the pool to learn the task names (and surface load errors). */
export async function describe(): Promise<DescribeOutcome> {
  return describeHandlers(await loading);
}

/** Default export: executes one task. */
export default async function execute(payload: TaskPayload): Promise<EntryOutcome> {
  if (handlers === undefined) {
    await loading;
    if (handlers === undefined) return [OUTCOME_FAILED, loadError!];
  }
  const handler = findHandler(handlers, payload.name);
  if (typeof handler !== 'function') return handler;
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
    return await executeHandler(handlers, handler, payload, run);
  } finally {
    running.delete(payload.token);
  }
}

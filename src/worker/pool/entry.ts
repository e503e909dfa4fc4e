/**
 * Runs inside every child process of the process pool (tinypool, process-backend.ts). Threads have
 * their own entry (thread-entry.ts), which takes runs in batches.
 *
 * Invariants:
 * - The exported functions never reject for a handler's error: a handler throw becomes a FAILED
 *   outcome. So a rejected tinypool promise on the main side means the process died (process.exit,
 *   out of memory, an unhandled rejection, or killed by the pool).
 * - Timing lives on the main side (one timer for the whole pool): it sends an abort at the deadline
 *   and kills the process if the handler ignores it. This side only turns abort messages into
 *   `ctx.signal` events.
 */
import { ModuleRunner } from './task-module.js';
import { PROCESS_ABORT_TAG, TASKS_MODULE_ENV, type AbortCode, type DescribeOutcome, type EntryOutcome, type TaskPayload } from './wire.js';

const runner = new ModuleRunner(process.env[TASKS_MODULE_ENV]);

/**
 * An abort that arrived before its task reached `execute` (tinypool awaits its handler lookup
 * first, so the IPC abort can overtake the task). One process runs one task at a time, so
 * remembering the last such abort is enough.
 */
let earlyAbortToken = -1;
let earlyAbortCode: AbortCode | 0 = 0;

process.on('message', (message: unknown) => {
  if (!Array.isArray(message) || message[0] !== PROCESS_ABORT_TAG) return;
  const token = message[1] as number;
  const code = message[2] as AbortCode;
  const run = runner.running.get(token);
  if (run !== undefined) run.abort(code);
  else {
    earlyAbortToken = token;
    earlyAbortCode = code;
  }
});

/** Named export used once by the pool to learn the task names (and surface load errors). */
export function describe(): Promise<DescribeOutcome> {
  return runner.describe();
}

/** Default export: executes one task. */
export default function execute(payload: TaskPayload): Promise<EntryOutcome> {
  return runner.execute(payload, (run) => {
    if (earlyAbortToken === payload.token && earlyAbortCode !== 0) run.abort(earlyAbortCode);
  });
}

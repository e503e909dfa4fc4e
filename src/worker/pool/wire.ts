import type { AbortReason } from '../../protocol/messages.js';

/**
 * What travels between the pool (main thread) and its threads or processes. Kept to plain
 * structured-clone values; tuples rather than objects on the result path because one is built per task.
 */

/** One execution, as posted to a thread or process. */
export interface TaskPayload {
  token: number;
  id: string;
  name: string;
  args: unknown;
  attempt: number;
  /** `Date.now()` value at which the task's deadline passes, or undefined without a deadline. */
  deadline: number | undefined;
  /** Index of the pool slot running it: keys the shared start/abort tables (threads only). */
  slot: number;
}

export interface SerializedError { name: string; message: string; stack?: string }

export const OUTCOME_COMPLETED = 0;
export const OUTCOME_FAILED = 1;
export const OUTCOME_ABORTED = 2;

/** What the entry returns for a task. It never throws for a handler error (see entry.ts). */
export type EntryOutcome =
  | readonly [typeof OUTCOME_COMPLETED, unknown]
  | readonly [typeof OUTCOME_FAILED, SerializedError]
  | readonly [typeof OUTCOME_ABORTED, AbortCode];

/** The entry's answer to `describe`: the task names, or why the module cannot be used. */
export type DescribeOutcome = { ok: true; names: string[] } | { ok: false; error: SerializedError };

/** Abort reasons as small integers, for the shared abort table (0 means "not aborted"). */
export type AbortCode = 1 | 2 | 3;
const REASONS: readonly AbortReason[] = ['expired', 'cancelled', 'shutdown'];
export function abortCode(reason: AbortReason): AbortCode {
  return (REASONS.indexOf(reason) + 1) as AbortCode;
}
export function abortReason(code: AbortCode): AbortReason {
  return REASONS[code - 1]!;
}

/** Data every thread receives once (its `workerData`). */
export interface ThreadWorkerData {
  tasksModule: string;
  /** Int32Array over a SharedArrayBuffer: `started[slot]` = threadId running that slot's task, 0 before it starts. */
  started: SharedArrayBuffer;
  /** Int32Array over a SharedArrayBuffer: `aborts[slot]` = AbortCode requested for that slot's task, 0 for none. */
  aborts: SharedArrayBuffer;
}

/**
 * Pool → thread. Runs travel in batches — every run handed to one thread in one event-loop turn —
 * flattened to `RUN_FIELDS` values per run (see `packRun`): the structured clone of a flat array
 * of values costs less than that of one object per run, whose keys it writes each time.
 */
export type MainToThread =
  | { type: 'run'; runs: unknown[] }
  | { type: 'abort'; token: number; code: AbortCode }
  | { type: 'describe' };

/** Thread → pool. `outcomes` is flat, `[token, code, value, token, code, value, …]`: one array per batch. */
export type ThreadToMain =
  | { type: 'outcomes'; outcomes: unknown[] }
  | { type: 'described'; outcome: DescribeOutcome };

export const RUN_FIELDS = 7;

export function packRun(runs: unknown[], p: TaskPayload): void {
  runs.push(p.token, p.id, p.name, p.args, p.attempt, p.deadline, p.slot);
}

export function unpackRun(runs: unknown[], at: number): TaskPayload {
  return {
    token: runs[at] as number,
    id: runs[at + 1] as string,
    name: runs[at + 2] as string,
    args: runs[at + 3],
    attempt: runs[at + 4] as number,
    deadline: runs[at + 5] as number | undefined,
    slot: runs[at + 6] as number,
  };
}

/** Process isolation: the tasks module reaches the child through its environment. */
export const TASKS_MODULE_ENV = 'SLUICE_TASKS_MODULE';
/** Process isolation: first element of an abort message sent to a child process. */
export const PROCESS_ABORT_TAG = 'sluice:abort';

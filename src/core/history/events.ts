/**
 * Execution histories: what clients and worker nodes saw, one JSON object per line (NDJSON),
 * appended as it happens, so a checker can judge a run after the fact (Jepsen-style). Times are
 * wall-clock milliseconds (`performance.timeOrigin + performance.now()`), comparable across the
 * processes of one machine.
 */

/** How a client ended a task: the kind of answer, or why it gave up without one. */
export type AnswerOutcome =
  | 'completed' | 'failed' | 'expired' | 'cancelled' | 'worker_lost' | 'busy' | 'closed' | 'aborted' | 'invalid';

/** How one execution attempt ended on its node. */
export type ExecutionStatus = 'completed' | 'failed' | 'crashed' | 'aborted' | 'returned';

/** A client accepted a task (`run()` or `submit()`). `deadline` is absolute, or null for none. */
export interface SubmitEvent { ev: 'submit'; at: number; id: string; name: string; deadline: number | null; proc: number }

/**
 * A client settled a task. `via: 'manager'` when the manager's answer settled it (or its `busy`
 * ended the retries); `'local'` when the client did (deadline, abort, close).
 */
export interface AnswerEvent { ev: 'answer'; at: number; id: string; outcome: AnswerOutcome; via: 'manager' | 'local'; proc: number }

/** The manager answered an id this client no longer holds (already settled, or never submitted here). */
export interface StrayEvent { ev: 'stray'; at: number; id: string; outcome: string; proc: number }

/** A worker node began an execution attempt. `node` is the node's name (or id), `pid` its process. */
export interface StartEvent { ev: 'start'; at: number; id: string; name: string; attempt: number; token: number; node: string; pid: number }

/** An execution attempt ended. `delivered` is false when its link was gone, so the outcome was dropped. */
export interface EndEvent {
  ev: 'end'; at: number; id: string; attempt: number; token: number; node: string; pid: number;
  status: ExecutionStatus; reason?: string; delivered: boolean;
}

/**
 * A fault the chaos runner injected. `pid` is the worker node's process (for `kill-child`, the
 * node whose child was killed); `target: 'manager'` faults touch every node's attempts.
 */
export interface FaultEvent {
  ev: 'fault'; at: number; kind: 'kill' | 'kill-child' | 'pause' | 'resume' | 'term' | 'restart';
  target: 'node' | 'manager'; node?: string; pid: number;
}

/** Run metadata written by the chaos runner (seed, scenario, settings); ignored by the checker. */
export interface MetaEvent { ev: 'meta'; at: number; [field: string]: unknown }

export type HistoryEvent = SubmitEvent | AnswerEvent | StrayEvent | StartEvent | EndEvent | FaultEvent | MetaEvent;

/** Where a role appends its events; implementations must keep each event once written. */
export interface HistoryRecorder {
  record(event: HistoryEvent): void;
  close(): void;
}


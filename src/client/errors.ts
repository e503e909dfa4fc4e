import { SluiceError } from '../core/errors.js';
import type { Answer, BusyReason } from '../protocol/messages.js';

export { ProtocolError, AuthError, ConnectError } from '../protocol/errors.js';

/**
 * The manager still refused the task after the retries allowed (or at once with `retry: false`).
 * `retryAfterMs` and `reason` come from the last `busy` answer.
 *
 * Stackless: a refusal is an expected answer, not a fault, and under overload a client receives
 * thousands a second — capturing a stack for each (which would only show the client's own answer
 * handler) cost a tenth of a loaded client's CPU. `stack` is the name and message.
 */
export class BusyError extends SluiceError {
  readonly taskId: string;
  readonly retryAfterMs: number;
  readonly reason: BusyReason;
  /** `busy` answers received for this task, including the last one. */
  readonly attempts: number;
  constructor(taskId: string, reason: BusyReason, retryAfterMs: number, attempts: number) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('busy', `Task ${taskId} was refused ${attempts === 1 ? 'once' : `${attempts} times`} (${reason}); retry after ${retryAfterMs} ms`);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.taskId = taskId;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
    this.attempts = attempts;
  }
}

/** The task's handler threw (or rejected) on a worker; the remote error's parts are kept apart. */
export class TaskFailedError extends SluiceError {
  readonly taskId: string;
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string | undefined;
  constructor(taskId: string, remote: { name: string; message: string; stack?: string }) {
    super('task_failed', `Task ${taskId} failed: ${remote.name}: ${remote.message}`);
    this.taskId = taskId;
    this.remoteName = remote.name;
    this.remoteMessage = remote.message;
    this.remoteStack = remote.stack;
  }
}

/** The task's deadline passed before it had a result (locally, or as answered by the manager). */
export class ExpiredError extends SluiceError {
  readonly taskId: string;
  constructor(taskId: string) {
    super('expired', `Task ${taskId} expired: its deadline passed before it had a result`);
    this.taskId = taskId;
  }
}

/** Workers died running the task as many times as it was allowed attempts. */
export class WorkerLostError extends SluiceError {
  readonly taskId: string;
  readonly attempts: number;
  constructor(taskId: string, attempts: number) {
    super('worker_lost', `Task ${taskId} was lost with its worker on each of ${attempts} attempt${attempts === 1 ? '' : 's'}`);
    this.taskId = taskId;
    this.attempts = attempts;
  }
}

/** The task was cancelled: through its handle, or answered `cancelled` by the manager. */
export class CancelledError extends SluiceError {
  readonly taskId: string;
  constructor(taskId: string) {
    super('cancelled', `Task ${taskId} was cancelled`);
    this.taskId = taskId;
  }
}

/** `close()` was called while the task (or the call) was still waiting. */
export class ClientClosedError extends SluiceError {
  readonly taskId: string | undefined;
  constructor(taskId?: string) {
    super('client_closed', taskId === undefined ? 'The client is closed' : `Task ${taskId} was abandoned: the client was closed`);
    this.taskId = taskId;
  }
}

/** `client.status()` got no snapshot in time (not connected, or the manager did not answer). */
export class StatusTimeoutError extends SluiceError {
  constructor(timeoutMs: number) {
    super('status_timeout', `No status from the manager within ${timeoutMs} ms`);
  }
}

/**
 * The one place a final wire answer other than `completed` and `busy` becomes an error
 * (`busy` is retried first, so its error is built by the retry logic).
 */
export function answerError(answer: Exclude<Answer, { type: 'completed' } | { type: 'busy' }>): SluiceError {
  switch (answer.type) {
    case 'failed':
      return new TaskFailedError(answer.id, answer.error);
    case 'expired':
      return new ExpiredError(answer.id);
    case 'cancelled':
      return new CancelledError(answer.id);
    case 'worker_lost':
      return new WorkerLostError(answer.id, answer.attempts);
  }
}

import { SluiceError } from '../core/errors.js';
import type { AbortReason } from '../protocol/messages.js';

/** The task module cannot be used: it failed to load, has no default export of handlers, or defines no task. */
export class TaskModuleError extends SluiceError {
  readonly module: string;
  constructor(module: string, message: string, options?: ErrorOptions) {
    super('invalid_task_module', message, options);
    this.module = module;
  }
}

/**
 * `ctx.signal.reason` inside a handler: why the task is being stopped. `reason` is `expired` when the
 * deadline (or the execution timeout) passed, `cancelled` when the submitter cancelled, `shutdown`
 * when the worker node is draining or closing.
 */
export class TaskAbortedError extends SluiceError {
  readonly reason: AbortReason;
  constructor(reason: AbortReason) {
    super('task_aborted', ABORT_MESSAGES[reason]);
    this.reason = reason;
  }
}

const ABORT_MESSAGES: Readonly<Record<AbortReason, string>> = Object.freeze({
  expired: 'The task deadline passed',
  cancelled: 'The task was cancelled',
  shutdown: 'The worker node is shutting down',
});

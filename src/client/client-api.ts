import type { EventEmitter } from 'node:events';
import type { TaskArgs, TaskMap, TaskName, TaskResult } from '../core/tasks.js';
import type { BusyReason } from '../protocol/messages.js';
import type { AlertEvent, StatusSnapshot } from '../protocol/status.js';
import type { RunOptions } from './options.js';
import type { StatusOptions } from './status-requests.js';
import type { TaskHandle } from './pending-task.js';

export interface RetryEvent {
  taskId: string;
  /** The retry about to happen: 1 for the first. */
  retry: number;
  delayMs: number;
  reason: BusyReason;
  retryAfterMs: number;
}

/**
 * Events of a client. `error` is emitted only when a listener is attached (an unheard `error`
 * would otherwise crash the process): today that is a reconnection refused with AuthError, which
 * is retried anyway because the key may be being rotated.
 */
export interface ClientEvents {
  /** Authenticated to a manager (first time and after every reconnection). */
  connected: [info: { managerId: string; address: string }];
  /** The connection was lost; reconnection has started. Unanswered tasks wait and are resubmitted. */
  disconnected: [error: Error | undefined];
  /** A task answered `busy` will be resubmitted after `delayMs`. */
  retry: [event: RetryEvent];
  /** Once a second while `watchStatus()` is on: the manager's status. */
  status: [snapshot: StatusSnapshot];
  /** While `watchStatus()` is on: an alert raised or cleared at the manager. */
  alert: [event: AlertEvent];
  error: [error: Error];
}

export interface Client<T extends TaskMap = TaskMap> extends EventEmitter<ClientEvents> {
  /** Submits a task and resolves with its result; rejects with a typed error (see errors.ts). */
  run<K extends TaskName<T>>(name: K, args: TaskArgs<T[K]>, options?: RunOptions): Promise<TaskResult<T[K]>>;
  /** Resolves with a handle once the task holds an in-flight slot (it may still wait to be sent). */
  submit<K extends TaskName<T>>(name: K, args: TaskArgs<T[K]>, options?: RunOptions): Promise<TaskHandle<TaskResult<T[K]>>>;
  /**
   * The manager's status now. Waits for a connection if there is none (reconnecting); rejects
   * with StatusTimeoutError after `timeoutMs` (5 s), or with the signal's reason.
   */
  status(options?: StatusOptions): Promise<StatusSnapshot>;
  /**
   * Subscribes to the manager's status: `status` events once a second and `alert` events as
   * alerts are raised and cleared, renewed across reconnections. Returns the function that stops it.
   */
  watchStatus(): () => void;
  /** Cancels what is outstanding (rejecting it with ClientClosedError) and closes. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** Tasks holding an in-flight slot (sent, waiting to be sent, or sleeping before a busy retry). */
  readonly inFlight: number;
  /** Calls waiting for an in-flight slot. */
  readonly waiting: number;
  readonly connected: boolean;
}

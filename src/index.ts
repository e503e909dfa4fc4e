// Public API of sluice. Everything a user imports comes from here.
export { defineTasks } from './core/tasks.js';
export type { TaskContext, TaskHandler, TaskMap, TaskName, TaskArgs, TaskResult } from './core/tasks.js';
export { SluiceError, InvalidArgumentError } from './core/errors.js';
export { PRIORITY_BY_NAME, parsePriority } from './core/priority.js';
export type { Priority, PriorityName } from './core/priority.js';
export type { Logger } from './core/logger.js';

export { connect } from './client/index.js';
export type { Client, ClientOptions, RunOptions, TaskHandle, RetryOptions, StatusOptions, StatusSnapshot, AlertEvent, ActiveAlert } from './client/index.js';
export {
  BusyError,
  TaskFailedError,
  ExpiredError,
  WorkerLostError,
  CancelledError,
  ClientClosedError,
  StatusTimeoutError,
  ProtocolError,
  AuthError,
  ConnectError,
} from './client/errors.js';

export { startManager, Manager } from './manager/manager.js';
export type { ManagerOptions } from './manager/options.js';
export { startWorker } from './worker/index.js';
export type { WorkerOptions, WorkerNode } from './worker/index.js';
export { generateKey, parseKey } from './protocol/auth.js';

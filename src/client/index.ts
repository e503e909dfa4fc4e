export { connect } from './connect.js';
export type { Client, ClientEvents, RetryEvent } from './client-api.js';
export type { ClientOptions, RunOptions, RetryOptions } from './options.js';
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RETRY, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RECONNECT_BASE_MS, DEFAULT_RECONNECT_MAX_MS } from './options.js';
export type { TaskHandle } from './pending-task.js';
export type { StatusOptions } from './status-requests.js';
export { DEFAULT_STATUS_TIMEOUT_MS } from './status-requests.js';
export type { StatusSnapshot, AlertEvent, ActiveAlert } from '../protocol/status.js';
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
} from './errors.js';

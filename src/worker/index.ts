export { startWorker } from './start-worker.js';
export type { WorkerNode, WorkerNodeEvents } from './worker-node.js';
export type { WorkerOptions } from './options.js';
export { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_RECONNECT_BASE_MS, DEFAULT_RECONNECT_MAX_MS } from './options.js';
export { TaskAbortedError, TaskModuleError } from './errors.js';
export { createTaskPool, DEFAULT_ABORT_GRACE_MS, DEFAULT_TASK_TIMEOUT_MS } from './pool/index.js';
export type { ExecutionRequest, ExecutionResult, Isolation, TaskPool, TaskPoolOptions } from './pool/index.js';

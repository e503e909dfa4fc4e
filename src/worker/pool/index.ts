export { createTaskPool } from './task-pool.js';
export type { ExecutionRequest, ExecutionResult, Isolation, TaskPool, TaskPoolOptions } from './types.js';
export { DEFAULT_ABORT_GRACE_MS, DEFAULT_TASK_TIMEOUT_MS } from './options.js';

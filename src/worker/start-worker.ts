import type { HistoryRecorder } from '../core/history/events.js';
import { openHistory } from '../protocol/history-file.js';
import { resolveWorkerOptions, type WorkerOptions } from './options.js';
import { createTaskPool } from './pool/task-pool.js';
import { PooledWorkerNode, type WorkerNode } from './worker-node.js';

/**
 * Starts the task pool (loading the module to learn its tasks), dials the manager once and
 * resolves — connected or not; it keeps reconnecting in the background with exponential backoff
 * and full jitter. Rejects on invalid options (InvalidArgumentError), an unusable task module
 * (TaskModuleError) or `signal`.
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerNode> {
  const resolved = resolveWorkerOptions(options);
  const signal = options.signal;
  signal?.throwIfAborted();
  const pool = await createTaskPool({
    tasksModule: resolved.tasks,
    capacity: resolved.capacity,
    isolation: resolved.isolation,
    threads: resolved.threads,
    taskTimeoutMs: resolved.taskTimeoutMs,
    abortGraceMs: resolved.abortGraceMs,
    maxOldGenerationSizeMb: resolved.maxOldGenerationSizeMb,
    signal,
    logger: resolved.logger,
  });
  let history: HistoryRecorder | undefined;
  try {
    history = openHistory(resolved.history);
  } catch (error) {
    await pool.close().catch(() => {});
    throw error;
  }
  const node = new PooledWorkerNode(resolved, pool, history);
  try {
    await node.start(signal);
  } catch (error) {
    await node.close().catch(() => {});
    throw error;
  }
  return node;
}

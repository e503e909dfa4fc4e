import type { AbortCode, DescribeOutcome, EntryOutcome, TaskPayload } from './wire.js';

/**
 * What the pool needs from an execution runtime (worker threads, processes via tinypool).
 * Slots are indices 0…capacity-1; the pool runs at most one task per slot.
 */
export interface ExecutionBackend {
  /** Loads the task module in a thread/process and lists its tasks. */
  describe(): Promise<DescribeOutcome>;
  /** Resolves with the entry's outcome; rejects only when the thread or process died. */
  run(slot: number, payload: TaskPayload): Promise<EntryOutcome>;
  /** Cooperative abort: fires the handler's signal. */
  sendAbort(slot: number, token: number, code: AbortCode): void;
  /**
   * Terminates the thread or process running the slot's task, so `run` rejects. Returns false when
   * the task has not reached a thread yet (the pool retries later).
   */
  terminate(slot: number, token: number): boolean;
  /** False when the slot's task was posted but never reached a handler (threads only; processes: true). */
  wasStarted(slot: number): boolean;
  /** How to report a task whose `run` rejected without the pool terminating it. */
  crashError(slot: number, error: unknown): { name: string; message: string };
  /** Terminates everything; running tasks reject. */
  destroy(): Promise<void>;
}

/** Used when the thread for a run cannot be trusted to say what killed it. */
export function errorSummary(error: unknown): { name: string; message: string } {
  if (typeof error === 'object' && error !== null) {
    const e = error as { name?: unknown; message?: unknown };
    return { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(error) };
  }
  return { name: 'Error', message: String(error) };
}

let poolCounter = 0;
/** Unique per pool within this process: BroadcastChannel names are process-wide. */
export function uniquePoolName(): string {
  poolCounter += 1;
  return `sluice-pool-${process.pid}-${poolCounter}-${Math.random().toString(36).slice(2, 10)}`;
}

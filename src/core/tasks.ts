/**
 * The shape of a task module, shared by the worker (which runs handlers) and the client (which
 * types `run('name', args)` from `typeof tasks`). Types only, plus the identity `defineTasks`.
 */

export interface TaskContext {
  /** Fires at the deadline, on cancellation and on worker shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly taskId: string;
  /** 1 for the first execution; higher after a worker was lost mid-task. */
  readonly attempt: number;
  /** Deadline as a `Date.now()` value in this worker's clock, or undefined when the task has none. */
  readonly deadline: number | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each task declares its own argument type
export type TaskHandler = (args: any, ctx: TaskContext) => unknown;
export type TaskMap = Record<string, TaskHandler>;

export type TaskName<T extends TaskMap> = Extract<keyof T, string>;
export type TaskArgs<H extends TaskHandler> = Parameters<H>[0];
export type TaskResult<H extends TaskHandler> = Awaited<ReturnType<H>>;

/** Declares a task module; returns its argument unchanged so `typeof tasks` carries every signature. */
export function defineTasks<T extends TaskMap>(tasks: T): T {
  return tasks;
}

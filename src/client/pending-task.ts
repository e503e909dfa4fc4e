import type { Priority } from '../core/priority.js';
import type { ResolvedRetry } from './options.js';
import type { HeapItem } from '../core/indexed-heap.js';
import type { WaitListItem } from './wait-list.js';

/**
 * Where a task is in the client. Every task ends in DONE exactly once, and only then is its
 * promise settled.
 *
 *   WAITING ──slot──► ACTIVE ◄──wake── SLEEPING
 *      │                │  └──busy────────┘ │
 *      └────────────────┴──► DONE ◄─────────┘   (answer, deadline, abort, cancel, close)
 *
 * WAITING: no slot yet, in the wait list. ACTIVE: holds a slot and is in the map of tasks; it has
 * been sent on the current connection when `epoch` equals the client's, else it is sent on the
 * next (re)connection. SLEEPING: holds a slot, answered `busy`, in the timer heap until `dueAt`.
 */
export const TaskState = { WAITING: 0, ACTIVE: 1, SLEEPING: 2, DONE: 3 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** Ends a task early with `error` (its signal's reason), or with CancelledError when `error` is undefined. */
export type DropTask = (task: PendingTask, error: unknown) => void;

export interface SubmitWaiter {
  resolve(handle: TaskHandle<unknown>): void;
  reject(error: unknown): void;
}

export interface TaskHandle<R> {
  readonly id: string;
  /**
   * Settles with the task's answer. It is marked handled, so an ignored handle whose task fails
   * does not crash the process with an unhandled rejection; await it to see the error.
   */
  readonly result: Promise<R>;
  /**
   * Rejects `result` with CancelledError at once and sends `cancel` to the manager when the task
   * was sent there (best effort). Resolves once that is done; a no-op for a task already answered.
   */
  cancel(): Promise<void>;
  /** Whether the manager reported the task dispatched to a worker (only with `notifyStart: true`). */
  readonly started: boolean;
  /** The execution attempt last reported started: 1 for the first, 0 before that. */
  readonly attempt: number;
}

// `new Promise(executor)` with a shared executor: the task under construction is handed over in
// this module variable instead of a fresh closure per task (the executor runs synchronously).
let constructing: PendingTask | undefined;
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  const task = constructing as PendingTask;
  task.resolve = resolve;
  task.reject = reject;
}

/** One submitted task: its call's data, its state, and the settle functions of its promise. */
export class PendingTask implements HeapItem, WaitListItem<PendingTask> {
  state: TaskState = TaskState.WAITING;
  /** Due time in the timer heap: the wake-up while SLEEPING, otherwise the deadline. */
  dueAt: number;
  heapIndex = -1;
  prev: PendingTask | undefined = undefined;
  next: PendingTask | undefined = undefined;
  listed = false;
  /** The connection epoch this task was last sent on; -1 before it is first sent. */
  epoch = -1;
  /** `busy` answers received so far. */
  busyCount = 0;
  /** Whether submits ask for a `started` notice. */
  notifyStart = false;
  /** The attempt last reported `started` by the manager; 0 before any (or without `notifyStart`). */
  attempt = 0;
  /** Set only for `submit()` calls that had to wait for a slot. */
  waiter: SubmitWaiter | undefined = undefined;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  readonly promise: Promise<unknown>;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly args: unknown,
    readonly priority: Priority,
    /** Absolute, in performance.now() time; Infinity when the task has no deadline. */
    readonly deadline: number,
    readonly maxAttempts: number | undefined,
    readonly retry: ResolvedRetry | false,
    readonly signal: AbortSignal | undefined,
    readonly drop: DropTask,
  ) {
    this.dueAt = deadline;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- hand-over to the shared executor, see `capture`
    constructing = this;
    this.promise = new Promise(capture);
    constructing = undefined;
  }

  /** EventListener interface: the task itself listens for its signal's abort, no closure needed. */
  handleEvent(): void {
    this.drop(this, (this.signal as AbortSignal).reason);
  }
}

/** The handle `submit()` resolves with. */
export class PendingTaskHandle implements TaskHandle<unknown> {
  readonly #task: PendingTask;
  constructor(task: PendingTask) {
    this.#task = task;
  }

  get id(): string {
    return this.#task.id;
  }

  get result(): Promise<unknown> {
    return this.#task.promise;
  }

  get started(): boolean {
    return this.#task.attempt > 0;
  }

  get attempt(): number {
    return this.#task.attempt;
  }

  cancel(): Promise<void> {
    const task = this.#task;
    if (task.state !== TaskState.DONE) task.drop(task, undefined);
    return Promise.resolve();
  }
}

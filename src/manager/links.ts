import { Ewma } from '../core/estimates/ewma.js';
import type { Priority } from '../core/priority.js';
import type { ManagerToClient, ManagerToWorker } from '../protocol/messages.js';
import type { TaskMeasures } from './measures.js';
import { IdTable } from '../core/id-table.js';

/** Where a task is in its life at the manager; answered tasks leave the table. */
export type TaskState = 'queued' | 'running';

/**
 * One live task: admitted and not yet answered. Every submitter attached to its id gets the one
 * answer; `token` names the current attempt so outcomes of superseded attempts are ignored.
 */
export interface TaskRecord {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
  readonly priority: Priority;
  /** Absolute, in the manager's monotonic clock (ms); undefined = no deadline. */
  readonly deadline: number | undefined;
  readonly maxAttempts: number;
  /** Submitters waiting for the answer; empty once all of them left (then nobody is answered). */
  readonly submitters: ClientLink[];
  state: TaskState;
  /** Executions started so far. */
  attempt: number;
  token: number;
  worker: WorkerLink | undefined;
  enqueuedAt: number;
  /** When the attempt got a slot: at dispatch, or — for a task its node held — when a slot freed. */
  startedAt: number;
  /** Dispatched to a node whose slots were all busy: held there until one frees. */
  held: boolean;
  notifyStart: boolean;
  /** The node whose thread or process crashed running the last attempt: the retry goes elsewhere if it can. */
  crashedOn: WorkerLink | undefined;
  /** Its name's measurements, looked up once at the first dispatch. */
  measures: TaskMeasures | undefined;
}

export interface ClientLink {
  readonly kind: 'client';
  readonly connectionId: number;
  readonly remoteAddress: string;
  send(message: ManagerToClient): void;
  /** Tasks this client is waiting on, so they can be withdrawn when it leaves. */
  readonly tasks: IdTable<TaskRecord>;
}

export class WorkerLink {
  readonly kind = 'worker';
  /** Attempts this node runs now, keyed by token; held ones included. */
  readonly running = new IdTable<TaskRecord>();
  /**
   * The attempts it holds for its next free slots, oldest first — the node's own order, since it
   * starts held tasks first in first out and the link keeps messages in order.
   */
  readonly held: TaskRecord[] = [];
  readonly serviceTime = new Ewma(0.2);
  readonly connectedAt = Date.now();
  /** Slots the node offers the manager (it lowers this to 0 while draining). */
  capacity: number;
  /** Tasks the node holds beyond its free slots, each started the moment a slot frees. */
  readonly prefetchLimit: number;
  /** The name the node gave when it connected (`--name`), if any. */
  name: string | undefined = undefined;

  constructor(
    readonly connectionId: number,
    readonly nodeId: string,
    readonly remoteAddress: string,
    capacity: number,
    readonly taskNames: ReadonlySet<string>,
    readonly send: (message: ManagerToWorker) => void,
    prefetch = 0,
  ) {
    this.capacity = capacity;
    this.prefetchLimit = prefetch;
  }

  get freeSlots(): number {
    return this.capacity - this.running.size;
  }

  /** Prefetch room counts only while the node takes work: a draining node (capacity 0) gets none. */
  get prefetch(): number {
    return this.capacity > 0 ? this.prefetchLimit : 0;
  }

  /** Attempts on a slot now; the rest of `running` is held, waiting for one. */
  get busy(): number {
    return this.capacity > 0 ? Math.min(this.running.size, this.capacity) : this.running.size;
  }

  get recentServiceMs(): number | undefined {
    return this.serviceTime.value;
  }
}

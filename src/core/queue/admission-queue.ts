import type { ServiceTimes } from '../estimates/ewma.js';
import { InvalidArgumentError, describeValue } from '../errors.js';
import { IndexedHeap, type HeapItem } from '../indexed-heap.js';
import { PRIORITY_LEVELS, isPriority, type Priority } from '../priority.js';
import { FifoList, type ListNode } from './fifo-list.js';
import { IdTable } from '../id-table.js';

/** Retry hint while no service time has been measured yet. */
export const DEFAULT_UNMEASURED_RETRY_MS = 100;
/** Retry hint while no worker offers a slot. */
export const DEFAULT_NO_WORKERS_RETRY_MS = 1000;

/** Why a task was not admitted; a subset of the protocol's busy reasons. */
export type RejectReason = 'full' | 'latency' | 'deadline' | 'no_workers';
export type BoundReason = 'max_queue' | 'latency';

export interface AdmissionRequest<T> {
  readonly id: string;
  readonly name: string;
  readonly priority: Priority;
  /** Absolute, in the same monotonic clock as `now`; undefined = none. */
  readonly deadline: number | undefined;
  readonly payload: T;
}

export interface QueuedTask<T> extends AdmissionRequest<T> {
  enqueuedAt: number;
}

export type AdmitResult<T> =
  | { admitted: true; displaced: QueuedTask<T> | undefined }
  | { admitted: false; reason: RejectReason; retryAfterMs: number };

export interface AdmissionOptions {
  /** Hard cap on queued tasks (re-queued attempts excepted, see `requeueFront`). */
  maxQueue: number;
  /** Target for the time a task waits in the queue; undefined = only the hard cap applies. */
  maxLatencyMs: number | undefined;
}

class Node<T> implements HeapItem, ListNode<Node<T>> {
  prev: Node<T> | undefined = undefined;
  next: Node<T> | undefined = undefined;
  heapIndex = -1;
  dueAt: number;
  /** Out of the lists, waiting to be handed out by `expire()`. */
  expired = false;

  /** `estMs` is fixed at admission; undefined when nothing at all was measured then. */
  constructor(readonly task: QueuedTask<T>, readonly estMs: number | undefined) {
    this.dueAt = task.deadline ?? Infinity;
  }
}

class Level<T> {
  readonly list = new FifoList<Node<T>>();
  /** Sum of `estMs` over the nodes that have one. */
  knownWork = 0;
  /** Nodes without `estMs`: costed at the overall estimate of the moment. */
  unestimated = 0;
}

/**
 * The manager's queue: admits a task only if it can start within the stated latency and before
 * its deadline, orders by priority then arrival, and never holds more than its bound.
 *
 *   byId:      Map id → node, for every task not yet handed out (queued or expired)
 *   levels[9]: head ─► n ⇄ n ⇄ n ◄─ tail    shift() takes the head of the highest non-empty level
 *   levels[8]: (empty)                        displacement takes the tail (the newest) of the lowest
 *     …                                       non-empty level strictly below the newcomer's
 *   levels[0]: head ─► n ◄─ tail             requeueFront() puts a node before the head
 *   nonEmpty:  bit p set ⇔ levels[p] is not empty
 *   deadlines: IndexedHeap of the queued nodes that have a deadline, earliest first
 *   expired:   nodes whose deadline passed while queued, until expire() hands them out
 *
 * Invariants:
 * - Every node is in exactly one of a level list or `expired`; it is in `deadlines` iff it is in a
 *   list and has a deadline; it is in `byId` iff it is in one of those. So each task leaves exactly
 *   once: through shift, remove, expire, or as the `displaced` of admit/requeueFront.
 * - After any call given `now`, no listed node has deadline <= now: all due nodes moved to
 *   `expired` first. So shift never returns a task at or past its deadline, and dead tasks neither
 *   take room from live ones nor get displaced (answered busy) instead of expired.
 * - levels[p].knownWork and .unestimated describe exactly the nodes in levels[p].list; a level's
 *   sums are reset to 0 when it empties, so floating-point drift cannot accumulate.
 * - size <= maxQueue + (listed nodes that entered through requeueFront). Only requeueFront adds
 *   past the cap; admit adds only below it, or replaces a displaced node when size <= maxQueue.
 *   Each such node held a worker slot when it came back, so one lost worker adds at most its
 *   capacity, and the excess drains first (re-queued nodes lead their priority).
 *
 * Latency bound (Little's law): a task waits about the work queued with it divided by the slots
 * serving it, then runs for its own service time, so it is admitted while
 * (queued work + its estimate) / slots + its estimate <= maxLatencyMs — it can finish, not merely
 * start, within the stated latency. Work is summed at each task's planned service time (mean plus
 * deviations, see ServiceTimeStats), which leaves headroom in proportion to how much service times
 * wander. Two deliberate exceptions keep the queue live:
 * - cold start: before any service time was measured there is nothing to divide, so at most
 *   `slots` tasks are queued (one per slot) until the first measurement;
 * - an empty queue always admits one task: otherwise a task slower than maxLatencyMs × slots could
 *   never be admitted, even onto idle workers. That task's wait is bounded by the running ones.
 * The latency bound gates admission only; re-queued attempts may exceed it until they drain.
 *
 * Pure and synchronous: time comes in as `now` (monotonic ms), nothing here sets a timer.
 */
export class AdmissionQueue<T> {
  readonly #maxQueue: number;
  readonly #maxLatencyMs: number | undefined;
  readonly #serviceTimes: ServiceTimes;
  readonly #levels: Level<T>[] = Array.from({ length: PRIORITY_LEVELS }, () => new Level<T>());
  readonly #byId = new IdTable<Node<T>>();
  readonly #deadlines = new IndexedHeap<Node<T>>();
  /** Insertion-ordered, so the first one is the earliest collected. */
  readonly #expired = new Set<Node<T>>();
  #nonEmpty = 0;
  #size = 0;
  #slots = 0;

  constructor(options: AdmissionOptions, serviceTimes: ServiceTimes) {
    const { maxQueue, maxLatencyMs } = options;
    if (!(Number.isSafeInteger(maxQueue) && maxQueue >= 1)) {
      throw new InvalidArgumentError(`Expected \`maxQueue\` to be an integer >= 1, got ${describeValue(maxQueue)}`);
    }
    if (maxLatencyMs !== undefined && !(Number.isFinite(maxLatencyMs) && maxLatencyMs > 0)) {
      throw new InvalidArgumentError(`Expected \`maxLatencyMs\` to be a number > 0, got ${describeValue(maxLatencyMs)}`);
    }
    this.#maxQueue = maxQueue;
    this.#maxLatencyMs = maxLatencyMs;
    this.#serviceTimes = serviceTimes;
  }

  /** Queued tasks; expired ones awaiting `expire()` no longer count. */
  get size(): number {
    return this.#size;
  }

  sizeByPriority(): number[] {
    return this.#levels.map((level) => level.list.size);
  }

  /** Whether the task has not left yet: queued, or expired and not yet handed out by `expire()`. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Total slots of the connected workers, busy or not. */
  setSlots(slots: number): void {
    if (!(Number.isSafeInteger(slots) && slots >= 0)) {
      throw new InvalidArgumentError(`Expected \`slots\` to be an integer >= 0, got ${describeValue(slots)}`);
    }
    this.#slots = slots;
  }

  /**
   * The queue length the bounds allow, in tasks: `maxQueue`, or less under the latency bound,
   * which counts tasks at the overall planned service time: max(1, floor(maxLatencyMs × slots /
   * overall) − slots), `slots` before any measurement, 0 without workers.
   */
  get bound(): number {
    const latency = this.#latencyBound();
    return latency === undefined ? this.#maxQueue : Math.min(this.#maxQueue, latency);
  }

  get boundReason(): BoundReason {
    const latency = this.#latencyBound();
    return latency !== undefined && latency < this.#maxQueue ? 'latency' : 'max_queue';
  }

  /**
   * Estimated ms until the work queued at `priority` or above has started, at least 1; the hint
   * sent with a rejection. Defaults while nothing is measured or no worker is connected.
   */
  retryAfterMs(priority: Priority): number {
    if (this.#slots === 0) return DEFAULT_NO_WORKERS_RETRY_MS;
    if (this.#serviceTimes.overall === undefined) return DEFAULT_UNMEASURED_RETRY_MS;
    return Math.max(1, Math.ceil(this.#workFrom(priority) / this.#slots));
  }

  /**
   * Admits the task at the back of its priority, possibly displacing the newest task of the lowest
   * strictly lower priority when the queue is at a bound; otherwise says why not.
   */
  admit(request: AdmissionRequest<T>, now: number): AdmitResult<T> {
    this.#checkNew(request);
    this.#collectExpired(now);
    const { priority, deadline } = request;
    if (deadline !== undefined && deadline <= now) return this.#reject('deadline', priority);
    if (this.#maxLatencyMs !== undefined && this.#slots === 0) return this.#reject('no_workers', priority);
    // Cannot start in time: the work queued at its priority or above runs first.
    if (deadline !== undefined && this.#slots > 0 && this.#serviceTimes.overall !== undefined
      && now + this.#workFrom(priority) / this.#slots >= deadline) {
      return this.#reject('deadline', priority);
    }
    const { id, name, payload } = request;
    const task: QueuedTask<T> = { id, name, priority, deadline, payload, enqueuedAt: now };
    const node = new Node<T>(task, this.#serviceTimes.estimate(name));
    const full = this.#size >= this.#maxQueue;
    if (!full && this.#fitsLatency(node, undefined)) {
      this.#insert(node, false);
      return { admitted: true, displaced: undefined };
    }
    const victim = this.#victimBelow(priority);
    if (victim !== undefined && this.#size - 1 < this.#maxQueue && this.#fitsLatency(node, victim)) {
      const displaced = this.#take(victim);
      this.#insert(node, false);
      return { admitted: true, displaced };
    }
    return this.#reject(full ? 'full' : 'latency', priority);
  }

  /** The next task to dispatch: highest priority first, FIFO within one; never an expired task. */
  shift(now: number): QueuedTask<T> | undefined {
    this.#collectExpired(now);
    if (this.#nonEmpty === 0) return undefined;
    const top = 31 - Math.clz32(this.#nonEmpty);
    return this.#take(this.#levels[top]!.list.head!);
  }

  /**
   * Puts back an attempt whose worker was lost, before every task of its priority. Always
   * accepted, since it was admitted once. Past the hard cap it displaces (and returns) the newest
   * task of the lowest strictly lower priority; with none, the queue stays over the cap by the
   * re-queued tasks until they leave (see the class invariant). A task already past its deadline
   * goes straight to the expired ones.
   */
  requeueFront(task: QueuedTask<T>, now: number): QueuedTask<T> | undefined {
    this.#checkNew(task);
    this.#collectExpired(now);
    const node = new Node<T>(task, this.#serviceTimes.estimate(task.name));
    if (node.dueAt <= now) {
      node.expired = true;
      this.#expired.add(node);
      this.#byId.set(task.id, node);
      return undefined;
    }
    this.#insert(node, true);
    if (this.#size <= this.#maxQueue) return undefined;
    const victim = this.#victimBelow(task.priority);
    return victim === undefined ? undefined : this.#take(victim);
  }

  /** Withdraws a task that has not left yet (queued, or expired and not yet handed out). */
  remove(id: string): QueuedTask<T> | undefined {
    const node = this.#byId.get(id);
    if (node === undefined) return undefined;
    if (node.expired) {
      this.#expired.delete(node);
      this.#byId.delete(id);
      return node.task;
    }
    return this.#take(node);
  }

  /** Hands out every task whose deadline is <= now, including those set aside by earlier calls. */
  expire(now: number): QueuedTask<T>[] {
    this.#collectExpired(now);
    const out: QueuedTask<T>[] = [];
    for (const node of this.#expired) {
      this.#byId.delete(node.task.id);
      out.push(node.task);
    }
    this.#expired.clear();
    return out;
  }

  /**
   * When `expire()` next has something to hand out: the earliest queued deadline, or — while
   * expired tasks wait — a deadline already passed, so the owner's timer fires at once.
   */
  nextDeadline(): number | undefined {
    const first = this.#expired.values().next();
    if (first.done !== true) return first.value.dueAt;
    return this.#deadlines.peek()?.dueAt;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  #checkNew(task: AdmissionRequest<T>): void {
    if (!isPriority(task.priority)) {
      throw new InvalidArgumentError(`Expected \`priority\` to be an integer 0–9, got ${describeValue(task.priority)}`);
    }
    if (this.#byId.has(task.id)) throw new InvalidArgumentError(`Task ${JSON.stringify(task.id)} is already in the queue`);
  }

  #reject(reason: RejectReason, priority: Priority): AdmitResult<T> {
    return { admitted: false, reason, retryAfterMs: this.retryAfterMs(priority) };
  }

  /** Estimated ms of queued work at `priority` or above. */
  #workFrom(priority: number): number {
    let known = 0;
    let unestimated = 0;
    for (let p = priority; p < PRIORITY_LEVELS; p++) {
      const level = this.#levels[p]!;
      known += level.knownWork;
      unestimated += level.unestimated;
    }
    return unestimated === 0 ? known : known + unestimated * (this.#serviceTimes.overall ?? 0);
  }

  /** Whether `node` fits under the latency bound once `freed` (if any) has left. */
  #fitsLatency(node: Node<T>, freed: Node<T> | undefined): boolean {
    if (this.#maxLatencyMs === undefined) return true;
    const size = freed === undefined ? this.#size : this.#size - 1;
    if (size === 0) return true;
    const overall = this.#serviceTimes.overall;
    if (overall === undefined) return size < this.#slots;
    const freedMs = freed === undefined ? 0 : freed.estMs ?? overall;
    const ownMs = node.estMs ?? overall;
    return this.#workFrom(0) - freedMs + ownMs + ownMs * this.#slots <= this.#maxLatencyMs * this.#slots;
  }

  #latencyBound(): number | undefined {
    if (this.#maxLatencyMs === undefined) return undefined;
    if (this.#slots === 0) return 0;
    const overall = this.#serviceTimes.overall;
    if (overall === undefined) return this.#slots;
    return Math.max(1, Math.floor((this.#maxLatencyMs * this.#slots) / overall) - this.#slots);
  }

  /** The newest task of the lowest non-empty priority strictly below `priority`. */
  #victimBelow(priority: Priority): Node<T> | undefined {
    const lower = this.#nonEmpty & ((1 << priority) - 1);
    if (lower === 0) return undefined;
    return this.#levels[31 - Math.clz32(lower & -lower)]!.list.tail;
  }

  #insert(node: Node<T>, front: boolean): void {
    const priority = node.task.priority;
    const level = this.#levels[priority]!;
    if (front) level.list.pushFront(node);
    else level.list.pushBack(node);
    if (node.estMs === undefined) level.unestimated++;
    else level.knownWork += node.estMs;
    this.#nonEmpty |= 1 << priority;
    this.#size++;
    this.#byId.set(node.task.id, node);
    if (node.dueAt !== Infinity) this.#deadlines.push(node);
  }

  /** Takes a listed node out of the lists, the sums and the deadline heap (not out of `byId`). */
  #unlink(node: Node<T>): void {
    const priority = node.task.priority;
    const level = this.#levels[priority]!;
    level.list.remove(node);
    if (level.list.size === 0) {
      level.knownWork = 0;
      level.unestimated = 0;
      this.#nonEmpty &= ~(1 << priority);
    } else if (node.estMs === undefined) level.unestimated--;
    else level.knownWork -= node.estMs;
    this.#deadlines.remove(node);
    this.#size--;
  }

  #take(node: Node<T>): QueuedTask<T> {
    this.#unlink(node);
    this.#byId.delete(node.task.id);
    return node.task;
  }

  #collectExpired(now: number): void {
    for (let top = this.#deadlines.peek(); top !== undefined && top.dueAt <= now; top = this.#deadlines.peek()) {
      this.#unlink(top);
      top.expired = true;
      this.#expired.add(top);
    }
  }
}

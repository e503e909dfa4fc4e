import { AdmissionQueue, type QueuedTask } from '../core/queue/admission-queue.js';
import { ServiceTimes } from '../core/estimates/ewma.js';
import { pickWorker } from '../core/scheduling/pick-worker.js';
import type { Logger } from '../core/logger.js';
import type { Answer, Cancel, Outcome, Submit } from '../protocol/messages.js';
import type { ClientLink, TaskRecord, WorkerLink } from './links.js';
import { Measures } from './measures.js';
import { ManagerStats } from './stats.js';
import { IdTable } from '../core/id-table.js';

export interface DispatcherOptions {
  maxQueue: number;
  maxLatencyMs: number | undefined;
  maxAttempts: number;
  /** Record wait and service times in histograms; off only to measure what measuring costs. */
  measureTimes: boolean;
  logger: Logger;
  /** Monotonic milliseconds; injected so tests can drive time. */
  now: () => number;
}

/**
 * The manager's task state machine: admission, dispatch, outcomes, lost workers, departed
 * clients, cancellation and expiry. Every path that ends a task goes through `answer()`, which
 * removes it from the table first — so each task is answered exactly once.
 *
 *   submit ─► queued ─► running ─► completed | failed | expired | cancelled
 *                ▲          │
 *                └──────────┘ worker lost / crashed (attempt+1) ─► worker_lost after maxAttempts
 */
function* otherThan<T>(items: Iterable<T>, excluded: T): Generator<T> {
  for (const item of items) if (item !== excluded) yield item;
}

export class Dispatcher {
  readonly serviceTimes = new ServiceTimes();
  readonly queue: AdmissionQueue<TaskRecord>;
  readonly stats = new ManagerStats();
  readonly measures = new Measures();
  readonly #tasks = new IdTable<TaskRecord>();
  readonly #workers = new Set<WorkerLink>();
  readonly #options: DispatcherOptions;
  #nextToken = 1;
  #slots = 0;
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryAt = Infinity;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.queue = new AdmissionQueue<TaskRecord>(
      { maxQueue: options.maxQueue, maxLatencyMs: options.maxLatencyMs },
      this.serviceTimes,
    );
  }

  get workers(): ReadonlySet<WorkerLink> {
    return this.#workers;
  }

  get liveTasks(): number {
    return this.#tasks.size;
  }

  get slots(): number {
    return this.#slots;
  }

  /** Tasks dispatched and not yet answered: on a slot, or held by their node for the next one. */
  get running(): number {
    return this.#tasks.size - this.queue.size;
  }

  /** Slots running an attempt now. */
  get busy(): number {
    let busy = 0;
    for (const worker of this.#workers) busy += worker.busy;
    return busy;
  }

  // ── clients ────────────────────────────────────────────────────────────────────────────────

  submit(client: ClientLink, msg: Submit): void {
    const existing = this.#tasks.get(msg.id);
    if (existing !== undefined) {
      // Same id again (a reconnecting client, or a second submitter): attach, never run twice.
      if (!existing.submitters.includes(client)) {
        existing.submitters.push(client);
        client.tasks.set(existing.id, existing);
      }
      this.stats.attached++;
      return;
    }
    const now = this.#options.now();
    if (msg.deadlineMs !== undefined && msg.deadlineMs <= 0) {
      this.stats.expired++;
      client.send({ type: 'expired', id: msg.id });
      return;
    }
    if (this.#workers.size > 0 && !this.#someWorkerRuns(msg.name)) {
      this.stats.unknownTask++;
      client.send({ type: 'failed', id: msg.id, error: { name: 'UnknownTaskError', message: `No worker registers a task named ${JSON.stringify(msg.name)}` } });
      return;
    }
    const record: TaskRecord = {
      id: msg.id,
      name: msg.name,
      args: msg.args,
      priority: msg.priority,
      deadline: msg.deadlineMs === undefined ? undefined : now + msg.deadlineMs,
      maxAttempts: msg.maxAttempts ?? this.#options.maxAttempts,
      submitters: [client],
      state: 'queued',
      attempt: 0,
      token: 0,
      worker: undefined,
      enqueuedAt: now,
      startedAt: 0,
      held: false,
      notifyStart: msg.notifyStart === true,
      crashedOn: undefined,
      measures: undefined,
    };
    const result = this.queue.admit(
      { id: record.id, name: record.name, priority: record.priority, deadline: record.deadline, payload: record },
      now,
    );
    if (!result.admitted) {
      this.stats.rejected(result.reason);
      client.send({ type: 'busy', id: msg.id, reason: result.reason, retryAfterMs: result.retryAfterMs });
      return;
    }
    this.stats.admitted++;
    this.#tasks.set(record.id, record);
    client.tasks.set(record.id, record);
    if (result.displaced !== undefined) this.#displace(result.displaced);
    if (record.deadline !== undefined) this.#armExpiry(record.deadline);
    this.pump();
  }

  cancel(client: ClientLink, msg: Cancel): void {
    const record = this.#tasks.get(msg.id);
    if (record === undefined || !record.submitters.includes(client)) return;
    this.#cancelRecord(record, 'cancelled');
  }

  /** A client left: nobody waits for its tasks any more, unless another submitter attached. */
  clientGone(client: ClientLink): void {
    for (const record of [...client.tasks.values()]) {
      const at = record.submitters.indexOf(client);
      if (at !== -1) record.submitters.splice(at, 1);
      if (record.submitters.length === 0) this.#cancelRecord(record, 'abandoned');
    }
    client.tasks.clear();
  }

  // ── workers ────────────────────────────────────────────────────────────────────────────────

  addWorker(worker: WorkerLink): void {
    this.#workers.add(worker);
    this.#updateSlots();
    this.pump();
  }

  setCapacity(worker: WorkerLink, capacity: number): void {
    worker.capacity = capacity;
    this.#updateSlots();
    this.pump();
  }

  /** The node's link closed or went silent: every attempt it held is lost. */
  workerGone(worker: WorkerLink): void {
    if (!this.#workers.delete(worker)) return;
    this.#updateSlots();
    const lost = [...worker.running.values()];
    worker.running.clear();
    for (const record of worker.held) record.held = false;
    worker.held.length = 0;
    // Re-queue in reverse so the oldest ends up first at the front of its priority.
    for (let i = lost.length - 1; i >= 0; i--) this.#attemptLost(lost[i]!, 'worker_lost');
    this.pump();
  }

  outcome(worker: WorkerLink, msg: Outcome): void {
    const record = worker.running.get(msg.token);
    if (record === undefined || record.token !== msg.token) {
      // A superseded attempt (its task was re-queued or answered): its result must not count twice.
      this.stats.staleOutcomes++;
      return;
    }
    worker.running.delete(msg.token);
    record.worker = undefined;
    const now = this.#options.now();
    // A held attempt ended without a slot (cancelled, expired, handed back); any other outcome
    // freed a slot, which the node gave to the oldest task it held.
    if (record.held) {
      record.held = false;
      worker.held.splice(worker.held.indexOf(record), 1);
    } else if (worker.held.length > 0) this.#started(worker.held.shift()!, now);
    switch (msg.status) {
      case 'completed': {
        // The node's own figure when it sent one: a task it held waited there before its slot.
        const serviceMs = msg.runMs ?? now - record.startedAt;
        this.serviceTimes.record(record.name, serviceMs, now);
        worker.serviceTime.update(serviceMs);
        this.stats.completed++;
        const measures = record.measures!;
        measures.completed++;
        if (this.#options.measureTimes) measures.service.record(serviceMs);
        this.#answer(record, { type: 'completed', id: record.id, result: msg.result });
        break;
      }
      case 'failed': {
        const serviceMs = msg.runMs ?? now - record.startedAt;
        this.serviceTimes.record(record.name, serviceMs, now);
        this.stats.failed++;
        const measures = record.measures!;
        measures.failed++;
        if (this.#options.measureTimes) measures.service.record(serviceMs);
        this.#answer(record, { type: 'failed', id: record.id, error: msg.error });
        break;
      }
      case 'crashed':
        record.crashedOn = worker;
        this.#options.logger.warn({ taskId: record.id, task: record.name, nodeId: worker.nodeId, error: msg.error.message }, 'task crashed its thread');
        this.#attemptLost(record, 'crashed');
        break;
      case 'returned':
        record.attempt--;
        this.#requeue(record);
        break;
      case 'aborted':
        if (msg.reason === 'shutdown') {
          record.attempt--;
          this.#requeue(record);
        } else if (msg.reason === 'expired') {
          this.stats.expired++;
          this.#answer(record, { type: 'expired', id: record.id });
        } else {
          this.stats.cancelled++;
          this.#answer(record, { type: 'cancelled', id: record.id });
        }
        break;
    }
    this.pump();
  }

  // ── dispatch ───────────────────────────────────────────────────────────────────────────────

  /** Pushes queued tasks to the workers with the most free slots while both exist. */
  pump(): void {
    if (this.queue.size === 0 || this.#closed) return;
    const now = this.#options.now();
    for (;;) {
      const worker = pickWorker(this.#workers);
      if (worker === undefined) break;
      const queued = this.queue.shift(now);
      if (queued === undefined) break;
      const record = queued.payload;
      // A retry after a crash goes to another node with a free slot when there is one, so a node
      // with a local problem cannot use up all of a task's attempts (the chaos poison scenario
      // saw three in a row on one node).
      const target = record.crashedOn === worker ? (pickWorker(otherThan(this.#workers, worker)) ?? worker) : worker;
      this.#dispatch(record, target, now);
    }
    if (this.queue.size > 0) this.#expireDue();
  }

  #dispatch(record: TaskRecord, worker: WorkerLink, now: number): void {
    const token = this.#nextToken++;
    record.state = 'running';
    record.attempt++;
    record.token = token;
    record.worker = worker;
    record.held = worker.freeSlots <= 0;
    record.measures ??= this.measures.forTask(record.name);
    worker.running.set(token, record);
    if (record.attempt > 1) this.stats.retriedAttempts++;
    worker.send({
      type: 'dispatch',
      token,
      id: record.id,
      name: record.name,
      args: record.args,
      attempt: record.attempt,
      deadlineMs: record.deadline === undefined ? undefined : Math.max(0, record.deadline - now),
    });
    if (record.held) worker.held.push(record);
    else this.#started(record, now);
  }

  /** The attempt has a slot: its wait ends, and submitters who asked are told it runs. */
  #started(record: TaskRecord, now: number): void {
    record.held = false;
    record.startedAt = now;
    if (this.#options.measureTimes) record.measures!.wait.record(now - record.enqueuedAt);
    if (record.notifyStart) {
      for (const client of record.submitters) client.send({ type: 'started', id: record.id, attempt: record.attempt });
    }
  }

  // ── endings ────────────────────────────────────────────────────────────────────────────────

  #attemptLost(record: TaskRecord, cause: 'worker_lost' | 'crashed'): void {
    record.worker = undefined;
    this.stats.lostAttempts++;
    if (record.attempt >= record.maxAttempts) {
      this.stats.workerLost++;
      this.#options.logger.warn({ taskId: record.id, task: record.name, attempts: record.attempt, cause }, 'task failed: attempts exhausted');
      this.#answer(record, { type: 'worker_lost', id: record.id, attempts: record.attempt });
      return;
    }
    this.#requeue(record);
  }

  #requeue(record: TaskRecord): void {
    if (record.submitters.length === 0) {
      this.#tasks.delete(record.id);
      return;
    }
    const now = this.#options.now();
    record.state = 'queued';
    record.worker = undefined;
    record.enqueuedAt = now;
    const displaced = this.queue.requeueFront(
      { id: record.id, name: record.name, priority: record.priority, deadline: record.deadline, enqueuedAt: now, payload: record },
      now,
    );
    if (displaced !== undefined) this.#displace(displaced);
    if (record.deadline !== undefined) this.#armExpiry(record.deadline);
  }

  #displace(task: QueuedTask<TaskRecord>): void {
    this.stats.rejected('displaced');
    this.#answer(task.payload, { type: 'busy', id: task.id, reason: 'displaced', retryAfterMs: this.queue.retryAfterMs(task.priority) });
  }

  #cancelRecord(record: TaskRecord, why: 'cancelled' | 'abandoned'): void {
    if (record.state === 'queued') {
      this.queue.remove(record.id);
      this.stats.cancelled++;
      this.#answer(record, { type: 'cancelled', id: record.id });
      return;
    }
    // Running: ask the worker to stop; the task is answered when its outcome arrives.
    if (record.worker !== undefined) record.worker.send({ type: 'abort', token: record.token, reason: 'cancelled' });
    if (why === 'abandoned') this.stats.abandoned++;
  }

  /** Ends a task: removes it from every table, then sends its answer to each waiting submitter. */
  #answer(record: TaskRecord, answer: Answer): void {
    this.#tasks.delete(record.id);
    for (const client of record.submitters) {
      client.tasks.delete(record.id);
      client.send(answer);
    }
  }

  // ── expiry: one timer, armed for the earliest queued deadline ──────────────────────────────

  #armExpiry(deadline: number): void {
    if (deadline >= this.#expiryAt || this.#closed) return;
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryAt = deadline;
    this.#expiryTimer = setTimeout(() => this.#onExpiryTimer(), Math.max(0, deadline - this.#options.now()) + 1);
    this.#expiryTimer.unref();
  }

  #onExpiryTimer(): void {
    this.#expiryTimer = undefined;
    this.#expiryAt = Infinity;
    this.#expireDue();
    const next = this.queue.nextDeadline();
    if (next !== undefined) this.#armExpiry(next);
  }

  #expireDue(): void {
    const expired = this.queue.expire(this.#options.now());
    for (const task of expired) {
      this.stats.expired++;
      this.#answer(task.payload, { type: 'expired', id: task.id });
    }
  }

  #someWorkerRuns(name: string): boolean {
    for (const worker of this.#workers) if (worker.taskNames.has(name)) return true;
    return false;
  }

  #updateSlots(): void {
    let slots = 0;
    for (const worker of this.#workers) slots += worker.capacity;
    this.#slots = slots;
    this.queue.setSlots(slots);
  }

  close(): void {
    if (!this.#closed) this.measures.destroy();
    this.#closed = true;
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PRIORITY_LEVELS, type Priority } from '../priority.js';
import {
  AdmissionQueue,
  DEFAULT_NO_WORKERS_RETRY_MS,
  DEFAULT_UNMEASURED_RETRY_MS,
  type AdmitResult,
  type QueuedTask,
  type RejectReason,
} from './admission-queue.js';
import { FixedTimes } from './fixed-times.test-helpers.js';

const NAMES = ['a', 'b', 'c'] as const;

type Cmd =
  | { kind: 'admit'; name: string; priority: Priority; deadlineIn: number | undefined }
  | { kind: 'shift' }
  | { kind: 'remove'; pick: number }
  | { kind: 'expire' }
  | { kind: 'advance'; ms: number }
  | { kind: 'slots'; slots: number }
  | { kind: 'record'; name: string; ms: number }
  | { kind: 'requeue'; pick: number };

const priority = fc.integer({ min: 0, max: PRIORITY_LEVELS - 1 }) as fc.Arbitrary<Priority>;
const name = fc.constantFrom(...NAMES);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('admit' as const), name, priority, deadlineIn: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }) }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('shift' as const) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('expire' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('slots' as const), slots: fc.integer({ min: 0, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('record' as const), name, ms: fc.integer({ min: 0, max: 20 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick: fc.nat() }), weight: 2 },
);
const options = fc.record({
  maxQueue: fc.integer({ min: 1, max: 8 }),
  maxLatencyMs: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
});

interface ModelTask {
  readonly task: QueuedTask<number>;
  readonly est: number | undefined;
  readonly requeued: boolean;
}

/** The queue's promises, restated on plain arrays: levels[p][0] is the next of priority p. */
class Model {
  readonly levels: ModelTask[][] = Array.from({ length: PRIORITY_LEVELS }, () => []);
  expired: ModelTask[] = [];
  slots = 0;
  constructor(readonly maxQueue: number, readonly maxLatencyMs: number | undefined, readonly times: FixedTimes) {}

  get size(): number {
    return this.levels.reduce((n, level) => n + level.length, 0);
  }
  get requeuedQueued(): number {
    return this.levels.reduce((n, level) => n + level.filter((t) => t.requeued).length, 0);
  }
  work(from: number): number {
    const overall = this.times.overall ?? 0;
    return this.levels.slice(from).flat().reduce((sum, t) => sum + (t.est ?? overall), 0);
  }
  collect(now: number): void {
    for (const [p, level] of this.levels.entries()) {
      this.expired.push(...level.filter((t) => t.task.deadline !== undefined && t.task.deadline <= now));
      this.levels[p] = level.filter((t) => !(t.task.deadline !== undefined && t.task.deadline <= now));
    }
  }
  victimBelow(priority: number): ModelTask | undefined {
    const level = this.levels.slice(0, priority).find((l) => l.length > 0);
    return level?.[level.length - 1];
  }
  take(t: ModelTask): void {
    const level = this.levels[t.task.priority]!;
    level.splice(level.indexOf(t), 1);
  }
  fits(est: number | undefined, freed: ModelTask | undefined): boolean {
    if (this.maxLatencyMs === undefined) return true;
    const size = this.size - (freed === undefined ? 0 : 1);
    if (size === 0) return true;
    const overall = this.times.overall;
    if (overall === undefined) return size < this.slots;
    const own = est ?? overall;
    return this.work(0) - (freed === undefined ? 0 : freed.est ?? overall) + own + own * this.slots <= this.maxLatencyMs * this.slots;
  }
  retryAfter(priority: number): number {
    if (this.slots === 0) return DEFAULT_NO_WORKERS_RETRY_MS;
    if (this.times.overall === undefined) return DEFAULT_UNMEASURED_RETRY_MS;
    return Math.max(1, Math.ceil(this.work(priority) / this.slots));
  }
  /** What admit must answer; applies it to the model when admitted. */
  admit(task: QueuedTask<number>, now: number): { reason: RejectReason } | { displaced: ModelTask | undefined } {
    this.collect(now);
    const { deadline, priority } = task;
    if (deadline !== undefined && deadline <= now) return { reason: 'deadline' };
    if (this.maxLatencyMs !== undefined && this.slots === 0) return { reason: 'no_workers' };
    if (deadline !== undefined && this.slots > 0 && this.times.overall !== undefined && now + this.work(priority) / this.slots >= deadline) {
      return { reason: 'deadline' };
    }
    const entry: ModelTask = { task, est: this.times.estimate(task.name), requeued: false };
    const full = this.size >= this.maxQueue;
    if (!full && this.fits(entry.est, undefined)) {
      this.levels[priority]!.push(entry);
      return { displaced: undefined };
    }
    const victim = this.victimBelow(priority);
    if (victim !== undefined && this.size - 1 < this.maxQueue && this.fits(entry.est, victim)) {
      this.take(victim);
      this.levels[priority]!.push(entry);
      return { displaced: victim };
    }
    return { reason: full ? 'full' : 'latency' };
  }
}

function run(opts: { maxQueue: number; maxLatencyMs: number | undefined }, cmds: Cmd[]): void {
  const times = new FixedTimes();
  const queue = new AdmissionQueue<number>(opts, times);
  const model = new Model(opts.maxQueue, opts.maxLatencyMs, times);
  /** Tasks admitted and not yet left, by id: each must leave exactly once. */
  const live = new Set<string>();
  /** Shifted tasks that may come back through requeueFront (a lost worker). */
  const running: QueuedTask<number>[] = [];
  let now = 0;
  let nextId = 0;
  const leave = (task: QueuedTask<number>, how: string): void => {
    assert.ok(live.delete(task.id), `${task.id} left through ${how} but was not live`);
  };
  const leaveAll = (tasks: QueuedTask<number>[], how: string): void => {
    for (const task of tasks) leave(task, how);
  };

  for (const c of cmds) {
    switch (c.kind) {
      case 'admit': {
        const id = `t${nextId++}`;
        const deadline = c.deadlineIn === undefined ? undefined : now + c.deadlineIn;
        model.collect(now);
        const lowest = model.victimBelow(PRIORITY_LEVELS);
        const result: AdmitResult<number> = queue.admit({ id, name: c.name, priority: c.priority, deadline, payload: nextId }, now);
        const expected = model.admit({ id, name: c.name, priority: c.priority, deadline, payload: nextId, enqueuedAt: now }, now);
        if ('reason' in expected) {
          assert.deepEqual(result, { admitted: false, reason: expected.reason, retryAfterMs: model.retryAfter(c.priority) });
          break;
        }
        assert.equal(result.admitted, true);
        if (!result.admitted) break;
        live.add(id);
        assert.equal(result.displaced?.id, expected.displaced?.task.id);
        if (result.displaced !== undefined) {
          assert.ok(result.displaced.priority < c.priority, 'only a strictly lower priority is displaced');
          assert.equal(result.displaced.id, lowest?.task.id, 'only the newest of the lowest priority');
          leave(result.displaced, 'displacement');
        }
        assert.ok(queue.size <= opts.maxQueue, 'admission never takes the queue past the cap');
        if (opts.maxLatencyMs !== undefined) {
          if (times.overall === undefined) assert.ok(model.size <= model.slots, 'cold start: one queued task per slot');
          else {
            const own = times.estimate(c.name) ?? times.overall!;
            assert.ok(model.size === 1 || model.work(0) + own * model.slots <= opts.maxLatencyMs * model.slots, 'admitted only if it can finish within maxLatencyMs');
          }
        }
        break;
      }
      case 'shift': {
        const task = queue.shift(now);
        model.collect(now);
        const top = model.levels.findLast((level) => level.length > 0);
        assert.equal(task?.id, top?.[0]?.task.id, 'highest priority first, FIFO within one');
        if (task === undefined) break;
        assert.ok(task.deadline === undefined || task.deadline > now, 'never shifts an expired task');
        model.take(top![0]!);
        leave(task, 'shift');
        running.push(task);
        break;
      }
      case 'remove': {
        const ids = [...live];
        const id = ids[c.pick % Math.max(1, ids.length)] ?? 'none';
        const task = queue.remove(id);
        assert.equal(task?.id, live.has(id) ? id : undefined);
        if (task === undefined) break;
        leave(task, 'remove');
        const entry = model.levels.flat().find((t) => t.task.id === id);
        if (entry !== undefined) model.take(entry);
        model.expired = model.expired.filter((t) => t.task.id !== id);
        break;
      }
      case 'expire': {
        const out = queue.expire(now);
        model.collect(now);
        assert.deepEqual(out.map((t) => t.id).sort(), model.expired.map((t) => t.task.id).sort());
        for (const task of out) assert.ok(task.deadline !== undefined && task.deadline <= now);
        leaveAll(out, 'expire');
        model.expired = [];
        break;
      }
      case 'advance':
        now += c.ms;
        break;
      case 'slots':
        queue.setSlots(c.slots);
        model.slots = c.slots;
        break;
      case 'record':
        times.record(c.name, c.ms);
        break;
      case 'requeue': {
        const task = running.splice(c.pick % Math.max(1, running.length), 1)[0];
        if (task === undefined) break;
        task.enqueuedAt = now;
        model.collect(now);
        const lowestBelow = model.victimBelow(task.priority);
        const displaced = queue.requeueFront(task, now);
        live.add(task.id);
        const entry: ModelTask = { task, est: times.estimate(task.name), requeued: true };
        if (task.deadline !== undefined && task.deadline <= now) {
          model.expired.push(entry);
          assert.equal(displaced, undefined);
          break;
        }
        model.levels[task.priority]!.unshift(entry);
        const victim = model.size > opts.maxQueue ? model.victimBelow(task.priority) : undefined;
        assert.equal(displaced?.id, victim?.task.id, 'displaces the newest of the lowest strictly lower priority, only past the cap');
        if (victim !== undefined) {
          assert.equal(lowestBelow, victim);
          model.take(victim);
          leave(displaced!, 'displacement');
        }
        break;
      }
    }
    assert.equal(queue.size, model.size);
    assert.deepEqual(queue.sizeByPriority(), model.levels.map((level) => level.length));
    assert.ok(queue.size <= opts.maxQueue + model.requeuedQueued, 'depth <= maxQueue + re-queued tasks');
    for (const id of live) assert.ok(queue.has(id), `${id} is held until it leaves`);
  }

  // Everything admitted leaves exactly once.
  for (let task = queue.shift(now); task !== undefined; task = queue.shift(now)) leave(task, 'final shift');
  leaveAll(queue.expire(now), 'final expire');
  assert.deepEqual([...live], []);
  assert.equal(queue.size, 0);
  assert.equal(queue.nextDeadline(), undefined);
}

describe('AdmissionQueue (model-based)', () => {
  it('keeps every promise under any sequence of operations', () => {
    fc.assert(fc.property(options, fc.array(cmd, { maxLength: 80 }), run), { numRuns: 3000 });
  });
});

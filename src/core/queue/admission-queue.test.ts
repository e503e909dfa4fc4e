import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceTimes } from '../estimates/ewma.js';
import type { Priority } from '../priority.js';
import {
  AdmissionQueue,
  DEFAULT_NO_WORKERS_RETRY_MS,
  DEFAULT_UNMEASURED_RETRY_MS,
  type AdmitResult,
  type QueuedTask,
} from './admission-queue.js';
import { FixedTimes } from './fixed-times.test-helpers.js';

interface Setup {
  maxQueue?: number;
  maxLatencyMs?: number;
  slots?: number;
  /** Planned service time per name (set directly, see FixedTimes). */
  times?: Record<string, number>;
}

function setup({ maxQueue = 100, maxLatencyMs, slots = 1, times = {} }: Setup = {}): { queue: AdmissionQueue<string>; serviceTimes: ServiceTimes } {
  const serviceTimes = new FixedTimes();
  for (const [name, ms] of Object.entries(times)) serviceTimes.record(name, ms);
  const queue = new AdmissionQueue<string>({ maxQueue, maxLatencyMs }, serviceTimes);
  queue.setSlots(slots);
  return { queue, serviceTimes };
}

let nextId = 0;
function admit(queue: AdmissionQueue<string>, priority: Priority, opts: { name?: string; deadline?: number; now?: number; id?: string } = {}): AdmitResult<string> & { id: string } {
  const id = opts.id ?? `t${nextId++}`;
  const result = queue.admit({ id, name: opts.name ?? 'a', priority, deadline: opts.deadline, payload: id }, opts.now ?? 0);
  return { ...result, id };
}

function drain(queue: AdmissionQueue<string>, now = 0): string[] {
  const ids: string[] = [];
  for (let task = queue.shift(now); task !== undefined; task = queue.shift(now)) ids.push(task.id);
  return ids;
}

function rejected(result: AdmitResult<string>): { reason: string; retryAfterMs: number } {
  assert.equal(result.admitted, false, 'expected a rejection');
  if (result.admitted) throw new Error('unreachable');
  return { reason: result.reason, retryAfterMs: result.retryAfterMs };
}

function displacedBy(result: AdmitResult<string>): QueuedTask<string> | undefined {
  assert.equal(result.admitted, true, 'expected an admission');
  return result.admitted ? result.displaced : undefined;
}

describe('AdmissionQueue order', () => {
  it('shifts the highest priority first and FIFO within a priority', () => {
    const { queue } = setup();
    const a = admit(queue, 2).id;
    const b = admit(queue, 9).id;
    const c = admit(queue, 2).id;
    const d = admit(queue, 5).id;
    const e = admit(queue, 9).id;
    assert.deepEqual(queue.sizeByPriority(), [0, 0, 2, 0, 0, 1, 0, 0, 0, 2]);
    assert.deepEqual(drain(queue), [b, e, d, a, c]);
    assert.equal(queue.size, 0);
  });

  it('sets enqueuedAt to the admission time and keeps the payload', () => {
    const { queue } = setup();
    admit(queue, 5, { id: 'x', now: 42 });
    assert.deepEqual(queue.shift(50), { id: 'x', name: 'a', priority: 5, deadline: undefined, payload: 'x', enqueuedAt: 42 });
  });

  it('refuses an id it already holds and invalid options', () => {
    const { queue } = setup();
    admit(queue, 5, { id: 'dup' });
    assert.throws(() => admit(queue, 5, { id: 'dup' }), { code: 'invalid_argument' });
    assert.throws(() => new AdmissionQueue({ maxQueue: 0, maxLatencyMs: undefined }, new ServiceTimes()), { code: 'invalid_argument' });
    assert.throws(() => new AdmissionQueue({ maxQueue: 1, maxLatencyMs: -5 }, new ServiceTimes()), { code: 'invalid_argument' });
    assert.throws(() => queue.setSlots(-1), { code: 'invalid_argument' });
  });
});

describe('AdmissionQueue bounds', () => {
  it('enforces the hard cap, and without maxLatencyMs ignores slots', () => {
    const { queue } = setup({ maxQueue: 2, slots: 0 });
    admit(queue, 5);
    admit(queue, 5);
    assert.deepEqual(rejected(admit(queue, 5)), { reason: 'full', retryAfterMs: DEFAULT_NO_WORKERS_RETRY_MS });
    assert.equal(queue.size, 2);
    assert.equal(queue.bound, 2);
    assert.equal(queue.boundReason, 'max_queue');
  });

  it('admits while a task can finish within maxLatencyMs: queued work / slots + its own time (Little’s law)', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 2, times: { a: 20 } });
    assert.equal(queue.bound, 8); // floor(100 × 2 / 20) − 2
    assert.equal(queue.boundReason, 'latency');
    // The 8th finishes after 8 × 20 / 2 + 20 = 100 ms; a 9th would need 110.
    for (let i = 0; i < 8; i++) assert.equal(admit(queue, 5).admitted, true);
    assert.deepEqual(rejected(admit(queue, 5)), { reason: 'latency', retryAfterMs: 80 }); // 160 ms of work over 2 slots
    queue.setSlots(3);
    assert.equal(queue.bound, 12);
    assert.equal(admit(queue, 5).admitted, true); // 9 × 20 / 3 + 20 = 80
  });

  it('reports the smaller of the two bounds', () => {
    const { queue } = setup({ maxQueue: 3, maxLatencyMs: 100, slots: 2, times: { a: 20 } });
    assert.equal(queue.bound, 3);
    assert.equal(queue.boundReason, 'max_queue');
    for (let i = 0; i < 3; i++) admit(queue, 5);
    assert.equal(rejected(admit(queue, 5)).reason, 'full');
  });

  it('costs each task at its own name’s estimate', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 1, times: { fast: 10, slow: 60 } });
    assert.equal(admit(queue, 5, { name: 'slow' }).admitted, true);
    // A fast task waits for the work queued with it and runs: 60 + 10 + 10, then 90, then 100.
    for (let i = 0; i < 3; i++) assert.equal(admit(queue, 5, { name: 'fast' }).admitted, true);
    assert.equal(rejected(admit(queue, 5, { name: 'fast' })).reason, 'latency'); // 90 + 10 + 10
    assert.equal(rejected(admit(queue, 5, { name: 'slow' })).reason, 'latency');
  });

  it('cold start: before any measurement, queues at most one task per slot', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 3 });
    assert.equal(queue.bound, 3);
    for (let i = 0; i < 3; i++) assert.equal(admit(queue, 5).admitted, true);
    assert.deepEqual(rejected(admit(queue, 5)), { reason: 'latency', retryAfterMs: DEFAULT_UNMEASURED_RETRY_MS });
  });

  it('costs tasks admitted before the first measurement at the overall estimate once there is one', () => {
    const { queue, serviceTimes } = setup({ maxLatencyMs: 100, slots: 1 });
    admit(queue, 5, { name: 'x' });
    serviceTimes.record('y', 60, 0);
    assert.equal(queue.retryAfterMs(5), 60);
    assert.equal(rejected(admit(queue, 5, { name: 'y' })).reason, 'latency'); // 60 + 60 > 100
  });

  it('rejects no_workers under a latency bound while no slot exists', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 0, times: { a: 10 } });
    assert.deepEqual(rejected(admit(queue, 5)), { reason: 'no_workers', retryAfterMs: DEFAULT_NO_WORKERS_RETRY_MS });
    assert.equal(queue.bound, 0);
    assert.equal(queue.boundReason, 'latency');
  });

  it('always admits onto an empty queue, even a task slower than the whole bound', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 1, times: { a: 1000 } });
    assert.equal(queue.bound, 1);
    assert.equal(admit(queue, 5).admitted, true);
    assert.equal(rejected(admit(queue, 5)).reason, 'latency');
  });
});

describe('AdmissionQueue deadlines', () => {
  it('rejects a deadline already passed', () => {
    const { queue } = setup();
    assert.equal(rejected(admit(queue, 5, { deadline: 10, now: 10 })).reason, 'deadline');
    assert.equal(queue.size, 0);
  });

  it('rejects a task that cannot start before its deadline', () => {
    const { queue } = setup({ slots: 2, times: { a: 100 } });
    for (let i = 0; i < 3; i++) admit(queue, 5);
    admit(queue, 1); // lower priority: not ahead of a priority-5 task
    // Work ahead at priority >= 5: 300 ms over 2 slots = 150 ms.
    assert.equal(rejected(admit(queue, 5, { deadline: 1150, now: 1000 })).reason, 'deadline');
    assert.equal(admit(queue, 5, { deadline: 1151, now: 1000 }).admitted, true);
    assert.equal(admit(queue, 6, { deadline: 1001, now: 1000 }).admitted, true, 'nothing queued ahead of it');
  });

  it('does not guess a wait before anything was measured', () => {
    const { queue } = setup({ slots: 1 });
    for (let i = 0; i < 5; i++) admit(queue, 5);
    assert.equal(admit(queue, 5, { deadline: 1, now: 0 }).admitted, true);
  });

  it('expires due tasks, once, and reports the next deadline', () => {
    const { queue } = setup();
    const a = admit(queue, 5, { deadline: 20 }).id;
    const b = admit(queue, 5, { deadline: 10 }).id;
    admit(queue, 5);
    assert.equal(queue.nextDeadline(), 10);
    assert.deepEqual(queue.expire(9), []);
    assert.deepEqual(queue.expire(10).map((t) => t.id), [b]);
    assert.equal(queue.has(b), false);
    assert.equal(queue.nextDeadline(), 20);
    assert.deepEqual(queue.expire(25).map((t) => t.id), [a]);
    assert.deepEqual(queue.expire(25), []);
    assert.equal(queue.nextDeadline(), undefined);
    assert.equal(queue.size, 1);
  });

  it('shift never returns an expired task: it sets it aside for expire()', () => {
    const { queue } = setup();
    const late = admit(queue, 9, { deadline: 10 }).id;
    const ok = admit(queue, 5).id;
    assert.equal(queue.shift(10)?.id, ok);
    assert.equal(queue.size, 0, 'the expired task stopped counting at once');
    assert.equal(queue.has(late), true, 'but it has not left yet');
    assert.ok((queue.nextDeadline() ?? Infinity) <= 10, 'the owner is told to expire now');
    assert.deepEqual(queue.expire(10).map((t) => t.id), [late]);
    assert.equal(queue.has(late), false);
  });

  it('remove() withdraws an expired task not yet handed out, so it leaves only once', () => {
    const { queue } = setup();
    const late = admit(queue, 5, { deadline: 10 }).id;
    assert.equal(queue.shift(11), undefined);
    assert.equal(queue.remove(late)?.id, late);
    assert.deepEqual(queue.expire(11), []);
    assert.equal(queue.remove(late), undefined);
  });

  it('expired tasks free their room before a new task is judged', () => {
    const { queue } = setup({ maxQueue: 1 });
    admit(queue, 1, { deadline: 10 });
    const fresh = admit(queue, 9, { now: 10 });
    assert.equal(displacedBy(fresh), undefined, 'the dead task is expired, not displaced');
    assert.equal(queue.expire(10).length, 1);
  });
});

describe('AdmissionQueue displacement', () => {
  it('displaces the newest task of the lowest strictly lower priority', () => {
    const { queue } = setup({ maxQueue: 4 });
    admit(queue, 3);
    const oldLow = admit(queue, 1).id;
    const newLow = admit(queue, 1).id;
    admit(queue, 3);
    const high = admit(queue, 5);
    assert.equal(displacedBy(high)?.id, newLow);
    assert.equal(queue.has(newLow), false);
    assert.equal(queue.size, 4);
    assert.equal(displacedBy(admit(queue, 2))?.id, oldLow);
    assert.deepEqual(queue.sizeByPriority(), [0, 0, 1, 2, 0, 1, 0, 0, 0, 0]);
  });

  it('never displaces equal or higher priority', () => {
    const { queue } = setup({ maxQueue: 2, slots: 1, times: { a: 10 } });
    admit(queue, 5);
    admit(queue, 7);
    assert.deepEqual(rejected(admit(queue, 5)), { reason: 'full', retryAfterMs: 20 });
    assert.equal(rejected(admit(queue, 4)).reason, 'full');
    assert.equal(queue.size, 2);
  });

  it('under the latency bound, displaces only if the freed work makes room', () => {
    const { queue } = setup({ maxLatencyMs: 100, slots: 1, times: { small: 10, big: 40 } });
    const low = admit(queue, 1, { name: 'small' }).id;
    admit(queue, 5, { name: 'big' }); // 50 ms queued
    assert.equal(rejected(admit(queue, 9, { name: 'big' })).reason, 'latency', 'freeing 10 ms is not enough: 50 - 10 + 40 + 40 > 100');
    for (let queued = 50; queued <= 80; queued += 10) {
      assert.equal(displacedBy(admit(queue, 9, { name: 'small' })), undefined, `${queued} + 10 + 10 fits outright`);
    }
    assert.equal(displacedBy(admit(queue, 9, { name: 'small' }))?.id, low, '90 - 10 + 10 + 10 fits, 90 + 10 + 10 would not');
    assert.equal(rejected(admit(queue, 5, { name: 'small' })).reason, 'latency', 'nothing strictly lower is left');
    assert.equal(queue.size, 6);
  });

});

describe('AdmissionQueue.requeueFront', () => {
  const requeued = (id: string, priority: Priority, deadline?: number): QueuedTask<string> =>
    ({ id, name: 'a', priority, deadline, payload: id, enqueuedAt: 0 });

  it('puts the task before every other of its priority', () => {
    const { queue } = setup();
    const a = admit(queue, 5).id;
    admit(queue, 9);
    const x = queue.shift(0)!;
    assert.equal(queue.requeueFront(x, 1), undefined);
    assert.equal(queue.requeueFront(requeued('r', 5), 1), undefined);
    assert.deepEqual(drain(queue, 1), [x.id, 'r', a]);
  });

  it('past the cap, displaces the newest of the lowest strictly lower priority', () => {
    const { queue } = setup({ maxQueue: 2 });
    const low = admit(queue, 1).id;
    admit(queue, 5);
    assert.equal(queue.requeueFront(requeued('r', 5), 0)?.id, low);
    assert.equal(queue.size, 2);
  });

  it('with nothing lower to displace, exceeds the cap by the re-queued tasks until they leave', () => {
    const { queue } = setup({ maxQueue: 2 });
    admit(queue, 5);
    admit(queue, 5);
    assert.equal(queue.requeueFront(requeued('r1', 5), 0), undefined);
    assert.equal(queue.requeueFront(requeued('r2', 3), 0), undefined);
    assert.equal(queue.size, 4);
    assert.equal(rejected(admit(queue, 9)).reason, 'full', 'displacing one cannot bring it under the cap');
    queue.shift(0);
    assert.equal(rejected(admit(queue, 9)).reason, 'full', 'still one over the cap');
    queue.shift(0);
    assert.equal(displacedBy(admit(queue, 9))?.id, 'r2', 'back at the cap: displacement makes room');
    assert.equal(queue.size, 2);
  });

  it('sends a task already past its deadline to expire()', () => {
    const { queue } = setup();
    assert.equal(queue.requeueFront(requeued('r', 5, 10), 10), undefined);
    assert.equal(queue.size, 0);
    assert.ok(queue.has('r'));
    assert.deepEqual(queue.expire(10).map((t) => t.id), ['r']);
  });
});

describe('AdmissionQueue.retryAfterMs', () => {
  it('uses the defaults while nothing is measured or no worker is connected', () => {
    assert.equal(setup({ slots: 0, times: { a: 10 } }).queue.retryAfterMs(5), DEFAULT_NO_WORKERS_RETRY_MS);
    assert.equal(setup({ slots: 2 }).queue.retryAfterMs(5), DEFAULT_UNMEASURED_RETRY_MS);
  });

  it('estimates when the work queued at or above the priority has started, at least 1 ms', () => {
    const { queue } = setup({ slots: 3, times: { a: 10 } });
    assert.equal(queue.retryAfterMs(0), 1);
    for (let i = 0; i < 4; i++) admit(queue, 5);
    admit(queue, 2);
    assert.equal(queue.retryAfterMs(5), 14); // ceil(40 / 3)
    assert.equal(queue.retryAfterMs(0), 17); // ceil(50 / 3)
    assert.equal(queue.retryAfterMs(6), 1);
  });
});

// The manager's task state machine with injected time and recording links: every path that ends
// a task answers it exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../core/logger.js';
import type { Priority } from '../core/priority.js';
import type { ManagerToClient, ManagerToWorker, Submit } from '../protocol/messages.js';
import { Dispatcher } from './dispatcher.js';
import { WorkerLink, type ClientLink } from './links.js';
import { IdTable } from '../core/id-table.js';

let clock = 0;
let nextConnection = 1;

function makeDispatcher(options: { maxQueue?: number; maxLatencyMs?: number; maxAttempts?: number } = {}): Dispatcher {
  return new Dispatcher({ maxQueue: options.maxQueue ?? 100, maxLatencyMs: options.maxLatencyMs, maxAttempts: options.maxAttempts ?? 3, measureTimes: true, logger: silentLogger, now: () => clock });
}

function client(): ClientLink & { inbox: ManagerToClient[] } {
  const inbox: ManagerToClient[] = [];
  return { kind: 'client', connectionId: nextConnection++, remoteAddress: 'test', tasks: new IdTable(), inbox, send: (m) => void inbox.push(m) };
}

function worker(capacity: number, tasks = ['t'], prefetch = 0): WorkerLink & { inbox: ManagerToWorker[] } {
  const inbox: ManagerToWorker[] = [];
  const link = new WorkerLink(nextConnection++, `node-${nextConnection}`, 'test', capacity, new Set(tasks), (m) => void inbox.push(m), prefetch) as WorkerLink & { inbox: ManagerToWorker[] };
  link.inbox = inbox;
  return link;
}

const submit = (id: string, extra: Partial<Submit> = {}): Submit => ({ type: 'submit', id, name: 't', args: id, priority: 5 as Priority, ...extra });
const dispatches = (w: { inbox: ManagerToWorker[] }) => w.inbox.filter((m) => m.type === 'dispatch');
const answersFor = (c: { inbox: ManagerToClient[] }, id: string) => c.inbox.filter((m) => m.type !== 'started' && m.type !== 'ping' && m.type !== 'status' && m.type !== 'alert' && m.id === id);

describe('Dispatcher', () => {
  it('dispatches to free slots and answers the completion once', () => {
    const d = makeDispatcher();
    const w = worker(1);
    d.addWorker(w);
    const c = client();
    d.submit(c, submit('a'));
    d.submit(c, submit('b'));
    assert.equal(dispatches(w).length, 1, 'never more than the free slots');
    const first = dispatches(w)[0]!;
    clock += 10;
    d.outcome(w, { type: 'outcome', token: first.token, status: 'completed', result: 'A' });
    assert.deepEqual(answersFor(c, 'a'), [{ type: 'completed', id: 'a', result: 'A' }]);
    assert.equal(dispatches(w).length, 2, 'the freed slot takes the next task');
    d.outcome(w, { type: 'outcome', token: first.token, status: 'completed', result: 'again' });
    assert.equal(answersFor(c, 'a').length, 1, 'a repeated outcome is ignored');
    assert.equal(d.stats.staleOutcomes, 1);
  });

  it('fills every free slot before using prefetch room, and never a draining node\'s', () => {
    const d = makeDispatcher();
    const holder = worker(1, ['t'], 2);
    const plain = worker(1);
    d.addWorker(holder);
    d.addWorker(plain);
    const c = client();
    for (const id of ['a', 'b', 'c', 'd', 'e']) d.submit(c, submit(id));
    assert.equal(dispatches(plain).length, 1);
    assert.equal(dispatches(holder).length, 3, 'its slot, then its two held');
    assert.equal(d.queue.size, 1);
    assert.equal(holder.busy, 1);
    assert.equal(d.busy, 2, 'busy counts slots, not held tasks');
    d.setCapacity(holder, 0);
    d.outcome(plain, { type: 'outcome', token: dispatches(plain)[0]!.token, status: 'completed', result: null });
    assert.equal(dispatches(plain).length, 2, 'the queued one goes to the node with a slot');
    assert.equal(dispatches(holder).length, 3, 'nothing more to a draining node');
  });

  it('tells a held task\'s submitters it started only when its node had a slot for it', () => {
    const d = makeDispatcher();
    const w = worker(1, ['t'], 1);
    d.addWorker(w);
    const c = client();
    d.submit(c, submit('a', { notifyStart: true }));
    d.submit(c, submit('b', { notifyStart: true }));
    const started = (id: string) => c.inbox.filter((m) => m.type === 'started' && m.id === id).length;
    assert.equal(dispatches(w).length, 2);
    assert.equal(started('a'), 1);
    assert.equal(started('b'), 0, 'held, not running');
    clock += 10;
    d.outcome(w, { type: 'outcome', token: dispatches(w)[0]!.token, status: 'completed', result: null });
    assert.equal(started('b'), 1, 'the freed slot went to it');
    d.submit(c, submit('x', { notifyStart: true }));
    assert.equal(started('x'), 0, 'held behind b');
    d.outcome(w, { type: 'outcome', token: dispatches(w)[2]!.token, status: 'aborted', reason: 'cancelled' });
    assert.deepEqual(answersFor(c, 'x'), [{ type: 'cancelled', id: 'x' }]);
    assert.equal(started('x'), 0, 'it never got a slot');
    assert.equal(w.busy, 1, 'b still runs');
    assert.equal(w.held.length, 0);
  });

  it('estimates service time from the node\'s run time when it reports one', () => {
    const d = makeDispatcher({ maxLatencyMs: 1_000 });
    const w = worker(1, ['t'], 1);
    d.addWorker(w);
    const c = client();
    d.submit(c, submit('a'));
    d.submit(c, submit('b'));
    const [a, b] = dispatches(w);
    clock += 10;
    d.outcome(w, { type: 'outcome', token: a!.token, status: 'completed', result: null, runMs: 10 });
    clock += 10;
    // b was held 10 ms, then ran 10: the manager saw 20 ms, the node reports 10.
    d.outcome(w, { type: 'outcome', token: b!.token, status: 'completed', result: null, runMs: 10 });
    assert.equal(d.serviceTimes.mean('t'), 10);
    assert.equal(w.recentServiceMs, 10);
  });

  it('attaches a duplicate submission of a queued or running id instead of running it twice', () => {
    const d = makeDispatcher();
    const w = worker(1);
    d.addWorker(w);
    const c1 = client();
    const c2 = client();
    d.submit(c1, submit('same'));
    d.submit(c2, submit('same'));
    d.submit(c1, submit('same'));
    assert.equal(dispatches(w).length, 1);
    d.outcome(w, { type: 'outcome', token: dispatches(w)[0]!.token, status: 'completed', result: 1 });
    assert.equal(answersFor(c1, 'same').length, 1);
    assert.equal(answersFor(c2, 'same').length, 1);
  });

  it('re-queues the tasks of a lost worker at the front with attempt+1, ignoring its late results', () => {
    const d = makeDispatcher();
    const lost = worker(2);
    d.addWorker(lost);
    const c = client();
    for (const id of ['a', 'b', 'c']) d.submit(c, submit(id));
    const [da, db] = dispatches(lost);
    d.workerGone(lost);
    const survivor = worker(3);
    d.addWorker(survivor);
    const again = dispatches(survivor);
    assert.deepEqual(again.map((m) => [m.id, m.attempt]), [['a', 2], ['b', 2], ['c', 1]], 'lost tasks first, oldest first');
    d.outcome(lost, { type: 'outcome', token: da!.token, status: 'completed', result: 'late' });
    d.outcome(survivor, { type: 'outcome', token: again[0]!.token, status: 'completed', result: 'fresh' });
    assert.deepEqual(answersFor(c, 'a'), [{ type: 'completed', id: 'a', result: 'fresh' }]);
    assert.ok(db !== undefined);
  });

  it('answers worker_lost after maxAttempts lost attempts; a crash counts as one', () => {
    const d = makeDispatcher({ maxAttempts: 2 });
    const c = client();
    const w1 = worker(1);
    d.addWorker(w1);
    d.submit(c, submit('poison'));
    d.outcome(w1, { type: 'outcome', token: dispatches(w1)[0]!.token, status: 'crashed', error: { name: 'Error', message: 'exit' } });
    const second = dispatches(w1)[1]!;
    assert.equal(second.attempt, 2);
    d.workerGone(w1);
    assert.deepEqual(answersFor(c, 'poison'), [{ type: 'worker_lost', id: 'poison', attempts: 2 }]);
  });

  it('retries a task that crashed a node on another node with a free slot, else on the same one', () => {
    const d = makeDispatcher();
    const c = client();
    const w1 = worker(1);
    const w2 = worker(1);
    d.addWorker(w1);
    d.addWorker(w2);
    d.submit(c, submit('poison'));
    assert.equal(dispatches(w1).length, 1, 'ties go to the first node');
    d.outcome(w1, { type: 'outcome', token: dispatches(w1)[0]!.token, status: 'crashed', error: { name: 'Error', message: 'exit' } });
    assert.equal(dispatches(w1).length, 1, 'not back to the node it crashed');
    assert.equal(dispatches(w2)[0]!.attempt, 2);
    // w2 crashes too while w1 is full: the only free slot is w2's own, and it takes the retry.
    d.submit(c, submit('filler'));
    d.outcome(w2, { type: 'outcome', token: dispatches(w2)[0]!.token, status: 'crashed', error: { name: 'Error', message: 'exit' } });
    assert.equal(dispatches(w2)[1]!.attempt, 3);
  });

  it('hands back returned tasks without using an attempt', () => {
    const d = makeDispatcher({ maxAttempts: 1 });
    const c = client();
    const w = worker(1);
    d.addWorker(w);
    d.submit(c, submit('x'));
    d.outcome(w, { type: 'outcome', token: dispatches(w)[0]!.token, status: 'returned' });
    assert.equal(dispatches(w)[1]!.attempt, 1);
  });

  it('removes the queued tasks of a departed client and aborts its running ones', () => {
    const d = makeDispatcher();
    const w = worker(1);
    d.addWorker(w);
    const c = client();
    d.submit(c, submit('running'));
    d.submit(c, submit('queued'));
    d.clientGone(c);
    assert.equal(d.queue.size, 0);
    const abort = w.inbox.find((m) => m.type === 'abort');
    assert.deepEqual(abort, { type: 'abort', token: dispatches(w)[0]!.token, reason: 'cancelled' });
    d.outcome(w, { type: 'outcome', token: dispatches(w)[0]!.token, status: 'aborted', reason: 'cancelled' });
    assert.equal(d.liveTasks, 0);
    assert.equal(dispatches(w).length, 1, 'the removed task never ran');
  });

  it('cancels a queued task at once and a running one through its worker', () => {
    const d = makeDispatcher();
    const w = worker(1);
    d.addWorker(w);
    const c = client();
    d.submit(c, submit('run'));
    d.submit(c, submit('wait'));
    d.cancel(c, { type: 'cancel', id: 'wait' });
    assert.deepEqual(answersFor(c, 'wait'), [{ type: 'cancelled', id: 'wait' }]);
    d.cancel(c, { type: 'cancel', id: 'run' });
    d.outcome(w, { type: 'outcome', token: dispatches(w)[0]!.token, status: 'aborted', reason: 'cancelled' });
    assert.deepEqual(answersFor(c, 'run'), [{ type: 'cancelled', id: 'run' }]);
  });

  it('answers busy with a positive hint when the queue is full, and expired for a spent deadline', () => {
    const d = makeDispatcher({ maxQueue: 1 });
    const c = client();
    d.submit(c, submit('q'));
    d.submit(c, submit('over'));
    const busy = answersFor(c, 'over')[0];
    assert.equal(busy?.type, 'busy');
    assert.ok(busy?.type === 'busy' && busy.retryAfterMs > 0 && busy.reason === 'full');
    d.submit(c, submit('late', { deadlineMs: 0 }));
    assert.deepEqual(answersFor(c, 'late'), [{ type: 'expired', id: 'late' }]);
  });

  it('displaces the newest lower-priority task for a higher one when full', () => {
    const d = makeDispatcher({ maxQueue: 2 });
    const c = client();
    d.submit(c, submit('low-1', { priority: 2 }));
    d.submit(c, submit('low-2', { priority: 2 }));
    d.submit(c, submit('high', { priority: 8 }));
    assert.equal(answersFor(c, 'low-2')[0]?.type, 'busy');
    assert.equal(answersFor(c, 'low-1').length, 0);
    assert.equal(answersFor(c, 'high').length, 0);
  });

  it('fails a task no connected worker registers', () => {
    const d = makeDispatcher();
    d.addWorker(worker(1, ['other']));
    const c = client();
    d.submit(c, submit('x'));
    const answer = answersFor(c, 'x')[0];
    assert.ok(answer?.type === 'failed' && answer.error.name === 'UnknownTaskError');
  });
});

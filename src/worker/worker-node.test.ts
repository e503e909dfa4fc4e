import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { startWorker } from './start-worker.js';
import type { WorkerNode } from './worker-node.js';
import type { WorkerOptions } from './options.js';
import { TASKS, startChannel } from './pool/pool.test-helpers.js';
import { ScriptedManager, isCapacity, isRegister, outcomeFor } from './scripted-manager.test-helpers.js';

let nextToken = 1;
const dispatch = (name: string, args: unknown = null, extra: { deadlineMs?: number; attempt?: number } = {}) => {
  const token = nextToken++;
  return { type: 'dispatch' as const, token, id: `t${token}`, name, args, attempt: extra.attempt ?? 1, ...(extra.deadlineMs === undefined ? {} : { deadlineMs: extra.deadlineMs }) };
};

/** Waits (at most 2 s) until the node holds `count` dispatches: they cross a socket first. */
async function untilHeld(node: WorkerNode, count: number): Promise<void> {
  for (const until = Date.now() + 2_000; node.held !== count; await new Promise((resolve) => setTimeout(resolve, 5))) {
    if (Date.now() > until) throw new Error(`expected ${count} held, have ${node.held}`);
  }
}

describe('worker node against a scripted manager', () => {
  const managers: ScriptedManager[] = [];
  const nodes: WorkerNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    await Promise.all(managers.splice(0).map((m) => m.close()));
  });

  async function setup(options: Partial<WorkerOptions> = {}): Promise<{ manager: ScriptedManager; node: WorkerNode }> {
    const manager = await new ScriptedManager().start();
    managers.push(manager);
    const node = await startWorker({
      manager: `127.0.0.1:${manager.port}`, tasks: TASKS, capacity: 2, threads: 1, abortGraceMs: 300,
      reconnect: { baseMs: 10, maxMs: 50 }, ...options,
    });
    nodes.push(node);
    return { manager, node };
  }

  it('registers its node id, free slots and task names', async () => {
    const { manager, node } = await setup({ nodeId: 'node-1', name: 'test-node' });
    const register = await manager.next(isRegister);
    assert.equal(register.nodeId, 'node-1');
    assert.equal(register.capacity, 2);
    assert.equal(register.prefetch, 1, 'holds one task beyond its slots by default');
    assert.ok(register.tasks.includes('echo') && register.tasks.includes('spin'));
    assert.equal(node.nodeId, 'node-1');
    assert.equal(node.connected, true);
    assert.equal(manager.latest.peerName, 'test-node');
  });

  it('runs a dispatch and answers its outcome with the token', async () => {
    const { manager } = await setup();
    await manager.next(isRegister);
    const ok = dispatch('echo', { hello: 'world' });
    const bad = dispatch('fail', { message: 'bad' });
    const unknown = dispatch('constructor');
    manager.send(ok);
    manager.send(bad);
    manager.send(unknown);
    const completed = await manager.next(outcomeFor(ok.token));
    assert.ok(completed.status === 'completed' && typeof completed.runMs === 'number' && completed.runMs >= 0, 'carries its run time');
    assert.deepEqual({ ...completed, runMs: 0 }, { type: 'outcome', token: ok.token, status: 'completed', result: { hello: 'world' }, runMs: 0 });
    const failed = await manager.next(outcomeFor(bad.token));
    assert.equal(failed.status, 'failed');
    assert.equal(failed.status === 'failed' && failed.error.message, 'bad');
    const unknownOutcome = await manager.next(outcomeFor(unknown.token));
    assert.equal(unknownOutcome.status === 'failed' && unknownOutcome.error.name, 'UnknownTaskError');
  });

  it('without prefetch, answers returned to a dispatch beyond its free slots, and aborts on request', async () => {
    const { manager, node } = await setup({ capacity: 1, prefetch: 0 });
    await manager.next(isRegister);
    const start = startChannel();
    const busy = dispatch('startedThen', { channel: start.name, then: 'honourAbort' });
    manager.send(busy);
    await start.started;
    assert.equal(node.running, 1);
    const extra = dispatch('echo', 1);
    manager.send(extra);
    assert.deepEqual(await manager.next(outcomeFor(extra.token)), { type: 'outcome', token: extra.token, status: 'returned' });
    manager.send({ type: 'abort', token: busy.token, reason: 'cancelled' });
    assert.deepEqual(await manager.next(outcomeFor(busy.token)), { type: 'outcome', token: busy.token, status: 'aborted', reason: 'cancelled' });
  });

  it('holds a dispatch beyond its slots and starts it the moment a slot frees, with no word from the manager', async () => {
    const { manager, node } = await setup({ capacity: 1, prefetch: 1 });
    await manager.next(isRegister);
    const first = dispatch('startedThen', { then: 'sleep', ms: 150 });
    const heldStart = startChannel();
    const held = dispatch('startedThen', { channel: heldStart.name, then: 'sleep', ms: 1 });
    const beyond = dispatch('echo', 'no room');
    manager.send(first);
    manager.send(held);
    manager.send(beyond);
    assert.equal((await manager.next(outcomeFor(beyond.token))).status, 'returned', 'past capacity + prefetch');
    await untilHeld(node, 1);
    assert.equal(node.running, 1);
    // The manager sends nothing more: the held task starts on the freed slot by itself.
    assert.equal((await manager.next(outcomeFor(first.token))).status, 'completed');
    await heldStart.started;
    const outcome = await manager.next(outcomeFor(held.token));
    assert.equal(outcome.status, 'completed');
    assert.ok(outcome.status === 'completed' && outcome.runMs! < 100, `its run time leaves out the ≈ 150 ms it was held: ${outcome.status === 'completed' && outcome.runMs}`);
    assert.equal(node.held, 0);
  });

  it('answers a held task cancelled or past its deadline without running it', async () => {
    const { manager } = await setup({ capacity: 1, prefetch: 2 });
    await manager.next(isRegister);
    const start = startChannel();
    const blocker = dispatch('startedThen', { channel: start.name, then: 'honourAbort' });
    const cancelled = dispatch('echo', 'cancelled while held');
    const late = dispatch('echo', 'expires while held', { deadlineMs: 30 });
    manager.send(blocker);
    manager.send(cancelled);
    manager.send(late);
    await start.started;
    manager.send({ type: 'abort', token: cancelled.token, reason: 'cancelled' });
    assert.deepEqual(await manager.next(outcomeFor(cancelled.token)), { type: 'outcome', token: cancelled.token, status: 'aborted', reason: 'cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    manager.send({ type: 'abort', token: blocker.token, reason: 'cancelled' });
    assert.equal((await manager.next(outcomeFor(blocker.token))).status, 'aborted');
    assert.deepEqual(await manager.next(outcomeFor(late.token)), { type: 'outcome', token: late.token, status: 'aborted', reason: 'expired' });
  });

  it('drain hands held tasks back at once; a lost link drops them for the manager to re-queue', async () => {
    const { manager, node } = await setup({ capacity: 1, prefetch: 1, abortGraceMs: 100 });
    await manager.next(isRegister);
    const running = dispatch('startedThen', { then: 'sleep', ms: 200 });
    const held = dispatch('echo', 'held');
    manager.send(running);
    manager.send(held);
    await untilHeld(node, 1);
    const drained = node.drain({ timeoutMs: 1_000 });
    assert.deepEqual(await manager.next(outcomeFor(held.token)), { type: 'outcome', token: held.token, status: 'returned' });
    assert.equal(node.held, 0);
    assert.equal((await manager.next(outcomeFor(running.token))).status, 'completed', 'the running one still finishes');
    await drained;

    const second = await setup({ capacity: 1, prefetch: 1, abortGraceMs: 100 });
    await second.manager.next(isRegister);
    const first = second.manager.latest;
    const heldStart = startChannel();
    second.manager.send(dispatch('startedThen', { then: 'sleep', ms: 150 }));
    second.manager.send(dispatch('startedThen', { channel: heldStart.name, then: 'sleep', ms: 1 }));
    await untilHeld(second.node, 1);
    first.destroy();
    await second.manager.next(isRegister);
    assert.equal(second.node.held, 0);
    const ranAnyway = await Promise.race([heldStart.started.then(() => true), new Promise((resolve) => setTimeout(resolve, 300, false))]);
    assert.equal(ranAnyway, false, 'a held task of a lost link never runs');
  });

  it('fires the handler signal at the dispatch deadline', async () => {
    const { manager } = await setup();
    await manager.next(isRegister);
    const d = dispatch('honourAbort', null, { deadlineMs: 100 });
    manager.send(d);
    assert.deepEqual(await manager.next(outcomeFor(d.token)), { type: 'outcome', token: d.token, status: 'aborted', reason: 'expired' });
  });

  it('after the link drops: aborts its tasks, reconnects, registers without the leftover slot, then restores it', async () => {
    const { manager, node } = await setup({ abortGraceMs: 400 });
    await manager.next(isRegister);
    const first = manager.latest;
    const start = startChannel();
    // Ignores its abort: it is still running when the node registers again.
    manager.send(dispatch('startedThen', { channel: start.name, then: 'sleep', ms: 10_000 }));
    await start.started;
    const disconnected = new Promise((resolve) => node.once('disconnected', resolve));
    first.destroy();
    await disconnected;
    const again = await manager.next(isRegister);
    assert.notEqual(manager.latest, first);
    assert.equal(again.capacity, 1, 'the slot still held by the lost task is not offered');
    assert.equal(node.connected, true);
    // After the grace its thread is terminated; the slot comes back.
    assert.deepEqual(await manager.next(isCapacity), { type: 'capacity', capacity: 2 });
    assert.equal(node.running, 0);
    const d = dispatch('echo', 'after reconnect');
    manager.send(d);
    assert.equal((await manager.next(outcomeFor(d.token))).status, 'completed');
  });

  it('drain: offers no slots, finishes what it can, hands back the rest, closes the link', async () => {
    const { manager, node } = await setup({ abortGraceMs: 200 });
    await manager.next(isRegister);
    const link = manager.latest;
    const quickStart = startChannel();
    const slowStart = startChannel();
    const quick = dispatch('startedThen', { channel: quickStart.name, then: 'sleep', ms: 100 });
    const slow = dispatch('startedThen', { channel: slowStart.name, then: 'honourAbort' });
    manager.send(quick);
    manager.send(slow);
    await Promise.all([quickStart.started, slowStart.started]);
    const drained = node.drain({ timeoutMs: 400 });
    assert.deepEqual(await manager.next(isCapacity), { type: 'capacity', capacity: 0 });
    const late = dispatch('echo', 'too late');
    manager.send(late);
    assert.equal((await manager.next(outcomeFor(late.token))).status, 'returned');
    assert.equal((await manager.next(outcomeFor(quick.token))).status, 'completed');
    assert.deepEqual(await manager.next(outcomeFor(slow.token)), { type: 'outcome', token: slow.token, status: 'returned' });
    await drained;
    await manager.closed(link);
    assert.equal(node.connected, false);
    assert.equal(node.drain(), node.drain(), 'drain is memoized');
    // No reconnect after a drain.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(manager.connections.length, 1);
  });

  it('close(): hands running tasks back, closes the link, is idempotent', async () => {
    const { manager, node } = await setup();
    await manager.next(isRegister);
    const start = startChannel();
    const running = dispatch('startedThen', { channel: start.name, then: 'spin' });
    manager.send(running);
    await start.started;
    const closing = node.close();
    assert.equal(node.close(), closing);
    await closing;
    assert.deepEqual(await manager.next(outcomeFor(running.token)), { type: 'outcome', token: running.token, status: 'returned' });
    await manager.closed(manager.latest);
    await node[Symbol.asyncDispose]();
  });

  it('starts while the manager is down and connects once it is up', async () => {
    const probe = await new ScriptedManager().start();
    const port = probe.port;
    await probe.close();
    const node = await startWorker({ manager: { host: '127.0.0.1', port }, tasks: TASKS, capacity: 1, reconnect: { baseMs: 20, maxMs: 100 } });
    nodes.push(node);
    assert.equal(node.connected, false);
    const connected = new Promise((resolve) => node.once('connected', resolve));
    const manager = await new ScriptedManager().start(port);
    managers.push(manager);
    await manager.next(isRegister);
    await connected;
    assert.equal(node.connected, true);
  });
});

describe('reconnecting after a manager restart (found by the chaos manager scenario)', () => {
  const nodes: WorkerNode[] = [];
  const managers: ScriptedManager[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all(managers.map((m) => m.close()));
  });

  it('is back within about a second of the manager, however long the manager was away', async () => {
    const probe = await new ScriptedManager().start();
    const port = probe.port;
    await probe.close();
    // Default backoff: by now the failures have pushed the delay to its ceiling.
    const node = await startWorker({ manager: { host: '127.0.0.1', port }, tasks: TASKS, capacity: 1 });
    nodes.push(node);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const connected = new Promise((resolve) => node.once('connected', resolve));
    const back = performance.now();
    const manager = await new ScriptedManager().start(port);
    managers.push(manager);
    await connected;
    // The ceiling is 1 s; the old 5 s ceiling left nodes away for up to 5 s after the manager returned.
    const awayMs = performance.now() - back;
    assert.ok(awayMs < 2_500, `reconnected ${awayMs.toFixed(0)} ms after the manager came back`);
  });
});

describe('startWorker options', () => {
  after(() => {});
  it('rejects invalid options with InvalidArgumentError naming the option', async () => {
    const cases: [Partial<WorkerOptions>, RegExp][] = [
      [{ capacity: 0 }, /`capacity`/],
      [{ prefetch: -1 }, /`prefetch`/],
      [{ prefetch: 1.5 }, /`prefetch`/],
      [{ manager: 42 as unknown as string }, /`manager`/],
      [{ manager: { host: '', port: 1 } }, /`manager.host`/],
      [{ manager: { host: 'x', port: 70_000 } }, /`manager.port`/],
      [{ tasks: '' }, /`tasks`/],
      [{ drainTimeoutMs: -1 }, /`drainTimeoutMs`/],
      [{ isolation: 'vm' as 'thread' }, /`isolation`/],
      [{ nodeId: '' }, /`nodeId`/],
      [{ reconnect: { baseMs: 0 } }, /`reconnect.baseMs`/],
      [{ reconnect: { baseMs: 100, maxMs: 10 } }, /`reconnect.maxMs`/],
    ];
    for (const [overrides, message] of cases) {
      await assert.rejects(startWorker({ manager: '127.0.0.1:1', tasks: TASKS, ...overrides }), (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, `${JSON.stringify(overrides)}: ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it('rejects with the signal reason when aborted before start', async () => {
    const reason = new Error('no');
    await assert.rejects(startWorker({ manager: '127.0.0.1:1', tasks: TASKS, signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });
});

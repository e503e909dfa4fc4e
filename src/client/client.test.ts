import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { connect, type Client } from './index.js';
import { BusyError, CancelledError, ClientClosedError, ExpiredError, TaskFailedError, WorkerLostError } from './errors.js';
import { InvalidArgumentError } from '../core/errors.js';
import { ScriptedManager, busyThen, echo, silent, type Reply } from './scripted-manager.test-helpers.js';
import type { Submit } from '../protocol/messages.js';

describe('client against a scripted manager', () => {
  let manager: ScriptedManager;
  const clients: Client[] = [];

  before(async () => {
    manager = await ScriptedManager.start();
  });
  beforeEach(() => {
    manager.script = echo;
    manager.received.length = 0;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await manager.close();
  });

  async function client(options: Partial<Parameters<typeof connect>[0]> = {}): Promise<Client> {
    const c = await connect({ manager: manager.address, ...options });
    clients.push(c);
    return c;
  }

  it('run resolves with the result, sending priority and no deadline by default', async () => {
    const c = await client();
    assert.deepEqual(await c.run('echo', { a: [1, 2, 'x'] }), { a: [1, 2, 'x'] });
    const [submit] = manager.submits();
    assert.equal(submit?.name, 'echo');
    assert.equal(submit?.priority, 5);
    assert.equal(submit?.deadlineMs, undefined);
    assert.equal(submit?.maxAttempts, undefined);
    assert.equal(c.inFlight, 0);
  });

  it('sends priority names, maxAttempts, the given id and the remaining deadline', async () => {
    const c = await client();
    await c.run('echo', 1, { priority: 'high', maxAttempts: 3, id: 'mine-1', timeoutMs: 5_000 });
    const [submit] = manager.submits();
    assert.equal(submit?.id, 'mine-1');
    assert.equal(submit?.priority, 8);
    assert.equal(submit?.maxAttempts, 3);
    assert.ok(submit?.deadlineMs !== undefined && submit.deadlineMs > 4_000 && submit.deadlineMs <= 5_000, `deadlineMs ${submit?.deadlineMs}`);
  });

  it('submit resolves a handle whose id is the task id and whose result settles', async () => {
    const c = await client();
    const handle = await c.submit('echo', 'hi');
    assert.equal(typeof handle.id, 'string');
    assert.equal(await handle.result, 'hi');
    assert.equal(manager.submits()[0]?.id, handle.id);
  });

  it('notifyStart: the handle shows the started notice', async () => {
    let complete!: () => void;
    manager.script = (s, reply) => {
      reply({ type: 'started', id: s.id, attempt: 1 });
      complete = () => reply({ type: 'completed', id: s.id, result: 'done' });
    };
    const c = await client();
    const handle = await c.submit('echo', null, { notifyStart: true });
    assert.equal(handle.started, false);
    await manager.waitFor(() => manager.submits().length === 1, 2_000, 'submit');
    assert.equal(manager.submits()[0]?.notifyStart, true);
    for (let i = 0; i < 100 && !handle.started; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(handle.started, true);
    assert.equal(handle.attempt, 1);
    complete();
    assert.equal(await handle.result, 'done');
  });

  it('maps every final answer to its typed error', async () => {
    manager.script = (s: Submit, reply: Reply) => {
      const id = s.id;
      if (s.name === 'fail') reply({ type: 'failed', id, error: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x' } });
      else if (s.name === 'expire') reply({ type: 'expired', id });
      else if (s.name === 'cancel') reply({ type: 'cancelled', id });
      else if (s.name === 'lost') reply({ type: 'worker_lost', id, attempts: 3 });
    };
    const c = await client();
    await assert.rejects(c.run('fail', null, { id: 'f' }), (e: unknown) => {
      assert.ok(e instanceof TaskFailedError);
      assert.equal(e.code, 'task_failed');
      assert.equal(e.taskId, 'f');
      assert.equal(e.remoteName, 'TypeError');
      assert.equal(e.remoteMessage, 'bad');
      assert.equal(e.remoteStack, 'TypeError: bad\n    at x');
      return true;
    });
    await assert.rejects(c.run('expire', null), (e: unknown) => e instanceof ExpiredError && e.code === 'expired');
    await assert.rejects(c.run('cancel', null), (e: unknown) => e instanceof CancelledError && e.code === 'cancelled');
    await assert.rejects(c.run('lost', null), (e: unknown) => e instanceof WorkerLostError && e.attempts === 3 && e.code === 'worker_lost');
    assert.equal(c.inFlight, 0);
  });

  it('busy ×3 then completed: retries the same id, never sooner than the hints', async () => {
    manager.script = busyThen(3, 40);
    const c = await client({ retry: { baseMs: 1, maxMs: 2 } });
    const retries: number[] = [];
    c.on('retry', (event) => retries.push(event.retryAfterMs));
    const started = performance.now();
    assert.equal(await c.run('echo', 7, { id: 'b3' }), 7);
    const submits = manager.received.filter((r) => r.message.type === 'submit');
    assert.equal(submits.length, 4);
    assert.ok(submits.every((r) => r.message.id === 'b3'));
    assert.deepEqual(retries, [40, 40, 40]);
    for (let i = 1; i < submits.length; i++) {
      const gap = submits[i]!.at - submits[i - 1]!.at;
      assert.ok(gap >= 40 - 1, `resubmission ${i} came ${gap.toFixed(1)} ms after the busy answer (hint 40)`);
    }
    assert.ok(performance.now() - started >= 120, 'total time at least the sum of the hints');
  });

  it('busy forever: BusyError after maxRetries, carrying the last hint and reason', async () => {
    manager.script = busyThen(Infinity, 5, 'latency');
    const c = await client();
    await assert.rejects(c.run('echo', 1, { id: 'bf', retry: { maxRetries: 3, baseMs: 1, maxMs: 1 } }), (e: unknown) => {
      assert.ok(e instanceof BusyError);
      assert.equal(e.code, 'busy');
      assert.equal(e.retryAfterMs, 5);
      assert.equal(e.reason, 'latency');
      assert.equal(e.taskId, 'bf');
      assert.equal(e.attempts, 4);
      return true;
    });
    assert.equal(manager.submits().length, 4, 'first try + 3 retries');
    assert.equal(c.inFlight, 0);
  });

  it('retry: false rejects the first busy at once', async () => {
    manager.script = busyThen(Infinity, 1_000);
    const c = await client({ retry: false });
    const started = performance.now();
    await assert.rejects(c.run('echo', 1), (e: unknown) => e instanceof BusyError && e.retryAfterMs === 1_000);
    assert.ok(performance.now() - started < 900, 'did not wait for the hint');
    assert.equal(manager.submits().length, 1);
  });

  it('gives up with BusyError when the next attempt would land after the deadline', async () => {
    manager.script = busyThen(Infinity, 500);
    const c = await client();
    const started = performance.now();
    await assert.rejects(c.run('echo', 1, { timeoutMs: 200 }), (e: unknown) => e instanceof BusyError && e.retryAfterMs === 500);
    assert.ok(performance.now() - started < 150, 'rejected at the busy answer, not at the deadline');
    assert.equal(manager.submits().length, 1);
  });

  it('deadline passes unanswered: ExpiredError and a cancel reaches the manager', async () => {
    manager.script = silent;
    const c = await client();
    const started = performance.now();
    await assert.rejects(c.run('echo', 1, { id: 'late', timeoutMs: 80 }), (e: unknown) => e instanceof ExpiredError && e.taskId === 'late');
    assert.ok(performance.now() - started >= 79, 'not before the deadline');
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'late'), 2_000, 'cancel of "late"');
    assert.equal(c.inFlight, 0);
  });

  it('the client default timeoutMs applies to tasks that give none', async () => {
    manager.script = silent;
    const c = await client({ timeoutMs: 50 });
    await assert.rejects(c.run('echo', 1), ExpiredError);
  });

  it('signal already aborted: rejects with its reason and sends nothing', async () => {
    const c = await client();
    const reason = new Error('changed my mind');
    await assert.rejects(c.run('echo', 1, { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
    await assert.rejects(c.submit('echo', 1, { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
    await c.run('echo', 'marker');
    assert.deepEqual(manager.submits().map((s) => s.args), ['marker']);
  });

  it('signal aborted after sending: cancel sent, rejects with the reason', async () => {
    manager.script = silent;
    const c = await client();
    const controller = new AbortController();
    const running = c.run('echo', 1, { id: 'abort-me', signal: controller.signal });
    await manager.waitFor(() => manager.submits().length === 1, 2_000, 'submit');
    const reason = new Error('user left');
    controller.abort(reason);
    await assert.rejects(running, (e: unknown) => e === reason);
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'abort-me'), 2_000, 'cancel');
    assert.equal(c.inFlight, 0);
  });

  it('handle.cancel(): CancelledError at once and a cancel frame', async () => {
    manager.script = silent;
    const c = await client();
    const handle = await c.submit('echo', 1, { id: 'to-cancel' });
    await manager.waitFor(() => manager.submits().length === 1, 2_000, 'submit');
    await handle.cancel();
    await assert.rejects(handle.result, CancelledError);
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'to-cancel'), 2_000, 'cancel');
    await handle.cancel(); // no-op once settled
  });

  it('maxInFlight: the (N+1)th call waits until one is answered, and an abort while waiting sends nothing', async () => {
    const held: Array<() => void> = [];
    manager.script = (s, reply) => held.push(() => reply({ type: 'completed', id: s.id, result: s.args }));
    const c = await client({ maxInFlight: 2 });
    const first = c.run('echo', 1);
    const second = c.run('echo', 2);
    const third = c.run('echo', 3);
    const controller = new AbortController();
    const fourth = c.run('echo', 4, { signal: controller.signal });
    await manager.waitFor(() => manager.submits().length === 2, 2_000, 'two submits');
    assert.equal(c.inFlight, 2);
    assert.equal(c.waiting, 2);
    const reason = new Error('no longer needed');
    controller.abort(reason);
    await assert.rejects(fourth, (e: unknown) => e === reason);
    assert.equal(c.waiting, 1);
    // Give a wrongly sent third submit the chance to arrive before checking it did not.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(manager.submits().length, 2, 'the third waits for a slot');
    held.shift()!();
    assert.equal(await first, 1);
    await manager.waitFor(() => manager.submits().length === 3, 2_000, 'third submit');
    while (held.length > 0) held.shift()!();
    assert.deepEqual(await Promise.all([second, third]), [2, 3]);
    assert.deepEqual(manager.submits().map((s) => s.args), [1, 2, 3]);
  });

  it('a deadline also runs while waiting for a slot', async () => {
    manager.script = silent;
    const c = await client({ maxInFlight: 1 });
    const blocker = assert.rejects(c.run('echo', 1, { id: 'blocker', timeoutMs: 2_000 }), ClientClosedError);
    await assert.rejects(c.run('echo', 2, { timeoutMs: 50 }), ExpiredError);
    assert.equal(manager.submits().length, 1);
    await c.close();
    await blocker;
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'blocker'), 2_000, 'cancel on close');
  });

  it('refuses a second task with an id already in flight', async () => {
    manager.script = silent;
    const c = await client();
    const first = assert.rejects(c.run('echo', 1, { id: 'dup' }), ClientClosedError);
    await assert.rejects(c.run('echo', 2, { id: 'dup' }), (e: unknown) => e instanceof InvalidArgumentError && /already in flight/.test(e.message));
    await c.close();
    await first;
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'dup'), 2_000, 'cancel on close');
    assert.equal(manager.submits().length, 1);
  });

  it('rejects bad run options with the option named, never throwing synchronously', async () => {
    const c = await client();
    const cases: Array<[unknown, unknown, RegExp]> = [
      ['', {}, /`name`/],
      ['echo', { priority: 12 }, /`priority`.*12 \(number\)/],
      ['echo', { priority: 'urgent' }, /`priority`/],
      ['echo', { timeoutMs: 0 }, /`timeoutMs`.*0 \(number\)/],
      ['echo', { timeoutMs: Number.NaN }, /`timeoutMs`/],
      ['echo', { maxAttempts: 0 }, /`maxAttempts`/],
      ['echo', { maxAttempts: 101 }, /`maxAttempts`/],
      ['echo', { id: '' }, /`id`/],
      ['echo', { id: 'x'.repeat(257) }, /`id`/],
      ['echo', { signal: 'no' }, /`signal`/],
      ['echo', { notifyStart: 1 }, /`notifyStart`/],
      ['echo', { retry: { maxRetries: -1 } }, /`retry.maxRetries`/],
      ['echo', { retry: { baseMs: 10, maxMs: 5 } }, /`retry.maxMs`/],
      ['echo', 'fast', /`options`/],
    ];
    for (const [name, options, pattern] of cases) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = c.run(name as 'echo', null, options as object);
      });
      await assert.rejects(promise!, (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message), `${String(name)} ${JSON.stringify(options)}`);
      await assert.rejects(c.submit(name as 'echo', null, options as object), InvalidArgumentError);
    }
    assert.equal(manager.submits().length, 0);
  });
});

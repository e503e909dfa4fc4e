import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTaskPool } from './task-pool.js';
import type { ExecutionResult, TaskPool } from './types.js';
import { TASKS, request, startFlag, started } from './pool.test-helpers.js';

function assertStatus<S extends ExecutionResult['status']>(result: ExecutionResult, status: S): asserts result is Extract<ExecutionResult, { status: S }> {
  assert.equal(result.status, status, `expected ${status}, got ${JSON.stringify(result)}`);
}

interface AbortReport { firedAt: number; deadline: number | undefined; reason: string; code: string; name: string }

describe('thread pool: capacity 4 on 1 thread', () => {
  let pool: TaskPool;
  before(async () => {
    pool = await createTaskPool({ tasksModule: TASKS, capacity: 4, threads: 1, abortGraceMs: 200, taskTimeoutMs: 10_000 });
  });
  after(() => pool.close());

  it('learns the task names from the module', () => {
    assert.ok(pool.taskNames.includes('echo'));
    assert.ok(pool.taskNames.includes('spin'));
    assert.equal(pool.capacity, 4);
    assert.equal(pool.running, 0);
    assert.equal(pool.hasFreeSlot, true);
  });

  it('completes with the handler result (structured-clone values intact)', async () => {
    const args = { n: 1, list: [1, 'two', null], bytes: new Uint8Array([1, 2, 3]), nested: { deep: true } };
    const result = await pool.run(request('echo', args));
    assertStatus(result, 'completed');
    assert.deepEqual(result.result, args);
  });

  it('passes taskId, attempt and deadline in ctx', async () => {
    const before = Date.now();
    const withDeadline = await pool.run(request('context', null, { id: 'abc', attempt: 3, deadlineMs: 5_000 }));
    assertStatus(withDeadline, 'completed');
    const ctx = withDeadline.result as { taskId: string; attempt: number; deadline: number; aborted: boolean };
    assert.equal(ctx.taskId, 'abc');
    assert.equal(ctx.attempt, 3);
    assert.ok(ctx.deadline >= before + 5_000 && ctx.deadline <= Date.now() + 5_000, `deadline ${ctx.deadline}`);
    assert.equal(ctx.aborted, false);
    const without = await pool.run(request('context'));
    assertStatus(without, 'completed');
    assert.equal((without.result as { deadline?: number }).deadline, undefined);
  });

  it('answers a handler throw as failed with name, message and stack', async () => {
    const result = await pool.run(request('fail', { message: 'no such user' }));
    assertStatus(result, 'failed');
    assert.equal(result.error.name, 'TypeError');
    assert.equal(result.error.message, 'no such user');
    assert.match(result.error.stack ?? '', /tasks\.js/);
    const thrownString = await pool.run(request('throwString'));
    assertStatus(thrownString, 'failed');
    assert.deepEqual(thrownString.error, { name: 'Error', message: 'just a string' });
    const fn = await pool.run(request('returnFunction'));
    assertStatus(fn, 'failed');
    assert.equal(fn.error.name, 'TypeError');
  });

  it('never resolves a task name to a prototype member', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'nope']) {
      const result = await pool.run(request(name));
      assertStatus(result, 'failed');
      assert.equal(result.error.name, 'UnknownTaskError', name);
    }
    assert.equal(pool.running, 0);
  });

  it('runs async handlers concurrently inside one thread', async () => {
    const start = performance.now();
    const results = await Promise.all([1, 2, 3, 4].map(() => pool.run(request('sleep', { ms: 100 }))));
    const elapsed = performance.now() - start;
    const threads = new Set(results.map((r) => (assertStatus(r, 'completed'), (r.result as { threadId: number }).threadId)));
    assert.equal(threads.size, 1, 'all four ran on the one thread');
    assert.ok(elapsed < 300, `four 100 ms sleeps took ${elapsed.toFixed(0)} ms`);
  });

  it('keeps the thread event loop running between tasks', async () => {
    const first = await pool.run(request('ticks'));
    assertStatus(first, 'completed');
    // Idle for a while: a thread blocked between tasks (Atomics.wait) would not tick at all.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await pool.run(request('ticks'));
    assertStatus(second, 'completed');
    assert.ok((second.result as number) - (first.result as number) >= 5, `ticks ${String(first.result)} → ${String(second.result)}`);
  });

  it('refuses a run beyond capacity without starting it', async () => {
    const flags = [startFlag(), startFlag(), startFlag(), startFlag()];
    const requests = flags.map((flag) => request('startedThen', { flag, then: 'honourAbort' }));
    const busy = requests.map((req) => pool.run(req));
    await Promise.all(flags.map((flag) => started(flag)));
    assert.equal(pool.running, 4);
    assert.equal(pool.hasFreeSlot, false);
    const refused = await pool.run(request('echo', 1));
    assertStatus(refused, 'failed');
    assert.equal(refused.error.name, 'CapacityError');
    assert.equal(pool.running, 4);
    for (const req of requests) pool.abort(req.token, 'cancelled');
    for (const result of await Promise.all(busy)) assert.deepEqual(result, { status: 'aborted', reason: 'cancelled' });
    assert.equal(pool.running, 0);
    assert.equal(pool.hasFreeSlot, true);
  });

  it('fires ctx.signal at the deadline with reason expired', async () => {
    const start = performance.now();
    const result = await pool.run(request('reportAbort', null, { deadlineMs: 150 }));
    const elapsed = performance.now() - start;
    assertStatus(result, 'completed');
    const report = result.result as AbortReport;
    assert.equal(report.reason, 'expired');
    assert.equal(report.name, 'TaskAbortedError');
    assert.equal(report.code, 'task_aborted');
    assert.ok(report.firedAt >= report.deadline! - 2 && report.firedAt - report.deadline! < 100, `fired ${report.firedAt - report.deadline!} ms after the deadline`);
    assert.ok(elapsed >= 145, `elapsed ${elapsed.toFixed(0)} ms`);
  });

  it('answers aborted/expired when the handler gives up at its deadline', async () => {
    const result = await pool.run(request('honourAbort', null, { deadlineMs: 50 }));
    assert.deepEqual(result, { status: 'aborted', reason: 'expired' });
  });

  it('answers an already-passed deadline without running the task', async () => {
    assert.deepEqual(await pool.run(request('echo', 1, { deadlineMs: 0 })), { status: 'aborted', reason: 'expired' });
  });

  it('delivers abort() to a running handler', async () => {
    const flag = startFlag();
    const req = request('startedThen', { flag, then: 'honourAbort' });
    const running = pool.run(req);
    await started(flag);
    pool.abort(req.token, 'cancelled');
    assert.deepEqual(await running, { status: 'aborted', reason: 'cancelled' });
  });

  it('delivers abort() requested before the task reached its thread', async () => {
    const req = request('reportAbort');
    const running = pool.run(req);
    pool.abort(req.token, 'shutdown');
    const result = await running;
    assertStatus(result, 'completed');
    assert.equal((result.result as AbortReport).reason, 'shutdown');
  });

  it('ignores abort() for unknown or finished tokens', async () => {
    const req = request('echo', 7);
    assert.deepEqual(await pool.run(req), { status: 'completed', result: 7 });
    pool.abort(req.token, 'cancelled');
    pool.abort(987_654, 'cancelled');
    assert.equal(pool.running, 0);
  });

  it('terminates a thread whose handler ignores its signal, within the grace, and keeps serving', async () => {
    const before = await pool.run(request('where'));
    assertStatus(before, 'completed');
    const oldThread = (before.result as { threadId: number }).threadId;

    // A task already running on the thread, one that blocks it, and one queued behind the blocker.
    const flag = startFlag();
    const bystander = pool.run(request('startedThen', { flag, then: 'sleep', ms: 5_000 }));
    await started(flag);
    const start = performance.now();
    const spinner = pool.run(request('spin', null, { deadlineMs: 100 }));
    const queued = pool.run(request('echo', 'queued'));

    assert.deepEqual(await spinner, { status: 'aborted', reason: 'expired' });
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 100 + 200 + 400, `terminated after ${elapsed.toFixed(0)} ms (deadline 100 + grace 200)`);

    const lost = await bystander;
    assertStatus(lost, 'crashed');
    assert.equal(lost.error.name, 'ThreadTerminatedError');
    // The queued task never started on the dead thread: it runs on the replacement instead.
    assert.deepEqual(await queued, { status: 'completed', result: 'queued' });

    const afterwards = await pool.run(request('where'));
    assertStatus(afterwards, 'completed');
    assert.notEqual((afterwards.result as { threadId: number }).threadId, oldThread);
    assert.equal(pool.running, 0);
  });

  it('terminates an async handler that ignores cancel after the grace', async () => {
    const req = request('ignoreAbort', { ms: 10_000 });
    const running = pool.run(req);
    const start = performance.now();
    pool.abort(req.token, 'cancelled');
    assert.deepEqual(await running, { status: 'aborted', reason: 'cancelled' });
    assert.ok(performance.now() - start < 200 + 400);
  });

  it('answers crashed when a handler exits its thread, and replaces the thread', async () => {
    const exit = await pool.run(request('exit', { code: 3 }));
    assertStatus(exit, 'crashed');
    assert.match(exit.error.message, /code: 3/);
    assert.deepEqual(await pool.run(request('echo', 'still here')), { status: 'completed', result: 'still here' });
  });

  it('answers crashed on an unhandled rejection inside the thread', async () => {
    const result = await pool.run(request('unhandledRejection'));
    assertStatus(result, 'crashed');
    assert.match(result.error.message, /left behind/);
    assert.deepEqual(await pool.run(request('echo', 1)), { status: 'completed', result: 1 });
  });

  it('fails only the run whose arguments or result cannot cross to a thread, not its batch', async () => {
    // Handed over in one turn, so they travel to the thread in one message and back in another.
    const [badArgs, fine, badResult, alsoFine] = await Promise.all([
      pool.run(request('echo', { fn: () => 1 })),
      pool.run(request('echo', 'a')),
      pool.run(request('returnNestedFunction')),
      pool.run(request('echo', 'b')),
    ]);
    assertStatus(badArgs, 'failed');
    assert.equal(badArgs.error.name, 'DataCloneError');
    assert.match(badArgs.error.message, /arguments cannot be passed to a thread/);
    assertStatus(badResult, 'failed');
    assert.equal(badResult.error.name, 'DataCloneError');
    assert.match(badResult.error.message, /result cannot be passed back/);
    assert.deepEqual([fine, alsoFine], [{ status: 'completed', result: 'a' }, { status: 'completed', result: 'b' }]);
    assert.equal(pool.running, 0);
  });

  it('refuses a token that is already running', async () => {
    const flag = startFlag();
    const req = request('startedThen', { flag, then: 'honourAbort' });
    const first = pool.run(req);
    await started(flag);
    const dup = await pool.run({ ...req, name: 'echo' });
    assertStatus(dup, 'failed');
    assert.equal(dup.error.name, 'DuplicateTokenError');
    pool.abort(req.token, 'cancelled');
    assert.deepEqual(await first, { status: 'aborted', reason: 'cancelled' });
  });
});

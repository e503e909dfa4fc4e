// Isolation "none": the same pool contract as threads, with handlers on this event loop — and the
// one place it differs, a handler that ignores its signal is abandoned instead of terminated.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import { createTaskPool } from './task-pool.js';
import type { ExecutionResult, TaskPool } from './types.js';
import { TASKS, fixture, request, startFlag, started } from './pool.test-helpers.js';

function assertStatus<S extends ExecutionResult['status']>(result: ExecutionResult, status: S): asserts result is Extract<ExecutionResult, { status: S }> {
  assert.equal(result.status, status, `expected ${status}, got ${JSON.stringify(result)}`);
}

describe('inline pool (isolation "none"): capacity 4', () => {
  let pool: TaskPool;
  before(async () => {
    pool = await createTaskPool({ tasksModule: TASKS, capacity: 4, isolation: 'none', abortGraceMs: 100, taskTimeoutMs: 10_000 });
  });
  after(() => pool.close());

  it('learns the task names and runs handlers on this thread', async () => {
    assert.ok(pool.taskNames.includes('echo'));
    const where = await pool.run(request('where'));
    assertStatus(where, 'completed');
    assert.deepEqual(where.result, { pid: process.pid, threadId: 0 });
    assert.ok(isMainThread);
  });

  it('completes, fails and refuses unknown names like the thread pool', async () => {
    assert.deepEqual(await pool.run(request('echo', { a: [1, 2] })), { status: 'completed', result: { a: [1, 2] } });
    const failed = await pool.run(request('fail', { message: 'no such user' }));
    assertStatus(failed, 'failed');
    assert.deepEqual([failed.error.name, failed.error.message], ['TypeError', 'no such user']);
    for (const name of ['constructor', '__proto__', 'nope']) {
      const unknown = await pool.run(request(name));
      assertStatus(unknown, 'failed');
      assert.equal(unknown.error.name, 'UnknownTaskError');
    }
    const fn = await pool.run(request('returnFunction'));
    assertStatus(fn, 'failed');
    assert.equal(fn.error.name, 'TypeError');
    assert.equal(pool.running, 0);
  });

  it('holds at most capacity tasks and delivers abort() to running handlers', async () => {
    const flags = [startFlag(), startFlag(), startFlag(), startFlag()];
    const requests = flags.map((flag) => request('startedThen', { flag, then: 'honourAbort' }));
    const running = requests.map((req) => pool.run(req));
    await Promise.all(flags.map((flag) => started(flag)));
    assert.equal(pool.hasFreeSlot, false);
    const refused = await pool.run(request('echo', 1));
    assertStatus(refused, 'failed');
    assert.equal(refused.error.name, 'CapacityError');
    for (const req of requests) pool.abort(req.token, 'cancelled');
    for (const result of await Promise.all(running)) assert.deepEqual(result, { status: 'aborted', reason: 'cancelled' });
    assert.equal(pool.running, 0);
  });

  it('fires ctx.signal at the deadline', async () => {
    assert.deepEqual(await pool.run(request('honourAbort', null, { deadlineMs: 50 })), { status: 'aborted', reason: 'expired' });
  });

  it('abandons a handler that ignores its signal: answered after the grace, slot freed', async () => {
    const start = performance.now();
    const req = request('ignoreAbort', { ms: 1_000 });
    const running = pool.run(req);
    pool.abort(req.token, 'cancelled');
    assert.deepEqual(await running, { status: 'aborted', reason: 'cancelled' });
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 900, `answered after ${elapsed.toFixed(0)} ms, before the handler's own 1 s`);
    assert.equal(pool.running, 0);
    assert.deepEqual(await pool.run(request('echo', 'next')), { status: 'completed', result: 'next' });
  });
});

describe('inline pool: options and shutdown', () => {
  it('refuses threads other than 1 with isolation "none"', async () => {
    await assert.rejects(createTaskPool({ tasksModule: TASKS, capacity: 2, isolation: 'none', threads: 2 }), /`threads`.*isolation "none"/);
  });

  it('reports a module that cannot be loaded as TaskModuleError', async () => {
    await assert.rejects(createTaskPool({ tasksModule: fixture('does-not-exist.js'), capacity: 1, isolation: 'none' }), { name: 'TaskModuleError' });
  });

  it('close() answers running tasks aborted/shutdown and fires their signals', async () => {
    const pool = await createTaskPool({ tasksModule: TASKS, capacity: 2, isolation: 'none' });
    const flag = startFlag();
    const running = pool.run(request('startedThen', { flag, then: 'honourAbort' }));
    await started(flag);
    await pool.close();
    await pool.close();
    assert.deepEqual(await running, { status: 'aborted', reason: 'shutdown' });
    assert.deepEqual(await pool.run(request('echo', 1)), { status: 'aborted', reason: 'shutdown' });
  });
});

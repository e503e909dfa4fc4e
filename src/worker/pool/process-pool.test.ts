import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTaskPool } from './task-pool.js';
import type { TaskPool } from './types.js';
import { TASKS, request } from './pool.test-helpers.js';

describe('process pool (tinypool child processes)', () => {
  let pool: TaskPool;
  before(async () => {
    pool = await createTaskPool({ tasksModule: TASKS, capacity: 2, isolation: 'process', abortGraceMs: 200 });
  });
  after(() => pool.close());

  it('runs tasks in other processes', async () => {
    const result = await pool.run(request('where'));
    assert.equal(result.status, 'completed');
    const where = (result as { result: { pid: number } }).result;
    assert.notEqual(where.pid, process.pid);
    assert.deepEqual(await pool.run(request('echo', { bytes: new Uint8Array([9]), none: undefined })), { status: 'completed', result: { bytes: new Uint8Array([9]), none: undefined } });
  });

  it('answers failed with name and message', async () => {
    const result = await pool.run(request('fail', { message: 'nope' }));
    assert.equal(result.status, 'failed');
    assert.equal(result.status === 'failed' && result.error.name, 'TypeError');
    assert.equal(result.status === 'failed' && result.error.message, 'nope');
  });

  it('never resolves a task name to a prototype member', async () => {
    const result = await pool.run(request('constructor'));
    assert.equal(result.status === 'failed' && result.error.name, 'UnknownTaskError');
  });

  it('answers crashed when the process exits, and replaces it', async () => {
    const result = await pool.run(request('exit', { code: 7 }));
    assert.equal(result.status, 'crashed', JSON.stringify(result));
    assert.deepEqual(await pool.run(request('echo', 'next')), { status: 'completed', result: 'next' });
  });

  it('delivers the deadline and abort() to the handler signal', async () => {
    const expired = await pool.run(request('reportAbort', null, { deadlineMs: 200 }));
    assert.equal(expired.status, 'completed');
    assert.equal((expired as { result: { reason: string } }).result.reason, 'expired');
    const req = request('honourAbort');
    const cancelled = pool.run(req);
    pool.abort(req.token, 'cancelled');
    assert.deepEqual(await cancelled, { status: 'aborted', reason: 'cancelled' });
  });

  it('kills a process whose handler ignores its signal, and keeps serving', async () => {
    const start = performance.now();
    assert.deepEqual(await pool.run(request('spin', null, { deadlineMs: 100 })), { status: 'aborted', reason: 'expired' });
    assert.ok(performance.now() - start < 100 + 200 + 1_000);
    assert.deepEqual(await pool.run(request('echo', 'alive')), { status: 'completed', result: 'alive' });
  });
});

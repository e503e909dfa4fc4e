import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../../core/errors.js';
import { TaskModuleError } from '../errors.js';
import { createTaskPool } from './task-pool.js';
import { TASKS, fixture, request, startFlag, started } from './pool.test-helpers.js';

describe('createTaskPool', () => {
  it('accepts a file URL for the task module', async () => {
    const pool = await createTaskPool({ tasksModule: pathToFileURL(TASKS), capacity: 1 });
    try {
      assert.deepEqual(await pool.run(request('echo', 'url')), { status: 'completed', result: 'url' });
    } finally {
      await pool.close();
    }
  });

  const badModules: [string, RegExp][] = [
    ['no-default.js', /default-export an object of handlers.*got no default export/],
    ['empty.js', /defines no tasks/],
    ['not-function.js', /task `broken`.*to be a function, got 42 \(number\)/],
    ['load-throws.js', /Cannot load task module.*failed while loading/],
    ['does-not-exist.js', /Cannot load task module.*does-not-exist/],
  ];
  for (const [file, message] of badModules) {
    it(`rejects with TaskModuleError for ${file}`, async () => {
      await assert.rejects(createTaskPool({ tasksModule: fixture(file), capacity: 1 }), (error: unknown) => {
        assert.ok(error instanceof TaskModuleError, String(error));
        assert.equal(error.code, 'invalid_task_module');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('rejects (never throws) on invalid options, naming the option and value', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ capacity: 0 }, /`capacity`.*got 0 \(number\)/],
      [{ capacity: 1.5 }, /`capacity`.*got 1\.5 \(number\)/],
      [{ capacity: 2, threads: 3 }, /`threads` to be at most `capacity` \(2\), got 3/],
      [{ capacity: 2, isolation: 'fiber' }, /`isolation`.*"fiber"/],
      [{ capacity: 2, isolation: 'process', threads: 1 }, /`threads` to equal `capacity` \(2\)/],
      [{ capacity: 1, taskTimeoutMs: 0 }, /`taskTimeoutMs`/],
      [{ capacity: 1, abortGraceMs: -1 }, /`abortGraceMs`/],
      [{ capacity: 1, maxOldGenerationSizeMb: 1 }, /`maxOldGenerationSizeMb`/],
      [{ capacity: 1, tasksModule: '' }, /`tasks`.*""/],
      [{ capacity: 1, tasksModule: 42 }, /`tasks`.*42 \(number\)/],
    ];
    for (const [overrides, message] of cases) {
      const options = { tasksModule: TASKS, ...overrides } as unknown as Parameters<typeof createTaskPool>[0];
      let pending: Promise<unknown> | undefined;
      assert.doesNotThrow(() => { pending = createTaskPool(options); });
      await assert.rejects(pending!, (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, String(error));
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it('rejects with the signal reason when aborted', async () => {
    const reason = new Error('stop');
    await assert.rejects(createTaskPool({ tasksModule: TASKS, capacity: 1, signal: AbortSignal.abort(reason) }), (e) => e === reason);
    const controller = new AbortController();
    const pending = createTaskPool({ tasksModule: TASKS, capacity: 1, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
  });
});

describe('task pool limits', () => {
  it('answers crashed when a thread runs out of memory, then keeps serving', async () => {
    const pool = await createTaskPool({ tasksModule: TASKS, capacity: 1, maxOldGenerationSizeMb: 16 });
    try {
      const result = await pool.run(request('oom'));
      assert.equal(result.status, 'crashed', JSON.stringify(result));
      assert.match(result.status === 'crashed' ? result.error.message : '', /memory/i);
      assert.deepEqual(await pool.run(request('echo', 'after oom')), { status: 'completed', result: 'after oom' });
    } finally {
      await pool.close();
    }
  });

  it('applies taskTimeoutMs to tasks without a deadline, and terminates one that ignores it', async () => {
    // The grace period is long enough for a thread on a loaded machine to report its abort.
    const pool = await createTaskPool({ tasksModule: TASKS, capacity: 2, threads: 2, taskTimeoutMs: 150, abortGraceMs: 400 });
    try {
      const start = performance.now();
      const [reported, spun] = await Promise.all([pool.run(request('reportAbort')), pool.run(request('spin'))]);
      assert.equal(reported.status, 'completed');
      assert.equal((reported.status === 'completed' ? reported.result as { reason: string; deadline?: number } : undefined)?.reason, 'expired');
      assert.deepEqual(spun, { status: 'aborted', reason: 'expired' });
      const elapsed = performance.now() - start;
      assert.ok(elapsed >= 540 && elapsed < 150 + 400 + 1_000, `spinner stopped after ${elapsed.toFixed(0)} ms`);
      assert.deepEqual(await pool.run(request('echo', 2)), { status: 'completed', result: 2 });
    } finally {
      await pool.close();
    }
  });

  it('with abortGraceMs 0 terminates at the deadline itself', async () => {
    const pool = await createTaskPool({ tasksModule: TASKS, capacity: 1, abortGraceMs: 0 });
    try {
      const start = performance.now();
      assert.deepEqual(await pool.run(request('spin', null, { deadlineMs: 50 })), { status: 'aborted', reason: 'expired' });
      assert.ok(performance.now() - start < 50 + 400);
    } finally {
      await pool.close();
    }
  });

  it('close() answers running tasks aborted/shutdown, is idempotent, and refuses later runs', async () => {
    const pool = await createTaskPool({ tasksModule: TASKS, capacity: 2, threads: 1 });
    const flag = startFlag();
    const running = pool.run(request('startedThen', { flag, then: 'sleep', ms: 10_000 }));
    const spinning = pool.run(request('spin'));
    await started(flag);
    const first = pool.close();
    assert.equal(pool.close(), first);
    await first;
    assert.deepEqual(await running, { status: 'aborted', reason: 'shutdown' });
    assert.deepEqual(await spinning, { status: 'aborted', reason: 'shutdown' });
    assert.equal(pool.hasFreeSlot, false);
    assert.equal(pool.running, 0);
    assert.deepEqual(await pool.run(request('echo', 1)), { status: 'aborted', reason: 'shutdown' });
  });
});

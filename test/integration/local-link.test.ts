// A manager with a worker node and a client in its own process, joined by in-process links (as
// `sluice dev` runs them), beside a client over TCP: the same semantics on both paths.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, BusyError, type Client } from '../../src/index.js';
import { startManager, type Manager } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';

const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-tasks.js', import.meta.url));

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('in-process links to a manager', () => {
  let manager: Manager;
  let worker: WorkerNode;
  let local: Client;
  let remote: Client;

  before(async () => {
    manager = await startManager({ port: 0, maxQueue: 4 });
    // No prefetch: the tests count slots + queue exactly, and a held task would be one more place.
    worker = await startWorker({ manager, tasks: TASKS, capacity: 2, threads: 1, prefetch: 0 });
    await until(() => manager.snapshot().workers.length === 1);
    local = await connect({ manager });
    remote = await connect({ manager: `127.0.0.1:${manager.address.port}` });
  });

  after(async () => {
    await local.close();
    await remote.close();
    await worker.close();
    await manager.close();
  });

  it('the in-process worker joins like any other, marked in-process', () => {
    const [w] = manager.snapshot().workers;
    assert.equal(w?.remoteAddress, 'in-process');
    assert.equal(w?.capacity, 2);
  });

  it('runs tasks for in-process and TCP clients alike', async () => {
    assert.deepEqual(await local.run('echo', { via: 'local' }), { via: 'local' });
    assert.deepEqual(await remote.run('echo', { via: 'tcp' }), { via: 'tcp' });
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => local.run('echo', i, { retry: { maxRetries: 1_000, baseMs: 1, maxMs: 5 } })));
    assert.deepEqual(many, Array.from({ length: 200 }, (_, i) => i));
  });

  it('answers busy with a retry hint when the queue is full', async () => {
    const sleepers = Array.from({ length: 6 }, () => local.run('sleep', { ms: 300 }, { retry: false }).catch((e: Error) => e));
    await until(() => manager.snapshot().queued === 4);
    await assert.rejects(local.run('echo', 1, { retry: false }), (error: unknown) => error instanceof BusyError && error.retryAfterMs > 0);
    const outcomes = await Promise.all(sleepers);
    assert.equal(outcomes.filter((o) => o instanceof Error).length, 0);
  });

  it('expires a queued task whose deadline passes, and aborts one that runs past it', async () => {
    const blockers = Array.from({ length: 2 }, () => local.run('sleep', { ms: 200 }, { retry: false }));
    await until(() => manager.snapshot().running === 2);
    await assert.rejects(local.run('echo', 1, { timeoutMs: 50, retry: false }), { code: 'expired' });
    await Promise.all(blockers);
    await assert.rejects(local.run('sleep', { ms: 1_000 }, { timeoutMs: 50, retry: false }), { code: 'expired' });
  });

  it('closing the manager closes the in-process links; connecting again is refused', async () => {
    const other = await startManager({ port: 0 });
    const client = await connect({ manager: other, reconnect: { baseMs: 10, maxMs: 20 } });
    await other.close();
    await until(() => !client.connected);
    await assert.rejects(connect({ manager: other, connectTimeoutMs: 100 }), { code: 'connect_failed' });
    await client.close();
  });
});

// The HTTP gateway end to end: a real manager, a worker node running test/fixtures/gateway-tasks.js
// in threads, the TypeScript client and the gateway, all over real sockets on 127.0.0.1; HTTP
// calls through undici. Each status code of issue 3 is provoked for real.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type Client } from '../../src/client/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.js';
import { GatewayCaller } from '../../src/gateway/http-caller.test-helpers.js';
import { startManager, type Manager, type ManagerOptions } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';

const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-tasks.js', import.meta.url));
const execLog = join(mkdtempSync(join(tmpdir(), 'sluice-gw-')), 'exec.ndjson');
process.env['SLUICE_TEST_EXEC_LOG'] = execLog; // read by the fixture in the worker threads

interface ExecLine { id: string; attempt: number; event: 'start' | 'end' | 'aborted'; tag?: string }
function executions(): ExecLine[] {
  try {
    return readFileSync(execLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ExecLine);
  } catch {
    return [];
  }
}
const tagged = (tag: string, event?: ExecLine['event']): ExecLine[] => executions().filter((e) => e.tag === tag && (event === undefined || e.event === event));

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Stack { manager: Manager; worker: WorkerNode; client: Client; gateway: Gateway; caller: GatewayCaller }
const stacks: Stack[] = [];

async function startStack(manager: ManagerOptions = {}, capacity = 2, gateway: Partial<GatewayOptions> = {}): Promise<Stack> {
  const m = await startManager({ port: 0, ...manager });
  const address = `127.0.0.1:${m.address.port}`;
  // No prefetch: the tests count slots + queue exactly, and a held task would be one more place.
  const worker = await startWorker({ manager: address, tasks: TASKS, capacity, prefetch: 0 });
  await until(() => m.snapshot().workers.length === 1);
  const client = await connect({ manager: address });
  const g = await startGateway({ client, ownClient: true, port: 0, readiness: () => client.connected && m.snapshot().workers.length > 0, ...gateway });
  const stack = { manager: m, worker, client, gateway: g, caller: new GatewayCaller(`http://127.0.0.1:${g.address.port}`) };
  stacks.push(stack);
  return stack;
}

after(async () => {
  for (const s of stacks) {
    assert.deepEqual(s.caller.undeclared(), [], 'every (route, status) seen is declared in openapi.json');
    await s.caller.close();
    await s.gateway.close();
    await s.worker.close();
    await s.manager.close();
  }
});

describe('gateway in front of a real manager and worker', () => {
  let stack: Stack;
  let caller: GatewayCaller;
  before(async () => {
    stack = await startStack({ maxQueue: 2, maxAttempts: 1 }, 2);
    caller = stack.caller;
  });

  it('is live and ready', async () => {
    assert.equal((await caller.call('GET', '/healthz')).status, 200);
    assert.equal((await caller.call('GET', '/readyz')).status, 200);
  });

  it('200: runs a task and answers its result', async () => {
    const res = await caller.post('echo', { hello: 'world', n: [1, 2.5, null] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: { hello: 'world', n: [1, 2.5, null] } });
  });

  it('500 task_failed: the handler threw (name and message, no stack)', async () => {
    const res = await caller.post('boom', { message: 'bad input' });
    assert.equal(res.status, 500);
    assert.deepEqual(res.json, { error: { code: 'task_failed', message: 'bad input', name: 'TypeError' } });
  });

  it('404 unknown_task: no worker registers the name', async () => {
    const res = await caller.post('no-such-task', {});
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'unknown_task');
  });

  it('504 expired: Sluice-Timeout-Ms ends the wait, and the task sees its abort', async () => {
    const res = await caller.post('sleep', { ms: 5_000, tag: 'expire-1' }, { 'sluice-timeout-ms': '200' });
    assert.equal(res.status, 504);
    assert.equal(res.json.error.code, 'expired');
    assert.ok(res.ms < 2_000, `answered after ${Math.round(res.ms)} ms`);
    await until(() => tagged('expire-1', 'aborted').length === 1);
  });

  it('502 worker_lost: the thread running the task died on every attempt', async () => {
    const res = await caller.post('crash', {});
    assert.equal(res.status, 502);
    assert.equal(res.json.error.code, 'worker_lost');
    assert.equal(res.json.error.attempts, 1);
  });

  it('503 busy with Retry-After when the manager\'s queue is full; the gateway never queues it', async () => {
    // Two slots and a queue of two: the fifth concurrent sleep cannot be taken.
    const held = Array.from({ length: 4 }, (_, i) => caller.post('sleep', { ms: 400, tag: `fill-${i}` }));
    await until(() => stack.manager.snapshot().queued === 2);
    const res = await caller.post('sleep', { ms: 1, tag: 'refused' });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'busy');
    assert.ok(['full', 'latency'].includes(res.json.error.reason));
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal(Number(res.headers['retry-after']), Math.max(1, Math.ceil(res.json.error.retryAfterMs / 1000)));
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(tagged('refused').length, 0, 'the refused task never ran');
  });

  it('400 / 413 / 415 before anything reaches the manager', async () => {
    const admitted = stack.manager.stats.admitted;
    assert.equal((await caller.post('echo', '{oops', { 'content-type': 'application/json' })).status, 400);
    assert.equal((await caller.post('echo', 1, { 'sluice-priority': 'soon' })).status, 400);
    assert.equal((await caller.post('echo', 'x'.repeat(2 * 1024 * 1024))).status, 413);
    assert.equal((await caller.post('echo', 'a=1', { 'content-type': 'text/plain' })).status, 415);
    assert.equal(stack.manager.stats.admitted, admitted);
  });

  it('a caller that disconnects cancels its running task (the handler sees its signal)', async () => {
    const controller = new AbortController();
    const call = caller.post('sleep', { ms: 10_000, tag: 'gone-running' }, {}, controller.signal).catch((e: unknown) => e);
    await until(() => tagged('gone-running', 'start').length === 1);
    controller.abort();
    await call;
    await until(() => tagged('gone-running', 'aborted').length === 1);
    await until(() => stack.manager.snapshot().running === 0);
  });

  it('a caller that disconnects while its task is queued removes it: it never runs', async () => {
    const blockers = [0, 1].map((i) => caller.post('sleep', { ms: 300, tag: `block-${i}` }));
    await until(() => stack.manager.snapshot().running === 2);
    const controller = new AbortController();
    const call = caller.post('sleep', { ms: 1, tag: 'gone-queued' }, {}, controller.signal).catch((e: unknown) => e);
    await until(() => stack.manager.snapshot().queued === 1);
    controller.abort();
    await call;
    await until(() => stack.manager.snapshot().queued === 0);
    await Promise.all(blockers);
    await until(() => stack.manager.snapshot().running === 0);
    assert.equal(tagged('gone-queued').length, 0);
  });

  it('an idempotent retry runs the task once (sequential and concurrent retries)', async () => {
    const headers = { 'idempotency-key': 'it-once-1' };
    const first = await caller.post('once', { tag: 'idem-1' }, headers);
    const retry = await caller.post('once', { tag: 'idem-1' }, headers);
    assert.equal(first.status, 200);
    assert.deepEqual(retry.json, first.json);
    const together = await Promise.all([0, 1, 2].map(() => caller.post('once', { tag: 'idem-2' }, { 'idempotency-key': 'it-once-2' })));
    assert.deepEqual(together.map((r) => r.status), [200, 200, 200]);
    assert.equal(tagged('idem-1', 'start').length, 1);
    assert.equal(tagged('idem-2', 'start').length, 1);
    assert.equal(tagged('idem-1')[0]!.id, 'it-once-1', 'the key is the task id');
  });

  it('async job: 202 + Location, running, then completed with the result', async () => {
    const res = await caller.post('sleep', { ms: 300, tag: 'job-1' }, { prefer: 'respond-async' });
    assert.equal(res.status, 202);
    const location = res.headers['location'] as string;
    await until(() => tagged('job-1', 'start').length === 1);
    assert.equal((await caller.call('GET', location)).json.state, 'running');
    let job = (await caller.call('GET', location)).json;
    const deadline = Date.now() + 5_000;
    while (job.state !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      job = (await caller.call('GET', location)).json;
    }
    assert.deepEqual(job.result, { slept: 300 });
  });

  it('DELETE cancels a running job: the handler sees its signal; 409 once finished', async () => {
    const res = await caller.post('sleep', { ms: 10_000, tag: 'job-2' }, { prefer: 'respond-async' });
    const location = res.headers['location'] as string;
    await until(() => tagged('job-2', 'start').length === 1);
    assert.equal((await caller.call('DELETE', location)).status, 202);
    await until(() => tagged('job-2', 'aborted').length === 1);
    assert.equal((await caller.call('GET', location)).json.state, 'cancelled');
    assert.equal((await caller.call('DELETE', location)).status, 409);
  });
});

describe('gateway with API keys', () => {
  it('401 without the key, 200 with it', async () => {
    const { caller } = await startStack({}, 1, { apiKeys: ['integration-key-0123456789'] });
    assert.equal((await caller.post('echo', 1)).status, 401);
    assert.equal((await caller.post('echo', 1, { authorization: 'Bearer wrong-key-0123456789abc' })).status, 401);
    const ok = await caller.post('echo', 1, { authorization: 'Bearer integration-key-0123456789' });
    assert.equal(ok.status, 200);
  });
});

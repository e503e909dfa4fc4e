// Async jobs and idempotency keys over real HTTP on loopback, with a scripted client.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FakeClient } from './fake-client.test-helpers.js';
import { startGateway, type Gateway } from './gateway.js';
import { GatewayCaller } from './http-caller.test-helpers.js';
import type { GatewayOptions } from './options.js';

const open: { gateway: Gateway; caller: GatewayCaller }[] = [];

async function start(options: Partial<GatewayOptions> = {}): Promise<{ gateway: Gateway; caller: GatewayCaller; client: FakeClient }> {
  const client = new FakeClient();
  const gateway = await startGateway({ port: 0, ...options, client });
  const caller = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`);
  open.push({ gateway, caller });
  return { gateway, caller, client };
}

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ASYNC = { prefer: 'respond-async' };

after(async () => {
  for (const { gateway, caller } of open) {
    assert.deepEqual(caller.undeclared(), [], 'every (route, status) seen is declared in openapi.json');
    await caller.close();
    await gateway.close();
  }
});

describe('async jobs (Prefer: respond-async)', () => {
  it('answers 202 with Location, then reports queued → running → completed with the result', async () => {
    const { caller, client } = await start();
    const res = await caller.post('hold', { n: 1 }, ASYNC);
    assert.equal(res.status, 202);
    assert.equal(res.headers['preference-applied'], 'respond-async');
    const id = res.json.id as string;
    assert.equal(res.headers['location'], `/v1/jobs/${id}`);
    assert.equal(res.json.state, 'queued');
    const call = client.calls[0]!;
    assert.equal(call.options.notifyStart, true);
    assert.equal(call.options.retry, undefined, 'async jobs keep the client\'s busy retries');
    assert.equal(call.options.timeoutMs, undefined, 'no deadline unless asked');
    assert.equal((await caller.call('GET', `/v1/jobs/${id}`)).json.state, 'queued');
    call.started = true;
    assert.equal((await caller.call('GET', `/v1/jobs/${id}`)).json.state, 'running');
    call.resolve({ answer: 42 });
    await until(() => call.settled);
    await new Promise((r) => setImmediate(r));
    const done = await caller.call('GET', `/v1/jobs/${id}`);
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { id, name: 'hold', state: 'completed', result: { answer: 42 } });
  });

  it('reports failed and expired jobs with their error', async () => {
    const { caller } = await start();
    const failed = await caller.post('boom', {}, ASYNC);
    const expired = await caller.post('expire', {}, { ...ASYNC, 'sluice-timeout-ms': '10' });
    await new Promise((r) => setTimeout(r, 10));
    const f = await caller.call('GET', failed.headers['location'] as string);
    assert.equal(f.json.state, 'failed');
    assert.deepEqual(f.json.error, { code: 'task_failed', message: 'bad input', name: 'TypeError' });
    const e = await caller.call('GET', expired.headers['location'] as string);
    assert.equal(e.json.state, 'expired');
    assert.equal(e.json.error.code, 'expired');
  });

  it('DELETE cancels an unfinished job (202), then answers 409 as it is finished; unknown ids are 404', async () => {
    const { caller, client } = await start();
    const { json } = await caller.post('hold', 1, ASYNC);
    const del = await caller.call('DELETE', `/v1/jobs/${json.id}`);
    assert.equal(del.status, 202);
    assert.equal(del.json.state, 'cancelled');
    await until(() => client.calls[0]!.aborted !== undefined);
    const again = await caller.call('DELETE', `/v1/jobs/${json.id}`);
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'job_finished');
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).json.state, 'cancelled');
    const missing = await caller.call('GET', '/v1/jobs/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'job_not_found');
    assert.equal((await caller.call('DELETE', '/v1/jobs/nope')).status, 404);
  });

  it('keeps a job when its caller disconnects (only DELETE cancels it)', async () => {
    const { caller, client } = await start();
    const poster = new GatewayCaller(caller.base);
    const { json } = await poster.post('hold', 1, ASYNC);
    for (const seen of poster.seen) caller.seen.add(seen);
    await poster.close(); // every connection of that caller goes away
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).json.state, 'queued');
    assert.equal(client.calls[0]!.aborted, undefined);
  });

  it('bounds the store: evicts the oldest finished job, and refuses 503 when all are unfinished', async () => {
    const { caller, client } = await start({ jobs: { maxJobs: 2 } });
    const first = await caller.post('echo', 1, ASYNC);
    await caller.post('echo', 2, ASYNC);
    await caller.post('echo', 3, ASYNC);
    assert.equal((await caller.call('GET', `/v1/jobs/${first.json.id}`)).status, 404, 'evicted → 404');
    const { caller: full } = await start({ jobs: { maxJobs: 2 } });
    await full.post('hold', 1, ASYNC);
    await full.post('hold', 2, ASYNC);
    const refused = await full.post('hold', 3, ASYNC);
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.reason, 'jobs_full');
    assert.ok(refused.headers['retry-after']);
    assert.equal(client.calls.length, 3);
  });

  it('drops finished jobs after their TTL', async () => {
    const { caller } = await start({ jobs: { ttlMs: 30 } });
    const { json } = await caller.post('echo', 1, ASYNC);
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).status, 200);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).status, 404);
  });
});

describe('Idempotency-Key', () => {
  it('runs the task once: a retry after the answer replays it', async () => {
    const { caller, client } = await start();
    const first = await caller.post('echo', { v: 1 }, { 'idempotency-key': 'order-1' });
    const retry = await caller.post('echo', { v: 1 }, { 'idempotency-key': 'order-1' });
    assert.equal(first.status, 200);
    assert.deepEqual(retry.json, first.json);
    assert.equal(client.calls.length, 1);
    assert.equal(client.calls[0]!.options.id, 'order-1', 'the key is the task id');
    // The quoted structured-field spelling names the same key.
    assert.equal((await caller.post('echo', { v: 1 }, { 'idempotency-key': '"order-1"' })).status, 200);
    assert.equal(client.calls.length, 1);
  });

  it('attaches concurrent retries to the running task', async () => {
    const { caller, client, gateway } = await start();
    const a = caller.post('hold', 1, { 'idempotency-key': 'k' });
    const b = caller.post('hold', 1, { 'idempotency-key': 'k' });
    await until(() => gateway.pending === 2);
    assert.equal(client.calls.length, 1);
    client.calls[0]!.resolve('once');
    assert.deepEqual((await Promise.all([a, b])).map((r) => r.json), [{ result: 'once' }, { result: 'once' }]);
  });

  it('refuses the key with another body (422)', async () => {
    const { caller } = await start();
    await caller.post('echo', { v: 1 }, { 'idempotency-key': 'k2' });
    const other = await caller.post('echo', { v: 2 }, { 'idempotency-key': 'k2' });
    assert.equal(other.status, 422);
    assert.equal(other.json.error.code, 'idempotency_key_reused');
  });

  it('forgets a refused (busy) task so that a retry runs it', async () => {
    const { caller, client } = await start();
    const res = await caller.post('busy', { retryAfterMs: 10 }, { 'idempotency-key': 'k3' });
    assert.equal(res.status, 503);
    assert.ok(res.headers['retry-after']);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await caller.post('busy', { retryAfterMs: 10 }, { 'idempotency-key': 'k3' })).status, 503);
    assert.equal(client.calls.length, 2);
  });

  it('cancels the task only when its last waiting caller leaves', async () => {
    const { caller, client, gateway } = await start();
    const first = new AbortController();
    const second = new AbortController();
    const a = caller.post('hold', 1, { 'idempotency-key': 'k4' }, first.signal).catch(() => {});
    const b = caller.post('hold', 1, { 'idempotency-key': 'k4' }, second.signal).catch(() => {});
    await until(() => gateway.pending === 2);
    first.abort();
    await until(() => gateway.pending === 1);
    assert.equal(client.calls[0]!.aborted, undefined, 'one caller still waits');
    second.abort();
    await until(() => client.calls[0]!.aborted !== undefined);
    await Promise.all([a, b]);
    // Forgotten: the key is free again.
    assert.equal((await caller.call('GET', '/v1/jobs/k4')).status, 404);
  });

  it('turns a synchronous keyed task into a job on an async retry, which then survives its caller', async () => {
    const { caller, client, gateway } = await start();
    const controller = new AbortController();
    const sync = caller.post('hold', 1, { 'idempotency-key': 'k5' }, controller.signal).catch(() => {});
    await until(() => gateway.pending === 1);
    const accepted = await caller.post('hold', 1, { 'idempotency-key': 'k5', ...ASYNC });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.json.id, 'k5');
    controller.abort();
    await sync;
    await until(() => gateway.pending === 0);
    assert.equal(client.calls[0]!.aborted, undefined);
    client.calls[0]!.resolve('kept');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual((await caller.call('GET', '/v1/jobs/k5')).json.result, 'kept');
  });

  it('answers a caller waiting on a cancelled job 409 cancelled', async () => {
    const { caller, gateway } = await start();
    const waiting = caller.post('hold', 1, { 'idempotency-key': 'k6' });
    await until(() => gateway.pending === 1);
    assert.equal((await caller.call('DELETE', '/v1/jobs/k6')).status, 202);
    const res = await waiting;
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'cancelled');
  });
});

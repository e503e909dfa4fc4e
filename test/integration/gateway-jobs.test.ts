// Async jobs and idempotency keys over real HTTP on loopback, in front of a real client, manager
// and worker node (in-process links, test/helpers/gateway-stack.ts). Job states are the ones the
// manager really reports; executions are counted where they happen, in the handlers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/gateway/index.js';
import { GatewayCaller, type CallResult } from '../../src/gateway/http-caller.test-helpers.js';
import { GatewayStack, jobInState, pollAsync, until } from '../helpers/gateway-stack.js';

const ASYNC = { prefer: 'respond-async' };

let stack: GatewayStack;
before(async () => {
  // One slot and a queue of one: a `hold` running and one task queued fill the manager.
  stack = await GatewayStack.start({ manager: { maxQueue: 1 }, capacity: 1 });
});
after(() => stack.close());

/** Runs a `hold` tagged `tag` through `caller`, and resolves once it holds the slot with its answer to come. */
async function occupy(caller: GatewayCaller, tag: string): Promise<{ answer: Promise<CallResult> }> {
  const answer = caller.post('hold', { tag });
  await stack.events.until(tag, 'start');
  return { answer };
}

describe('async jobs (Prefer: respond-async)', () => {
  it('answers 202 with Location, then reports queued → running → completed with the result', async () => {
    const { caller } = await stack.front();
    const blocker = await occupy(caller, 'job-blocker');
    const from = stack.client.calls.length;
    const res = await caller.post('hold', { tag: 'job-1' }, ASYNC);
    assert.equal(res.status, 202);
    assert.equal(res.headers['preference-applied'], 'respond-async');
    const id = res.json.id as string;
    assert.equal(res.headers['location'], `/v1/jobs/${id}`);
    assert.equal(res.json.state, 'queued');
    const [call] = stack.submitsSince(from);
    assert.equal(call?.options?.notifyStart, true);
    assert.equal(call?.options?.retry, undefined, 'async jobs keep the client\'s busy retries');
    assert.equal(call?.options?.timeoutMs, undefined, 'no deadline unless asked');
    assert.equal((await caller.call('GET', `/v1/jobs/${id}`)).json.state, 'queued', 'behind the blocker');
    await stack.events.release('job-blocker');
    assert.equal((await blocker.answer).status, 200);
    await stack.events.until('job-1', 'start');
    await jobInState(caller, `/v1/jobs/${id}`, 'running');
    await stack.events.release('job-1', { answer: 42 });
    const done = await jobInState(caller, `/v1/jobs/${id}`, 'completed');
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { id, name: 'hold', state: 'completed', result: { answer: 42 } });
  });

  it('reports failed jobs, and expired ones whose deadline passed while they waited', async () => {
    const { caller } = await stack.front();
    const failed = await caller.post('boom', {}, ASYNC);
    const f = await jobInState(caller, failed.headers['location'] as string, 'failed');
    assert.deepEqual(f.json.error, { code: 'task_failed', message: 'bad input', name: 'TypeError' });
    const blocker = await occupy(caller, 'expire-blocker');
    const expired = await caller.post('echo', {}, { ...ASYNC, 'sluice-timeout-ms': '150' });
    assert.equal(expired.status, 202);
    const e = await jobInState(caller, expired.headers['location'] as string, 'expired');
    assert.equal(e.json.error.code, 'expired');
    await stack.events.release('expire-blocker');
    assert.equal((await blocker.answer).status, 200);
  });

  it('DELETE cancels a running job (202) — the handler sees its signal — then answers 409; unknown ids are 404', async () => {
    const { caller } = await stack.front();
    const { json } = await caller.post('hold', { tag: 'job-delete' }, ASYNC);
    await stack.events.until('job-delete', 'start');
    const del = await caller.call('DELETE', `/v1/jobs/${json.id}`);
    assert.equal(del.status, 202);
    assert.equal(del.json.state, 'cancelled');
    await stack.events.until('job-delete', 'aborted');
    const again = await caller.call('DELETE', `/v1/jobs/${json.id}`);
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'job_finished');
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).json.state, 'cancelled');
    const missing = await caller.call('GET', '/v1/jobs/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'job_not_found');
    assert.equal((await caller.call('DELETE', '/v1/jobs/nope')).status, 404);
    await stack.idle();
  });

  it('keeps a job when its caller disconnects (only DELETE cancels it)', async () => {
    const { caller } = await stack.front();
    const poster = new GatewayCaller(caller.base);
    const { json } = await poster.post('hold', { tag: 'job-kept' }, ASYNC);
    for (const seen of poster.seen) caller.seen.add(seen);
    await poster.close(); // every connection of that caller goes away
    await stack.events.until('job-kept', 'start');
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).json.state, 'running');
    await stack.events.release('job-kept', 'kept');
    assert.equal((await jobInState(caller, `/v1/jobs/${json.id}`, 'completed')).json.result, 'kept');
    assert.deepEqual(stack.events.of('job-kept', 'aborted'), []);
  });

  it('bounds the store: evicts the oldest finished job, and refuses 503 when all are unfinished', async () => {
    const { caller } = await stack.front({ jobs: { maxJobs: 2 } });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const { json } = await caller.post('echo', n, ASYNC);
      ids.push(json.id);
      await jobInState(caller, `/v1/jobs/${json.id}`, 'completed');
    }
    assert.equal((await caller.call('GET', `/v1/jobs/${ids[0]}`)).status, 404, 'evicted → 404');
    assert.equal((await caller.call('GET', `/v1/jobs/${ids[2]}`)).status, 200);

    const { caller: full } = await stack.front({ jobs: { maxJobs: 2 } });
    const from = stack.client.calls.length;
    const held = [await full.post('hold', { tag: 'full-1' }, ASYNC), await full.post('hold', { tag: 'full-2' }, ASYNC)];
    const refused = await full.post('hold', { tag: 'full-3' }, ASYNC);
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.reason, 'jobs_full');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(stack.submitsSince(from).length, 2, 'the refused job was never submitted');
    for (const { json } of held) assert.equal((await full.call('DELETE', `/v1/jobs/${json.id}`)).status, 202);
    await stack.idle();
    assert.deepEqual(stack.events.of('full-3'), []);
  });

  it('drops finished jobs after their TTL', async () => {
    const { caller } = await stack.front({ jobs: { ttlMs: 200 } });
    const blocker = await occupy(caller, 'ttl-blocker');
    const { json } = await caller.post('echo', 1, ASYNC);
    // Unfinished jobs are never dropped: this one waits behind the blocker.
    assert.equal((await caller.call('GET', `/v1/jobs/${json.id}`)).status, 200);
    await stack.events.release('ttl-blocker');
    assert.equal((await blocker.answer).status, 200);
    await pollAsync(async () => (await caller.call('GET', `/v1/jobs/${json.id}`)).status === 404, 'the job dropped after its TTL');
  });
});

describe('Idempotency-Key', () => {
  let caller: GatewayCaller;
  let gateway: Gateway;
  before(async () => {
    ({ caller, gateway } = await stack.front());
  });

  it('runs the task once: a retry after the answer replays it', async () => {
    const from = stack.client.calls.length;
    const first = await caller.post('tally', { tag: 'idem-1' }, { 'idempotency-key': 'order-1' });
    const retry = await caller.post('tally', { tag: 'idem-1' }, { 'idempotency-key': 'order-1' });
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { result: { ran: 'idem-1' } });
    assert.deepEqual(retry.json, first.json);
    // The quoted structured-field spelling names the same key.
    assert.equal((await caller.post('tally', { tag: 'idem-1' }, { 'idempotency-key': '"order-1"' })).status, 200);
    const submits = stack.submitsSince(from);
    assert.equal(submits.length, 1);
    assert.equal(submits[0]?.options?.id, 'order-1', 'the key is the task id');
    assert.deepEqual(stack.events.of('idem-1').map((e) => e.id), ['order-1'], 'one execution, under the key');
  });

  it('attaches concurrent retries to the running task', async () => {
    const from = stack.client.calls.length;
    const a = caller.post('hold', { tag: 'idem-hold' }, { 'idempotency-key': 'k' });
    const b = caller.post('hold', { tag: 'idem-hold' }, { 'idempotency-key': 'k' });
    await until(() => gateway.pending === 2);
    assert.equal(stack.submitsSince(from).length, 1);
    await stack.events.release('idem-hold', 'once');
    assert.deepEqual((await Promise.all([a, b])).map((r) => r.json), [{ result: 'once' }, { result: 'once' }]);
    assert.equal(stack.events.of('idem-hold', 'start').length, 1);
  });

  it('refuses the key with another body (422)', async () => {
    await caller.post('echo', { v: 1 }, { 'idempotency-key': 'k2' });
    const other = await caller.post('echo', { v: 2 }, { 'idempotency-key': 'k2' });
    assert.equal(other.status, 422);
    assert.equal(other.json.error.code, 'idempotency_key_reused');
  });

  it('forgets a refused (busy) task so that a retry runs it', async () => {
    const { caller: busy } = await stack.front();
    const blocker = await occupy(busy, 'busy-blocker');
    const queued = await busy.post('hold', { tag: 'busy-queued' }, ASYNC);
    await until(() => stack.manager.snapshot().queued === 1);
    const res = await busy.post('tally', { tag: 'idem-busy' }, { 'idempotency-key': 'k3' });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.reason, 'full');
    assert.equal(res.headers['retry-after'], String(Math.max(1, Math.ceil(res.json.error.retryAfterMs / 1000))));
    assert.equal((await busy.call('GET', '/v1/jobs/k3')).status, 404, 'no trace of the refused task');
    assert.equal((await busy.call('DELETE', queued.headers['location'] as string)).status, 202);
    await stack.events.release('busy-blocker');
    assert.equal((await blocker.answer).status, 200);
    await stack.idle();
    // Retried as a caller would (the busy gate may answer for a moment): it runs, once.
    await pollAsync(async () => (await busy.post('tally', { tag: 'idem-busy' }, { 'idempotency-key': 'k3' })).status === 200, 'the retry ran', 3_000);
    assert.equal(stack.events.of('idem-busy', 'start').length, 1);
  });

  it('cancels the task only when its last waiting caller leaves', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const a = caller.post('hold', { tag: 'idem-k4' }, { 'idempotency-key': 'k4' }, first.signal).catch(() => {});
    const b = caller.post('hold', { tag: 'idem-k4' }, { 'idempotency-key': 'k4' }, second.signal).catch(() => {});
    await until(() => gateway.pending === 2);
    await stack.events.until('idem-k4', 'start');
    first.abort();
    await until(() => gateway.pending === 1);
    assert.equal((await caller.call('GET', '/v1/jobs/k4')).json.state, 'running', 'one caller still waits');
    second.abort();
    await stack.events.until('idem-k4', 'aborted');
    await Promise.all([a, b]);
    // Forgotten once the manager confirmed the cancellation: the key is free again.
    await pollAsync(async () => (await caller.call('GET', '/v1/jobs/k4')).status === 404, 'the job forgotten');
    assert.equal(stack.events.of('idem-k4', 'aborted').length, 1);
  });

  it('turns a synchronous keyed task into a job on an async retry, which then survives its caller', async () => {
    const controller = new AbortController();
    const sync = caller.post('hold', { tag: 'idem-k5' }, { 'idempotency-key': 'k5' }, controller.signal).catch(() => {});
    await until(() => gateway.pending === 1);
    await stack.events.until('idem-k5', 'start');
    const accepted = await caller.post('hold', { tag: 'idem-k5' }, { 'idempotency-key': 'k5', ...ASYNC });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.json.id, 'k5');
    controller.abort();
    await sync;
    await until(() => gateway.pending === 0);
    await stack.events.release('idem-k5', 'kept');
    assert.equal((await jobInState(caller, '/v1/jobs/k5', 'completed')).json.result, 'kept');
    assert.deepEqual(stack.events.of('idem-k5', 'aborted'), [], 'the job outlived its first caller');
  });

  it('answers a caller waiting on a cancelled job 409 cancelled', async () => {
    const waiting = caller.post('hold', { tag: 'idem-k6' }, { 'idempotency-key': 'k6' });
    await stack.events.until('idem-k6', 'start');
    assert.equal((await caller.call('DELETE', '/v1/jobs/k6')).status, 202);
    const res = await waiting;
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'cancelled');
    await stack.events.until('idem-k6', 'aborted');
  });
});

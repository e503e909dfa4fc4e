// The synchronous route over real HTTP on loopback, in front of a real client, manager and worker
// node (in-process links, test/helpers/gateway-stack.ts): headers, bodies, the error mapping, the
// busy gate, the pending bound and caller disconnects — every answer provoked for real.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/gateway/index.js';
import type { CallResult, GatewayCaller } from '../../src/gateway/http-caller.test-helpers.js';
import { GatewayStack, pollAsync, until } from '../helpers/gateway-stack.js';

let stack: GatewayStack;
before(async () => {
  // One slot, so a single `hold` makes everything else queue; eight queued tasks fill the queue.
  stack = await GatewayStack.start({ manager: { maxQueue: 8, maxAttempts: 2 }, capacity: 1 });
});
after(() => stack.close());

/** A POST its caller can leave: `leave()` drops the HTTP request, as a closed browser tab does. */
function leavable(caller: GatewayCaller, name: string, args: unknown): { answer: Promise<CallResult | Error>; leave(): void } {
  const controller = new AbortController();
  const answer = caller.post(name, args, {}, controller.signal).catch((error: Error) => error);
  return { answer, leave: () => controller.abort() };
}

describe('POST /v1/tasks/{name} (synchronous)', () => {
  let caller: GatewayCaller;
  before(async () => {
    ({ caller } = await stack.front());
  });

  it('answers 200 {"result"} with the task result and passes the controls on', async () => {
    const from = stack.client.calls.length;
    const res = await caller.post('echo', { hello: 'world' }, { 'sluice-priority': 'high', 'sluice-timeout-ms': '2000' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: { hello: 'world' } });
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.ok(res.headers['x-request-id']);
    const [call] = stack.submitsSince(from);
    assert.deepEqual(call?.args, { hello: 'world' });
    assert.equal(call?.options?.priority, 8);
    assert.equal(call?.options?.timeoutMs, 2000);
    assert.equal(call?.options?.retry, false, 'the gateway never retries busy on the caller\'s behalf');
  });

  it('uses normal priority and the default timeout when no header says otherwise', async () => {
    const from = stack.client.calls.length;
    const res = await caller.post('echo', [1, 2]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: [1, 2] });
    const [call] = stack.submitsSince(from);
    assert.equal(call?.options?.priority, 5);
    assert.equal(call?.options?.timeoutMs, 60_000);
  });

  it('accepts low, digit priorities and a caller request id', async () => {
    const from = stack.client.calls.length;
    await caller.post('echo', 1, { 'sluice-priority': 'low' });
    const res = await caller.post('echo', 1, { 'sluice-priority': '7', 'x-request-id': 'trace-42' });
    assert.deepEqual(stack.submitsSince(from).map((c) => c.options?.priority), [2, 7]);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-request-id'], 'trace-42');
  });

  it('runs a task without a body with undefined args (answered as null)', async () => {
    const from = stack.client.calls.length;
    const res = await caller.call('POST', '/v1/tasks/echo');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: null });
    assert.equal(stack.submitsSince(from)[0]?.args, undefined);
  });

  it('decodes percent-encoded task names', async () => {
    const res = await caller.post('my task/α', 1);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: { named: 1 } });
  });

  for (const [header, value] of [
    ['sluice-priority', 'urgent'],
    ['sluice-priority', '10'],
    ['sluice-timeout-ms', '0'],
    ['sluice-timeout-ms', '-5'],
    ['sluice-timeout-ms', '1.5'],
    ['sluice-timeout-ms', '99999999999'],
    ['idempotency-key', 'a'.repeat(201)],
  ] as const) {
    it(`answers 400 invalid_header for ${header}: ${value.slice(0, 20)}`, async () => {
      const from = stack.client.calls.length;
      const res = await caller.post('echo', 1, { [header]: value });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.code, 'invalid_header');
      assert.match(res.json.error.message, new RegExp(header, 'i'), 'the message names the header');
      assert.equal(stack.submitsSince(from).length, 0, 'nothing was submitted');
    });
  }

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const from = stack.client.calls.length;
    const res = await caller.post('echo', '{"a":', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'invalid_json');
    assert.equal(stack.submitsSince(from).length, 0);
  });

  it('answers 415 for a body that is not declared JSON, and accepts +json types', async () => {
    const res = await caller.post('echo', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
    assert.equal(res.json.error.code, 'unsupported_media_type');
    const ok = await caller.post('echo', '{"a":1}', { 'content-type': 'application/vnd.api+json; charset=utf-8' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { result: { a: 1 } });
  });

  it('answers 413 over the body limit, by Content-Length and by streaming, and closes the connection', async () => {
    const { caller: small } = await stack.front({ bodyLimitBytes: 64 });
    const from = stack.client.calls.length;
    const res = await small.post('echo', { data: 'x'.repeat(100) });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'payload_too_large');
    assert.equal(res.headers['connection'], 'close');
    // No Content-Length: the limit is enforced while reading.
    const chunked = await fetch(`${small.base}/v1/tasks/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`"${'y'.repeat(200)}"`));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    small.seen.add('POST /v1/tasks/{name} 413');
    assert.equal(stack.submitsSince(from).length, 0);
  });

  it('500 task_failed: the handler threw — its name and message, no stack', async () => {
    const boom = await caller.post('boom', {});
    assert.equal(boom.status, 500);
    assert.deepEqual(boom.json, { error: { code: 'task_failed', message: 'bad input', name: 'TypeError' } });
  });

  it('404 unknown_task: no worker registers the name', async () => {
    const unknown = await caller.post('no-such-task', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'unknown_task');
    assert.match(unknown.json.error.message, /no-such-task/);
  });

  it('502 worker_lost: the thread running the task died on every attempt', async () => {
    const lost = await caller.post('exit', { tag: 'exit-1' });
    assert.equal(lost.status, 502);
    assert.deepEqual(lost.json.error, { code: 'worker_lost', message: lost.json.error.message, attempts: 2 });
    assert.deepEqual(stack.events.of('exit-1', 'start').map((e) => e.attempt), [1, 2], 'the manager\'s maxAttempts');
  });

  it('504 expired: a task whose Sluice-Timeout-Ms passes while it waits behind another', async () => {
    const held = caller.post('hold', { tag: 'expire-hold' });
    await stack.events.until('expire-hold', 'start');
    const expired = await caller.post('echo', 1, { 'sluice-timeout-ms': '150' });
    assert.equal(expired.status, 504);
    assert.equal(expired.json.error.code, 'expired');
    await stack.events.release('expire-hold');
    assert.equal((await held).status, 200);
  });

  it('504 expired: a running task past its deadline is aborted — the handler sees its signal', async () => {
    const expired = await caller.post('slow', { ms: 10_000, tag: 'expire-running' }, { 'sluice-timeout-ms': '150' });
    assert.equal(expired.status, 504);
    assert.equal(expired.json.error.code, 'expired');
    await stack.events.until('expire-running', 'aborted');
    await stack.idle();
  });

  it('answers 500 internal for a result JSON cannot hold', async () => {
    const res = await caller.post('bigint', {});
    assert.equal(res.status, 500);
    assert.equal(res.json.error.code, 'internal');
  });

  it('includes the remote stack only with exposeStacks', async () => {
    const { caller: exposing } = await stack.front({ exposeStacks: true });
    const res = await exposing.post('boom', {});
    assert.equal(res.status, 500);
    assert.match(res.json.error.stack, /^TypeError: bad input\n/);
    assert.match(res.json.error.stack, /gateway-http-tasks\.js/, 'frames of the handler\'s module');
  });
});

describe('back pressure', () => {
  before(async () => {
    // A measured service time for `slow`: the manager's retry hints are estimates of queued work,
    // and only measured work gives a hint long enough to keep the busy gate closed while we look.
    await stack.client.run('slow', { ms: 300 });
  });

  /**
   * Occupies the one slot with a `hold` tagged `tag`, and queues `queued` slow tasks behind it, one
   * at a time so that the last one is the newest in the queue.
   */
  async function fill(caller: GatewayCaller, tag: string, queued: number): Promise<{ held: Promise<CallResult>; waiting: ReturnType<typeof leavable>[] }> {
    const held = caller.post('hold', { tag });
    await stack.events.until(tag, 'start');
    const waiting: ReturnType<typeof leavable>[] = [];
    for (let i = 0; i < queued; i++) {
      waiting.push(leavable(caller, 'slow', { ms: 300, tag: `${tag}-${i}` }));
      await until(() => stack.manager.snapshot().queued === i + 1);
    }
    return { held, waiting };
  }

  it('answers busy 503 with Retry-After rounded up from retryAfterMs, then refuses same and lower priorities locally until the gate reopens', async () => {
    const { caller } = await stack.front();
    const { held, waiting } = await fill(caller, 'bp-full', 8);
    const res = await caller.post('echo', 1);
    assert.equal(res.status, 503);
    assert.deepEqual(res.json.error, { code: 'busy', message: res.json.error.message, reason: 'full', retryAfterMs: res.json.error.retryAfterMs });
    const hint = res.json.error.retryAfterMs as number;
    assert.ok(hint >= 2_000, `eight queued tasks of ≥ 300 ms on one slot: hint ${hint} ms`);
    assert.equal(res.headers['retry-after'], String(Math.ceil(hint / 1000)));

    // The gate is now closed for a second (half the hint, capped): the client is not asked.
    const from = stack.client.calls.length;
    for (const priority of ['normal', 'low']) {
      const gated = await caller.post('echo', 1, { 'sluice-priority': priority });
      assert.equal(gated.status, 503);
      assert.equal(gated.json.error.reason, 'full');
      assert.ok(Number(gated.headers['retry-after']) >= 1);
    }
    assert.equal(stack.submitsSince(from).length, 0, 'gated requests never reach the client');

    // A higher priority may still displace queued work: it reaches the manager, which gives it
    // the place of the newest normal task — whose caller is answered 503 `displaced`.
    const high = caller.post('echo', { v: 'high' }, { 'sluice-priority': 'high' });
    const displaced = (await waiting[7]!.answer) as CallResult;
    assert.equal(displaced.status, 503);
    assert.equal(displaced.json.error.reason, 'displaced');
    for (const w of waiting.slice(0, 7)) w.leave();
    await until(() => stack.manager.snapshot().queued === 1, 5_000, 'only the high task queued');
    await stack.events.release('bp-full');
    assert.equal((await held).status, 200);
    assert.deepEqual((await high).json, { result: { v: 'high' } });
    await stack.idle();

    // Once half the hint has passed, the same request reaches the manager again and runs.
    await pollAsync(async () => (await caller.post('echo', 1, { 'sluice-priority': 'low' })).status === 200, 'the gate reopened', 3_000);
  });

  it('does not close the gate for a refusal about one task\'s deadline', async () => {
    const { caller } = await stack.front();
    const { held, waiting } = await fill(caller, 'bp-deadline', 1);
    // ~300 ms of queued work ahead of it on one slot: it cannot start within 100 ms.
    const refused = await caller.post('echo', 1, { 'sluice-timeout-ms': '100' });
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.reason, 'deadline');
    assert.equal(refused.headers['retry-after'], String(Math.max(1, Math.ceil(refused.json.error.retryAfterMs / 1000))));
    // The next request of the same priority still reaches the manager, which queues it.
    const next = caller.post('echo', { v: 'next' });
    await until(() => stack.manager.snapshot().queued === 2, 5_000, 'the next request queued');
    waiting[0]!.leave();
    await stack.events.release('bp-deadline');
    assert.equal((await held).status, 200);
    assert.deepEqual((await next).json, { result: { v: 'next' } });
    await stack.idle();
  });

  it('bounds waiting requests: past maxPending, 503 gateway_full at once without touching the client', async () => {
    const { caller, gateway } = await stack.front({ maxPending: 2 });
    const from = stack.client.calls.length;
    const held = [caller.post('hold', { tag: 'pending-1' }), caller.post('hold', { tag: 'pending-2' })];
    await until(() => gateway.pending === 2);
    const res = await caller.post('echo', 3);
    assert.equal(res.status, 503);
    assert.equal(res.json.error.reason, 'gateway_full');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(stack.submitsSince(from).length, 2, 'only the two holds were submitted');
    await stack.events.release('pending-1', 'done');
    await stack.events.release('pending-2', 'done');
    assert.deepEqual((await Promise.all(held)).map((r) => r.json), [{ result: 'done' }, { result: 'done' }]);
    assert.equal(gateway.pending, 0);
  });

  it('answers 503 no_manager once the client has lost its manager', async () => {
    const lonely = await GatewayStack.start({ noWorker: true });
    try {
      const { caller } = await lonely.front();
      await lonely.manager.close();
      await until(() => !lonely.client.connected, 5_000, 'the client saw its manager go');
      const from = lonely.client.calls.length;
      const res = await caller.post('echo', 1);
      assert.equal(res.status, 503);
      assert.equal(res.json.error.reason, 'no_manager');
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(lonely.client.calls.length, from);
    } finally {
      await lonely.close();
    }
  });
});

describe('callers that leave', () => {
  let caller: GatewayCaller;
  let gateway: Gateway;
  before(async () => {
    ({ caller, gateway } = await stack.front());
  });

  it('a caller that disconnects aborts its running task: the handler sees its signal', async () => {
    const call = leavable(caller, 'hold', { tag: 'gone-running' });
    await stack.events.until('gone-running', 'start');
    call.leave();
    await call.answer;
    await stack.events.until('gone-running', 'aborted');
    await stack.idle();
    await until(() => gateway.pending === 0);
  });

  it('a caller that disconnects while its task is queued removes it: it never runs', async () => {
    const held = caller.post('hold', { tag: 'gone-blocker' });
    await stack.events.until('gone-blocker', 'start');
    const call = leavable(caller, 'hold', { tag: 'gone-queued' });
    await until(() => stack.manager.snapshot().queued === 1);
    call.leave();
    await call.answer;
    await until(() => stack.manager.snapshot().queued === 0, 5_000, 'the queue emptied');
    await stack.events.release('gone-blocker');
    assert.equal((await held).status, 200);
    await stack.idle();
    assert.deepEqual(stack.events.of('gone-queued'), [], 'the queued task never started');
    assert.equal(gateway.pending, 0);
  });
});

// The synchronous route over real HTTP on loopback, with a scripted client behind the gateway:
// headers, bodies, the error mapping, the busy gate, the pending bound and caller disconnects.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClient } from './fake-client.test-helpers.js';
import { startGateway, type Gateway } from './gateway.js';
import { GatewayCaller } from './http-caller.test-helpers.js';
import type { GatewayOptions } from './options.js';

const open: { gateway: Gateway; caller: GatewayCaller }[] = [];

async function start(options: Partial<GatewayOptions> = {}): Promise<{ gateway: Gateway; caller: GatewayCaller; client: FakeClient }> {
  const client = (options.client as FakeClient | undefined) ?? new FakeClient();
  const gateway = await startGateway({ port: 0, ...options, client });
  const caller = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`);
  open.push({ gateway, caller });
  return { gateway, caller, client };
}

/** Polls `condition` every 5 ms, at most `ms`. */
async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

after(async () => {
  for (const { gateway, caller } of open) {
    assert.deepEqual(caller.undeclared(), [], 'every (route, status) seen is declared in openapi.json');
    await caller.close();
    await gateway.close();
  }
});

describe('POST /v1/tasks/{name} (synchronous)', () => {
  let caller: GatewayCaller;
  let client: FakeClient;
  before(async () => {
    ({ caller, client } = await start());
  });

  it('answers 200 {"result"} with the task result and passes the controls on', async () => {
    const res = await caller.post('echo', { hello: 'world' }, { 'sluice-priority': 'high', 'sluice-timeout-ms': '2000' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: { hello: 'world' } });
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.ok(res.headers['x-request-id']);
    const call = client.calls.at(-1)!;
    assert.deepEqual(call.args, { hello: 'world' });
    assert.equal(call.options.priority, 8);
    assert.equal(call.options.timeoutMs, 2000);
    assert.equal(call.options.retry, false, 'the gateway never retries busy on the caller\'s behalf');
  });

  it('uses normal priority and the default timeout when no header says otherwise', async () => {
    const res = await caller.post('echo', [1, 2]);
    assert.equal(res.status, 200);
    const call = client.calls.at(-1)!;
    assert.equal(call.options.priority, 5);
    assert.equal(call.options.timeoutMs, 60_000);
  });

  it('accepts low, digit priorities and a caller request id', async () => {
    await caller.post('echo', 1, { 'sluice-priority': 'low' });
    assert.equal(client.calls.at(-1)!.options.priority, 2);
    const res = await caller.post('echo', 1, { 'sluice-priority': '7', 'x-request-id': 'trace-42' });
    assert.equal(client.calls.at(-1)!.options.priority, 7);
    assert.equal(res.headers['x-request-id'], 'trace-42');
  });

  it('runs a task without a body with undefined args (answered as null)', async () => {
    const res = await caller.call('POST', '/v1/tasks/echo');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: null });
    assert.equal(client.calls.at(-1)!.args, undefined);
  });

  it('decodes percent-encoded task names', async () => {
    await caller.post('my task/α', 1);
    assert.equal(client.calls.at(-1)!.name, 'my task/α');
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
      const before = client.calls.length;
      const res = await caller.post('echo', 1, { [header]: value });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.code, 'invalid_header');
      assert.match(res.json.error.message, new RegExp(header, 'i'), 'the message names the header');
      assert.equal(client.calls.length, before, 'nothing was submitted');
    });
  }

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const res = await caller.post('echo', '{"a":', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'invalid_json');
  });

  it('answers 415 for a body that is not declared JSON, and accepts +json types', async () => {
    const res = await caller.post('echo', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
    assert.equal(res.json.error.code, 'unsupported_media_type');
    const ok = await caller.post('echo', '{"a":1}', { 'content-type': 'application/vnd.api+json; charset=utf-8' });
    assert.equal(ok.status, 200);
  });

  it('answers 413 over the body limit, by Content-Length and by streaming, and closes the connection', async () => {
    const { caller: small, client: smallClient } = await start({ bodyLimitBytes: 64 });
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
    assert.equal(smallClient.calls.length, 0);
  });

  it('maps task errors to their status codes and bodies', async () => {
    const boom = await caller.post('boom', {});
    assert.equal(boom.status, 500);
    assert.deepEqual(boom.json, { error: { code: 'task_failed', message: 'bad input', name: 'TypeError' } });
    const unknown = await caller.post('unknown', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'unknown_task');
    const lost = await caller.post('lost', {});
    assert.equal(lost.status, 502);
    assert.deepEqual(lost.json.error, { code: 'worker_lost', message: lost.json.error.message, attempts: 3 });
    const expired = await caller.post('expire', {});
    assert.equal(expired.status, 504);
    assert.equal(expired.json.error.code, 'expired');
  });

  it('answers 500 internal for a result JSON cannot hold and for a non-client error', async () => {
    for (const name of ['bigint', 'throw']) {
      const res = await caller.post(name, {});
      assert.equal(res.status, 500);
      assert.equal(res.json.error.code, 'internal');
    }
  });

  it('includes the remote stack only with exposeStacks', async () => {
    const { caller: exposing } = await start({ exposeStacks: true });
    const res = await exposing.post('boom', {});
    assert.equal(res.status, 500);
    assert.match(res.json.error.stack, /at boom/);
  });
});

describe('back pressure', () => {
  it('answers busy 503 with Retry-After rounded up, then refuses lower priorities locally for a while', async () => {
    const { caller, client } = await start();
    const res = await caller.post('busy', { retryAfterMs: 1500, reason: 'full' });
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.deepEqual(res.json.error, { code: 'busy', message: res.json.error.message, reason: 'full', retryAfterMs: 1500 });
    const calls = client.calls.length;
    // Same or lower priority: answered by the gate, the client is not asked.
    const gated = await caller.post('echo', 1, { 'sluice-priority': 'low' });
    assert.equal(gated.status, 503);
    assert.equal(gated.json.error.reason, 'full');
    assert.ok(Number(gated.headers['retry-after']) >= 1);
    assert.equal(client.calls.length, calls);
    // Higher priority may still displace queued work: it goes through.
    const high = await caller.post('echo', 1, { 'sluice-priority': 'high' });
    assert.equal(high.status, 200);
  });

  it('does not close the gate for a refusal about one task\'s deadline', async () => {
    const { caller } = await start();
    assert.equal((await caller.post('busy', { retryAfterMs: 800, reason: 'deadline' })).status, 503);
    assert.equal((await caller.post('echo', 1)).status, 200);
  });

  it('rounds a small retry hint up to Retry-After: 1 and reopens the gate after half of it', async () => {
    const { caller } = await start();
    const res = await caller.post('busy', { retryAfterMs: 40, reason: 'latency' });
    assert.equal(res.headers['retry-after'], '1');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal((await caller.post('echo', 1)).status, 200);
  });

  it('bounds waiting requests: past maxPending, 503 at once without touching the client', async () => {
    const { caller, client, gateway } = await start({ maxPending: 2 });
    const held = [caller.post('hold', 1), caller.post('hold', 2)];
    await until(() => gateway.pending === 2);
    const res = await caller.post('echo', 3);
    assert.equal(res.status, 503);
    assert.equal(res.json.error.reason, 'gateway_full');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(client.calls.length, 2);
    for (const call of client.calls) call.resolve('done');
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200]);
    assert.equal(gateway.pending, 0);
  });

  it('answers 503 no_manager while the client has no connection', async () => {
    const { caller, client } = await start();
    client.connected = false;
    const res = await caller.post('echo', 1);
    assert.equal(res.status, 503);
    assert.equal(res.json.error.reason, 'no_manager');
    assert.equal(client.calls.length, 0);
  });

  it('cancels the task of a caller that disconnects', async () => {
    const { caller, client, gateway } = await start();
    const controller = new AbortController();
    const pending = caller.post('hold', 1, {}, controller.signal).catch((error: unknown) => error);
    await until(() => client.calls.length === 1);
    controller.abort();
    await pending;
    await until(() => client.calls[0]!.aborted !== undefined);
    assert.equal(client.calls[0]!.aborted, 'cancelled');
    await until(() => gateway.pending === 0);
  });
});

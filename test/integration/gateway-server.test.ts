// The server around the routes: API keys, health and metrics, OpenAPI, unknown routes, slow and
// hostile clients, shutdown and option validation. Real HTTP on loopback, in front of a real
// client, manager and worker node (in-process links, test/helpers/gateway-stack.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startGateway, type GatewayOptions } from '../../src/gateway/index.js';
import { GatewayCaller } from '../../src/gateway/http-caller.test-helpers.js';
import { GatewayStack, TASKS, pollAsync, until } from '../helpers/gateway-stack.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';

let stack: GatewayStack;
before(async () => {
  // Three slots: close() is watched with a short task, a stuck one and a job running at once.
  stack = await GatewayStack.start({ capacity: 3 });
});
after(() => stack.close());

/** Resolves with what the server wrote before it closed the socket, and how long that took. */
async function closedBy(socket: Socket): Promise<{ data: string; ms: number }> {
  const started = Date.now();
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => {});
  await once(socket, 'close');
  return { data, ms: Date.now() - started };
}

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-0123456789abcdef';

describe('API keys', () => {
  it('requires a matching bearer key on /v1 routes (401 otherwise) and scopes jobs to their key', async () => {
    const { caller } = await stack.front({ apiKeys: [KEY_A, KEY_B] });
    const from = stack.client.calls.length;
    const none = await caller.post('echo', 1);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'unauthorized');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const wrong = await caller.post('echo', 1, { authorization: `Bearer ${KEY_A}x` });
    assert.equal(wrong.status, 401);
    assert.equal((await caller.post('echo', 1, { authorization: `Basic ${KEY_A}` })).status, 401);
    assert.equal((await caller.call('GET', '/v1/jobs/x')).status, 401);
    assert.equal(stack.submitsSince(from).length, 0);

    const ok = await caller.post('tally', { tag: 'scoped' }, { authorization: `bearer ${KEY_A}`, prefer: 'respond-async', 'idempotency-key': 'job-1' });
    assert.equal(ok.status, 202);
    assert.equal(ok.json.id, 'job-1');
    await stack.events.until('scoped', 'start');
    const [taskId] = stack.events.of('scoped').map((e) => e.id);
    assert.match(taskId!, /^[0-9a-f]{12}:job-1$/, 'task ids are scoped by key');
    assert.equal((await caller.call('GET', '/v1/jobs/job-1', { headers: { authorization: `Bearer ${KEY_A}` } })).status, 200);
    const other = await caller.call('GET', '/v1/jobs/job-1', { headers: { authorization: `Bearer ${KEY_B}` } });
    assert.equal(other.status, 404, 'another key cannot see the job');
    // The same Idempotency-Key under another API key is another task, and runs again.
    const again = await caller.post('tally', { tag: 'scoped' }, { authorization: `Bearer ${KEY_B}`, 'idempotency-key': 'job-1' });
    assert.equal(again.status, 200);
    const ids = stack.events.of('scoped').map((e) => e.id);
    assert.equal(ids.length, 2);
    assert.notEqual(ids[1], ids[0]);
  });

  it('keeps health, readiness, metrics and the OpenAPI document open without a key', async () => {
    const { caller } = await stack.front({ apiKeys: [KEY_A] });
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      assert.equal((await caller.call('GET', path)).status, 200, path);
    }
  });
});

describe('health, metrics and the OpenAPI document', () => {
  it('answers /healthz, and /readyz from the readiness function', async () => {
    let ready = false;
    const { caller } = await stack.front({ readiness: () => ready });
    assert.deepEqual((await caller.call('GET', '/healthz')).json, { status: 'ok' });
    const notReady = await caller.call('GET', '/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.json.error.code, 'not_ready');
    ready = true;
    assert.deepEqual((await caller.call('GET', '/readyz')).json, { status: 'ready' });
  });

  it('defaults readiness to a connected manager whose status counts a worker', async () => {
    const lonely = await GatewayStack.start({ noWorker: true });
    let worker: WorkerNode | undefined;
    try {
      const { caller } = await lonely.front();
      assert.equal((await caller.call('GET', '/readyz')).status, 503, 'no worker yet');
      worker = await startWorker({ manager: lonely.manager, tasks: TASKS, capacity: 1, threads: 1 });
      await pollAsync(async () => (await caller.call('GET', '/readyz')).status === 200, 'ready once a worker joined');
      await lonely.manager.close();
      await until(() => !lonely.client.connected, 5_000, 'the client saw its manager go');
      assert.equal((await caller.call('GET', '/readyz')).status, 503);
    } finally {
      await worker?.close();
      await lonely.close();
    }
  });

  it('serves Prometheus metrics with response counts and extra metrics appended', async () => {
    const { caller, gateway } = await stack.front({ maxPending: 1, extraMetrics: () => 'sluice_manager_queued 3\n' });
    const held = caller.post('hold', { tag: 'metrics-hold' });
    await until(() => gateway.pending === 1);
    const full = await caller.post('echo', 1);
    assert.equal(full.json.error.reason, 'gateway_full');
    await stack.events.release('metrics-hold');
    assert.equal((await held).status, 200);
    const { text, headers } = await caller.call('GET', '/metrics');
    assert.match(String(headers['content-type']), /^text\/plain/);
    assert.match(text, /sluice_gateway_responses_total\{status="200"\} 1\n/);
    assert.match(text, /sluice_gateway_responses_total\{status="503"\} 1\n/);
    assert.match(text, /sluice_gateway_local_busy_total\{reason="gateway_full"\} 1\n/);
    assert.match(text, /sluice_gateway_pending 0\n/);
    assert.match(text, /sluice_manager_queued 3\n$/);
  });

  it('serves an OpenAPI 3.1 document', async () => {
    const { caller } = await stack.front();
    const res = await caller.call('GET', '/openapi.json');
    assert.equal(res.json.openapi, '3.1.0');
    assert.ok(res.json.paths['/v1/tasks/{name}'].post.responses['503'].headers['Retry-After']);
  });

  const external = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  it('refuses health and metrics to non-loopback callers unless publicHealth', { skip: external === undefined && 'no non-loopback interface' }, async () => {
    const address = external!.address;
    for (const publicHealth of [false, true]) {
      const { gateway } = await stack.front({ host: '0.0.0.0', publicHealth });
      const caller = new GatewayCaller(`http://${address}:${gateway.address.port}`);
      try {
        for (const path of ['/healthz', '/readyz', '/metrics']) {
          const res = await caller.call('GET', path);
          assert.equal(res.status, publicHealth ? 200 : 403, `${path} publicHealth=${publicHealth}`);
        }
        assert.deepEqual(caller.undeclared(), []);
      } finally {
        await caller.close();
      }
    }
  });
});

describe('routing', () => {
  it('answers unknown routes 404 and wrong methods 405 with Allow', async () => {
    const { gateway } = await stack.front();
    // Not recorded for the OpenAPI check: these are not API routes.
    const raw = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`);
    try {
      for (const path of ['/', '/v1/tasks/', '/v1/tasks/a/b', '/v2/tasks/echo', '/v1/jobs/']) {
        const res = await raw.call('GET', path);
        assert.equal(res.status, 404, path);
        assert.equal(res.json.error.code, 'not_found');
      }
      const wrong = await raw.call('GET', '/v1/tasks/echo');
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers['allow'], 'POST');
      assert.equal((await raw.call('PUT', '/v1/jobs/x')).headers['allow'], 'GET, DELETE');
      assert.equal((await raw.call('POST', '/healthz')).status, 405);
    } finally {
      await raw.close();
    }
  });
});

describe('slow and hostile clients', () => {
  it('closes a connection that sends its headers too slowly (slowloris)', async () => {
    const { gateway } = await stack.front({ headersTimeoutMs: 150, requestTimeoutMs: 300 });
    const from = stack.client.calls.length;
    const socket = tcpConnect(gateway.address.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /v1/tasks/echo HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => socket.write('X-Drip: 1\r\n'), 50); // never finishes the headers
    try {
      const { data, ms } = await closedBy(socket);
      assert.match(data, /^HTTP\/1\.1 408/);
      assert.ok(ms < 1_500, `closed after ${ms} ms`);
    } finally {
      clearInterval(timer);
    }
    assert.equal(stack.submitsSince(from).length, 0);
  });

  it('closes a connection that sends its body too slowly, without submitting anything', async () => {
    const { gateway } = await stack.front({ headersTimeoutMs: 100, requestTimeoutMs: 200 });
    const from = stack.client.calls.length;
    const socket = tcpConnect(gateway.address.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /v1/tasks/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[');
    const { ms } = await closedBy(socket);
    assert.ok(ms < 1_500, `closed after ${ms} ms`);
    assert.equal(stack.submitsSince(from).length, 0, 'a slow body never holds a worker slot');
    assert.equal(gateway.pending, 0);
  });

  it('does not cut off a request whose task runs longer than the request timeout', async () => {
    const { caller } = await stack.front({ headersTimeoutMs: 50, requestTimeoutMs: 100 });
    const res = await caller.post('slow', { ms: 300 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { result: { slept: 300 } });
  });

  it('closes a keep-alive connection after maxRequestsPerSocket requests', async () => {
    const { gateway } = await stack.front({ maxRequestsPerSocket: 2 });
    const socket = tcpConnect(gateway.address.port, '127.0.0.1');
    await once(socket, 'connect');
    const request = 'POST /v1/tasks/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\n\r\n1';
    socket.write(request + request);
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    await until(() => data.split('{"result":1}').length === 3);
    socket.destroy();
    const answers = data.split('HTTP/1.1 ').slice(1);
    assert.equal(answers.length, 2);
    assert.match(answers[0]!, /^200 [\s\S]*Connection: keep-alive/);
    assert.match(answers[1]!, /^200 [\s\S]*Connection: close/);
  });
});

describe('close()', () => {
  it('lets requests in flight finish within the grace period, then cancels their tasks with 503', async () => {
    const client = await stack.connect();
    const gateway = await startGateway({ client, port: 0, closeGraceMs: 100, ownClient: true });
    const caller = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`);
    try {
      const quick = caller.post('slow', { ms: 20 });
      const stuck = caller.post('hold', { tag: 'close-stuck' });
      const job = await caller.post('hold', { tag: 'close-job' }, { prefer: 'respond-async' });
      assert.equal(job.status, 202);
      await until(() => gateway.pending === 2);
      await stack.events.until('close-stuck', 'start');
      await stack.events.until('close-job', 'start');
      const closing = gateway.close();
      assert.equal(gateway.close(), closing, 'idempotent');
      assert.equal((await quick).status, 200);
      const res = await stuck;
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, 'unavailable');
      await closing;
      await stack.events.until('close-stuck', 'aborted');
      await stack.events.until('close-job', 'aborted');
      assert.equal(client.closes, 1, 'ownClient: the client is closed too');
      assert.equal(client.connected, false);
      await assert.rejects(caller.post('echo', 1));
      assert.deepEqual(caller.undeclared(), []);
      await stack.idle();
    } finally {
      await caller.close();
    }
  });

  it('does not close a client it does not own', async () => {
    const gateway = await startGateway({ client: stack.client, port: 0 });
    await gateway.close();
    assert.equal(stack.client.closes, 0);
    assert.equal(await stack.client.run('echo', 'still here'), 'still here');
  });
});

describe('options', () => {
  for (const [options, message] of [
    [{ client: undefined }, /`client`/],
    [{ port: -1 }, /`port` to be an integer from 0 to 65535, got -1 \(number\)/],
    [{ maxPending: 0 }, /`maxPending`/],
    [{ apiKeys: [] }, /`apiKeys` to be a non-empty array/],
    [{ apiKeys: ['short'] }, /`apiKeys\[0\]`/],
    [{ apiKeys: ['with space 0123456789'] }, /`apiKeys\[0\]`/],
    [{ jobs: { ttlMs: 0 } }, /`jobs.ttlMs`/],
    [{ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }, /`headersTimeoutMs` \(5000\) to be at most `requestTimeoutMs` \(1000\)/],
    [{ exposeStacks: 'yes' }, /`exposeStacks` to be a boolean/],
    [{ readiness: true }, /`readiness` to be a function/],
  ] as const) {
    it(`rejects ${JSON.stringify(options)}`, async () => {
      await assert.rejects(startGateway({ client: stack.client, port: 0, ...(options as object) } as GatewayOptions), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid_argument');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('rejects when the port is taken', async () => {
    const { gateway: first } = await stack.front();
    await assert.rejects(startGateway({ client: stack.client, port: first.address.port }), /EADDRINUSE/);
  });
});

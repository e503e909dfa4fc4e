// The gateway as any HTTP client sees it: `curl` (spawned for real) gets a 200 with the task's
// result, and a 503 with Retry-After when the manager's queue is full.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../../src/client/index.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { startManager, type Manager } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';

const run = promisify(execFile);
const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-tasks.js', import.meta.url));
const curlMissing = await run('curl', ['--version']).then(() => false, () => true);

interface CurlAnswer { status: number; headers: Map<string, string>; body: string }

/** `curl -i`: parses the status line, headers and body of the (last) response. */
async function curl(args: string[]): Promise<CurlAnswer> {
  const { stdout } = await run('curl', ['-s', '-i', '--max-time', '10', ...args]);
  const split = stdout.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = stdout.slice(0, split).split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: stdout.slice(split + 4) };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('curl against the gateway', { skip: curlMissing && 'curl is not installed' }, () => {
  let manager: Manager;
  let worker: WorkerNode;
  let gateway: Gateway;
  let url: string;

  before(async () => {
    // One slot and a queue of one: a third concurrent task cannot be taken.
    manager = await startManager({ port: 0, maxQueue: 1 });
    const address = `127.0.0.1:${manager.address.port}`;
    // No prefetch: filling the queue takes one task per slot and queue place, none held.
    worker = await startWorker({ manager: address, tasks: TASKS, capacity: 1, prefetch: 0 });
    await until(() => manager.snapshot().workers.length === 1);
    gateway = await startGateway({ client: await connect({ manager: address }), ownClient: true, port: 0 });
    url = `http://127.0.0.1:${gateway.address.port}`;
  });

  after(async () => {
    await gateway.close();
    await worker.close();
    await manager.close();
  });

  it('gets 200 and the result', async () => {
    const res = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"hello":"curl"}', `${url}/v1/tasks/echo`]);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { result: { hello: 'curl' } });
  });

  it('gets 503 with Retry-After when the queue is full', async () => {
    const post = (): Promise<Response> =>
      fetch(`${url}/v1/tasks/sleep`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":500}' });
    const held = [post(), post()];
    await until(() => manager.snapshot().running === 1 && manager.snapshot().queued === 1);
    const res = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"ms":1}', `${url}/v1/tasks/sleep`]);
    assert.equal(res.status, 503);
    assert.match(res.headers.get('retry-after')!, /^[1-9]\d*$/);
    const body = JSON.parse(res.body) as { error: { code: string; retryAfterMs: number } };
    assert.equal(body.error.code, 'busy');
    assert.equal(Number(res.headers.get('retry-after')), Math.max(1, Math.ceil(body.error.retryAfterMs / 1000)));
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200]);
  });
});

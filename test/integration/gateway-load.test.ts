// A burst far over capacity through the gateway, end to end (real manager, worker threads,
// client, HTTP over loopback): only 200s and 503s with Retry-After come back, the 200s stay under
// the manager's latency target, and the gateway's memory stays flat across bursts.
//
// Latency is measured against `sluice dev --http-port` in its own process, as users run it: in
// one process the HTTP caller would share the gateway's event loop and its own cost would count
// as queueing. Memory is measured in-process, where the heap can be collected and read exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, type Client } from '../../src/client/index.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { GatewayCaller, type CallResult } from '../../src/gateway/http-caller.test-helpers.js';
import { startManager, type Manager } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';
import { startDevProcess, type SluiceProcess } from '../helpers/processes.js';

const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-tasks.js', import.meta.url));
const MAX_LATENCY_MS = 400;
const SERVICE_MS = 10;
const SLOTS = 2;
const BURST = 600;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function burst(caller: GatewayCaller, settled: () => boolean): Promise<CallResult[]> {
  const results = await Promise.all(Array.from({ length: BURST }, () => caller.post('sleep', { ms: SERVICE_MS })));
  await until(settled);
  return results;
}

/**
 * Opens the burst's keep-alive connections, as a load balancer in front of a gateway holds them,
 * so the burst measures requests rather than 600 TCP handshakes at once; then lets the manager
 * measure the service time, so its Little's-law bound applies.
 */
async function warmUp(caller: GatewayCaller): Promise<void> {
  await Promise.all(Array.from({ length: BURST }, () => caller.call('GET', '/healthz')));
  for (let i = 0; i < 10; i++) {
    await Promise.all(Array.from({ length: SLOTS }, () => caller.post('sleep', { ms: SERVICE_MS })));
  }
}

describe('a burst far over capacity against sluice dev --http-port', () => {
  let dev: SluiceProcess;
  let caller: GatewayCaller;

  before(async () => {
    const started = await startDevProcess(TASKS, [
      '--capacity', String(SLOTS), '--max-latency', String(MAX_LATENCY_MS), '--max-queue', '10000', '--log-level', 'info',
    ]);
    dev = started.proc;
    caller = new GatewayCaller(`http://127.0.0.1:${started.httpPort}`, {}, BURST);
    await warmUp(caller);
  });

  after(async () => {
    assert.deepEqual(caller.undeclared(), []);
    await caller.close();
    await dev.stop();
  });

  it('answers only 200 or 503 + Retry-After, and the 200s within the latency target', async () => {
    const results = await burst(caller, () => true);
    const ok = results.filter((r) => r.status === 200);
    const busy = results.filter((r) => r.status === 503);
    assert.equal(ok.length + busy.length, BURST, `statuses: ${[...new Set(results.map((r) => r.status))].join(', ')}`);
    assert.ok(ok.length >= SLOTS, `${ok.length} answered 200`);
    assert.ok(busy.length > BURST / 2, `${busy.length} answered 503: far over capacity, most are refused at once`);
    for (const r of busy) {
      assert.equal(r.json.error.code, 'busy');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    }
    const worst = Math.max(...ok.map((r) => r.ms));
    // Taking in 600 requests at once costs the gateway's event loop time of its own before any
    // reaches the queue; the slowest refusal, which never waits in the queue, measures it.
    const ingest = Math.max(...busy.map((r) => r.ms));
    // Queue wait is bounded by the target; add the ingest, one service time and HTTP overhead.
    assert.ok(
      worst < MAX_LATENCY_MS + ingest + SERVICE_MS + 100,
      `slowest 200 took ${Math.round(worst)} ms: over ${MAX_LATENCY_MS} ms target + ${Math.round(ingest)} ms ingest (${ok.length} × 200)`,
    );
    const medianRefusal = busy.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(busy.length / 2)]!;
    assert.ok(medianRefusal < MAX_LATENCY_MS, `median 503 took ${Math.round(medianRefusal)} ms: refusals are immediate`);
  });
});

describe('a burst far over capacity, in one process', () => {
  let manager: Manager;
  let worker: WorkerNode;
  let client: Client;
  let gateway: Gateway;
  let caller: GatewayCaller;

  before(async () => {
    manager = await startManager({ port: 0, maxQueue: 10_000, maxLatencyMs: MAX_LATENCY_MS });
    const address = `127.0.0.1:${manager.address.port}`;
    worker = await startWorker({ manager: address, tasks: TASKS, capacity: SLOTS });
    await until(() => manager.snapshot().workers.length === 1);
    client = await connect({ manager: address });
    gateway = await startGateway({ client, ownClient: true, port: 0 });
    caller = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`, {}, BURST);
    await warmUp(caller);
  });

  after(async () => {
    assert.deepEqual(caller.undeclared(), []);
    await caller.close();
    await gateway.close();
    await worker.close();
    await manager.close();
  });

  const settled = (): boolean => gateway.pending === 0 && manager.snapshot().running === 0 && manager.snapshot().queued === 0;

  it('keeps the gateway\'s memory flat across bursts', async () => {
    await burst(caller, settled);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3; i++) await burst(caller, settled);
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MiB over ${3 * BURST} requests`);
    assert.equal(gateway.pending, 0);
    assert.equal(client.inFlight, 0);
  });
});

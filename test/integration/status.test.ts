// The manager's status against a known workload, read over TCP by a client: one-shot snapshots,
// the watch subscription, and fill alerts raised and cleared with their log events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type AlertEvent, type Client, type StatusSnapshot } from '../../src/index.js';
import { startManager, type Manager } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';
import type { Logger } from '../../src/core/logger.js';

const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-tasks.js', import.meta.url));

async function until(condition: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Records what the manager logs, as pino would receive it. */
function recordingLogger(): Logger & { lines: Array<{ level: string; obj: object | string; msg?: string }> } {
  const lines: Array<{ level: string; obj: object | string; msg?: string }> = [];
  const at = (level: string) => (obj: object | string, msg?: string): void => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('manager status', () => {
  let manager: Manager;
  let worker: WorkerNode;
  let client: Client;
  const logger = recordingLogger();

  before(async () => {
    manager = await startManager({ port: 0, maxQueue: 10, statusIntervalMs: 100, logger });
    worker = await startWorker({ manager: `127.0.0.1:${manager.address.port}`, tasks: TASKS, capacity: 2, threads: 1, prefetch: 0, name: 'node-a' });
    await until(() => manager.snapshot().workers.length === 1);
    client = await connect({ manager: `127.0.0.1:${manager.address.port}` });
  });

  after(async () => {
    await client.close();
    await worker.close();
    await manager.close();
  });

  it('counts a known workload: completions, failures, per-task percentiles, workers', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.run('echo', i)));
    await Promise.all(Array.from({ length: 2 }, () => client.run('boom', {}).catch(() => undefined)));
    // Percentiles and rates come from the status tick: wait for one after the work ended.
    let s: StatusSnapshot = await client.status();
    for (let i = 0; i < 100 && (s.tasks.find((t) => t.name === 'echo')?.completed !== 10 || s.tasks.find((t) => t.name === 'boom')?.failed !== 2); i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = await client.status();
    }
    assert.equal(s.managerId, manager.managerId);
    assert.equal(s.totals.admitted, 12);
    assert.equal(s.totals.completed, 10);
    assert.equal(s.totals.failed, 2);
    assert.deepEqual(s.totals.rejected, { full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0 });
    const echo = s.tasks.find((t) => t.name === 'echo');
    const boom = s.tasks.find((t) => t.name === 'boom');
    assert.equal(echo?.completed, 10);
    assert.equal(boom?.failed, 2);
    assert.ok(echo.serviceMs.p50 > 0 && echo.serviceMs.p50 <= echo.serviceMs.p99 && echo.serviceMs.p99 <= echo.serviceMs.p999);
    assert.ok(echo.waitMs.p50 > 0);
    assert.deepEqual(s.capacity, { slots: 2, busy: 0, workers: 1 });
    assert.equal(s.workers[0]?.name, 'node-a');
    assert.equal(s.workers[0]?.capacity, 2);
    assert.ok(s.workers[0]!.connectedSince <= Date.now());
    assert.deepEqual(s.queue, { depth: { high: 0, normal: 0, low: 0 }, total: 0, bound: 10, boundReason: 'cap', cap: 10, fill: 0, alertAt: { warning: 0.7, critical: 0.9 } });
    assert.equal(s.healthy, true);
  });

  it('streams snapshots to watchers and raises then clears the fill alert with hysteresis', async () => {
    const snapshots: StatusSnapshot[] = [];
    const alerts: AlertEvent[] = [];
    // The previous test's burst may have crossed the threshold at a tick: start from a healthy
    // manager and count this test's alerts and logs only.
    let firstLog = logger.lines.length;
    const logs = (): typeof logger.lines => logger.lines.slice(firstLog);
    client.on('status', (s) => snapshots.push(s));
    client.on('alert', (e) => alerts.push(e));
    const stop = client.watchStatus();
    try {
      await until(() => snapshots.length >= 2, 5_000, 'two ticks');
      await until(() => snapshots.at(-1)!.healthy, 5_000, 'healthy before the burst');
      alerts.length = 0;
      firstLog = logger.lines.length;
      // Two sleepers take both slots; eight more fill the queue to 80%: over 70%, under 90%.
      const controller = new AbortController();
      const sleepers = Array.from({ length: 10 }, (_, i) => client.run('sleep', { ms: 20_000, tag: `s${i}` }, { signal: controller.signal }).catch(() => undefined));
      await until(() => alerts.length >= 1, 5_000, 'an alert');
      assert.equal(alerts[0]!.change, 'raised');
      assert.deepEqual({ kind: alerts[0]!.alert.kind, level: alerts[0]!.alert.level, value: alerts[0]!.alert.value, threshold: alerts[0]!.alert.threshold }, { kind: 'fill', level: 'warning', value: 0.8, threshold: 0.7 });
      await until(() => snapshots.at(-1)!.alerts.length === 1, 5_000, 'a snapshot with the alert');
      const during = snapshots.at(-1)!;
      assert.equal(during.healthy, false);
      assert.equal(during.queue.total, 8);
      assert.equal(during.queue.fill, 0.8);
      assert.equal(during.rates.rejected.full, 0);
      const raisedLogs = logs().filter((l) => typeof l.obj === 'object' && (l.obj as { event?: string }).event === 'alert_raised');
      assert.equal(raisedLogs.length, 1, 'one log event for the raise');
      assert.equal(raisedLogs[0]!.level, 'warn');
      const status = await client.status();
      assert.equal(status.healthy, false);
      controller.abort();
      await Promise.all(sleepers);
      await until(() => alerts.length >= 2, 5_000, 'the clearing event');
      assert.equal(alerts[1]!.change, 'cleared');
      assert.equal(alerts[1]!.alert.kind, 'fill');
      assert.equal(alerts.length, 2, 'no critical alert at 80% and no flapping');
      assert.equal(logs().filter((l) => typeof l.obj === 'object' && (l.obj as { event?: string }).event === 'alert_cleared').length, 1);
      await until(() => snapshots.at(-1)!.healthy, 5_000, 'healthy again');
    } finally {
      stop();
      client.removeAllListeners('status');
      client.removeAllListeners('alert');
    }
  });
});

describe('manager status with its own alert thresholds', () => {
  it('says the configured fill thresholds in every snapshot', async () => {
    const manager = await startManager({ port: 0, statusIntervalMs: 100, logger: recordingLogger(), alerts: { fillWarning: 0.6, fillCritical: 0.85 } });
    try {
      const client = await connect({ manager: `127.0.0.1:${manager.address.port}` });
      try {
        assert.deepEqual((await client.status()).queue.alertAt, { warning: 0.6, critical: 0.85 });
      } finally {
        await client.close();
      }
    } finally {
      await manager.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DRIFT, resolveFillThresholds } from '../core/watch/alarms.js';
import type { Logger } from '../core/logger.js';
import type { Alert, Status } from '../protocol/messages.js';
import { Measures } from './measures.js';
import { ManagerStats } from './stats.js';
import type { LiveFigures } from './status.js';
import { StatusWatch } from './watch.js';

/** A StatusWatch driven tick by tick: the queue depth and the recorded times are the test's. */
function harness() {
  const stats = new ManagerStats();
  const measures = new Measures();
  const sent: Array<Status | Alert> = [];
  const logs: Array<{ level: string; obj: unknown }> = [];
  const at = (level: string) => (obj: object | string): void => void logs.push({ level, obj });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  let queued = 0;
  const live = (): LiveFigures => ({
    time: 0, managerId: 'm', uptimeMs: 0, maxLatencyMs: undefined, queuedByPriority: [0, 0, 0, 0, 0, queued, 0, 0, 0, 0],
    bound: 100, boundReason: 'max_queue', cap: 100, fillAlertAt: { warning: 0.7, critical: 0.9 }, slots: 4, busy: 0, workers: [], stats,
  });
  const watch = new StatusWatch({
    intervalMs: 1_000, fill: resolveFillThresholds(), drift: { ...DEFAULT_DRIFT, warmup: 10 }, logger, stats, measures, live,
    broadcast: (m) => void sent.push(m), watched: () => true,
  });
  return { watch, stats, measures, sent, logs, setQueued: (n: number) => (queued = n) };
}

const alerts = (sent: Array<Status | Alert>): string[] => sent.filter((m): m is Alert => m.type === 'alert').map((m) => `${m.event.change} ${m.event.alert.kind} ${m.event.alert.level}${m.event.alert.task ? ` ${m.event.alert.task}` : ''}`);

describe('StatusWatch', () => {
  it('raises warning then critical as the queue fills, and clears each below its band', () => {
    const h = harness();
    let t = 0;
    for (const queued of [10, 72, 85, 91, 95, 85, 81, 79, 65, 59]) {
      h.setQueued(queued);
      h.watch.tick(t += 1_000);
    }
    assert.deepEqual(alerts(h.sent), ['raised fill warning', 'raised fill critical', 'cleared fill critical', 'cleared fill warning']);
    assert.equal(h.watch.raisedCounts.get('fill|warning'), 1);
    assert.equal(h.watch.raisedCounts.get('fill|critical'), 1);
    assert.deepEqual(h.logs.filter((l) => l.level === 'warn').map((l) => (l.obj as { event: string }).event), ['alert_raised', 'alert_raised']);
    assert.deepEqual(h.logs.filter((l) => l.level === 'info').map((l) => (l.obj as { event: string }).event), ['alert_cleared', 'alert_cleared']);
    const statuses = h.sent.filter((m): m is Status => m.type === 'status');
    assert.equal(statuses.length, 10, 'one status per tick');
    assert.deepEqual(statuses[4]!.snapshot.alerts.map((a) => a.level), ['warning', 'critical']);
    assert.equal(statuses[4]!.snapshot.healthy, false);
    assert.equal(statuses[9]!.snapshot.healthy, true);
    h.measures.destroy();
  });

  it('raises a service-time alert when a task slows to over twice its norm, once, and clears it', () => {
    const h = harness();
    const task = h.measures.forTask('resize');
    let t = 0;
    const second = (ms: number): void => {
      for (let i = 0; i < 30; i++) task.service.record(ms);
      h.watch.tick(t += 1_000);
    };
    for (let i = 0; i < 30; i++) second(10);
    assert.deepEqual(alerts(h.sent), []);
    for (let i = 0; i < 15; i++) second(50);
    assert.deepEqual(alerts(h.sent), ['raised service_time warning resize']);
    const raised = h.sent.find((m): m is Alert => m.type === 'alert')!.event.alert;
    assert.ok(raised.value > 20 && raised.threshold >= 20 && raised.threshold < 30, `value ${raised.value}, threshold ${raised.threshold}`);
    assert.match(raised.message, /resize/);
    // Back to normal: once the 10 s window holds only fast samples again, the alert clears.
    for (let i = 0; i < 12; i++) second(10);
    assert.deepEqual(alerts(h.sent), ['raised service_time warning resize', 'cleared service_time warning resize']);
    const last = h.sent.filter((m): m is Status => m.type === 'status').at(-1)!.snapshot;
    assert.equal(last.tasks[0]!.name, 'resize');
    assert.ok(Math.abs(last.tasks[0]!.serviceMs.p50 - 10) < 0.2, `p50 ${last.tasks[0]!.serviceMs.p50}`);
    h.measures.destroy();
  });
});

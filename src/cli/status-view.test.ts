import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatusSnapshot } from '../protocol/status.js';
import { formatStatus } from './status-view.js';

const zero = { full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0 };
const snapshot: StatusSnapshot = {
  time: 1_000_000, managerId: 'm-1', uptimeMs: 125_000, maxLatencyMs: 500,
  queue: { depth: { high: 1, normal: 6, low: 1 }, total: 8, bound: 10, boundReason: 'latency', cap: 100, fill: 0.8, alertAt: { warning: 0.7, critical: 0.9 } },
  capacity: { slots: 4, busy: 4, workers: 1 },
  totals: { admitted: 50, completed: 40, failed: 2, expired: 0, cancelled: 0, retried: 1, workerLost: 0, rejected: { ...zero, full: 7 } },
  rates: { admitted: 12.5, completed: 10, failed: 0, rejected: { ...zero, latency: 3 } },
  tasks: [{ name: 'resize', completed: 40, failed: 2, waitMs: { p50: 1.5, p90: 3, p99: 9.25, p999: 12 }, serviceMs: { p50: 20, p90: 30, p99: 45.5, p999: 50 } }],
  workers: [{ id: 'w-1', name: 'node-a', capacity: 4, busy: 4, recentServiceMs: 21.3, connectedSince: 1_000_000 - 65_000 }],
  alerts: [{ kind: 'fill', level: 'warning', since: 1_000_000 - 3_000, value: 0.8, threshold: 0.7, message: 'Queue 80% full' }],
  healthy: false,
};

describe('formatStatus', () => {
  it('shows state, queue, rates, tasks, workers and alerts', () => {
    const text = formatStatus(snapshot);
    assert.match(text, /^sluice manager m-1 {2}up 2m 5s {2}ALERTING \(1\)$/m);
    assert.match(text, /8 queued \/ bound 10 \(latency; cap 100\) {2}fill \[#{16}\.{4}\] 80%/);
    assert.match(text, /rejected latency 3$/m);
    assert.match(text, /rejected full 7$/m);
    assert.match(text, /^resize {2}.*40 .*2 .*1\.50 ms .*9\.25 ms .*20 ms .*45\.5 ms$/m);
    assert.match(text, /^node-a \(w-1\) .*4 .*4 .*21\.3 ms .*1m 5s ago$/m);
    assert.match(text, /^fill .*WARNING .*3s ago .*Queue 80% full$/m);
  });

  it('says so when nothing ran and no worker is connected', () => {
    const text = formatStatus({ ...snapshot, tasks: [], workers: [], alerts: [], healthy: true });
    assert.match(text, /HEALTHY/);
    assert.match(text, /no tasks run yet/);
    assert.match(text, /no worker nodes connected/);
    assert.doesNotMatch(text, /ALERT/);
  });
});

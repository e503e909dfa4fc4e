// Watching the queue through the gateway, against a known workload: Prometheus metrics parsed by
// a real exposition-format parser, GET /v1/status, and the server-sent event stream under an
// overload that crosses the 70% fill threshold and back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { request } from 'undici';
import type { AlertEvent, StatusSnapshot } from '../../src/index.js';
import type { GatewayCaller } from '../../src/gateway/http-caller.test-helpers.js';
import { GatewayStack, pollAsync, until } from '../helpers/gateway-stack.js';

let stack: GatewayStack;
let caller: GatewayCaller;
let base: string;

before(async () => {
  stack = await GatewayStack.start({ capacity: 2, manager: { maxQueue: 10, statusIntervalMs: 200 } });
  const front = await stack.front({ extraMetrics: () => stack.manager.metrics(), processMetrics: true });
  caller = front.caller;
  base = `http://127.0.0.1:${front.gateway.address.port}`;
});
after(() => stack.close());

interface Family { name: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }> }

/**
 * The parser merges every labelled series of a histogram into one (it keys buckets by `le`
 * alone) and drops `_sum` and `_count` of labelled series, so histogram series are parsed one
 * task at a time (the other tasks' lines left out) and counted by their `+Inf` bucket.
 */
function parseFor(text: string, task?: string): Family[] {
  const lines = task === undefined ? text.split('\n') : text.split('\n').filter((l) => !/^sluice_task_\w+_seconds/.test(l) || l.includes(`task="${task}"`));
  return parsePrometheus(lines.join('\n')) as Family[];
}

function family(families: Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `metric ${name} is exported`);
  return f;
}

function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const sample = family(families, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(sample, `${name}${JSON.stringify(labels)} has a sample`);
  return Number(sample.value);
}

/** Reads server-sent events from a stream until `enough` says stop (bounded by time). */
async function readEvents(path: string, enough: (events: Array<{ event: string; data: unknown }>) => boolean, ms = 10_000): Promise<Array<{ event: string; data: unknown }>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('no such events in time')), ms);
  const events: Array<{ event: string; data: unknown }> = [];
  try {
    const res = await request(`${base}${path}`, { signal: controller.signal });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    caller.seen.add(`GET ${path} ${res.statusCode}`);
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += (chunk as Buffer).toString();
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      if (enough(events)) break;
    }
    res.body.destroy();
    return events;
  } finally {
    clearTimeout(timer);
  }
}

describe('watching the queue through the gateway', () => {
  it('exports Prometheus metrics that count a known workload', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await caller.post('echo', i)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await caller.post('boom', { message: 'no' })).status, 500);
    const res = await caller.call('GET', '/metrics');
    assert.equal(res.status, 200);
    const all = parseFor(res.text);
    const types = Object.fromEntries(all.map((f) => [f.name, f.type]));
    for (const name of Object.keys(types)) assert.match(name, /^sluice_/, 'every name is prefixed');
    assert.deepEqual({
      admitted: types['sluice_tasks_admitted_total'], rejected: types['sluice_tasks_rejected_total'], completed: types['sluice_tasks_completed_total'],
      depth: types['sluice_queue_depth'], fill: types['sluice_queue_fill_ratio'], wait: types['sluice_task_wait_seconds'], service: types['sluice_task_service_seconds'],
      responses: types['sluice_gateway_responses_total'], alerts: types['sluice_alerts_total'],
    }, {
      admitted: 'COUNTER', rejected: 'COUNTER', completed: 'COUNTER', depth: 'GAUGE', fill: 'GAUGE', wait: 'HISTOGRAM', service: 'HISTOGRAM',
      responses: 'COUNTER', alerts: 'COUNTER',
    });
    assert.equal(value(all, 'sluice_tasks_admitted_total'), 8);
    assert.equal(value(all, 'sluice_tasks_completed_total', { task: 'echo' }), 6);
    assert.equal(value(all, 'sluice_tasks_failed_total', { task: 'boom' }), 2);
    assert.equal(value(all, 'sluice_tasks_rejected_total', { reason: 'full' }), 0);
    assert.equal(value(all, 'sluice_queue_cap'), 10);
    assert.equal(value(all, 'sluice_queue_bound'), 10);
    assert.equal(value(all, 'sluice_queue_bound_reason', { reason: 'cap' }), 1);
    assert.equal(value(all, 'sluice_worker_slots'), 2);
    assert.equal(value(all, 'sluice_workers'), 1);
    assert.equal(value(all, 'sluice_gateway_responses_total', { status: '200' }), 6);
    assert.equal(value(all, 'sluice_gateway_responses_total', { status: '500' }), 2);
    assert.equal(value(all, 'sluice_gateway_max_pending'), 10 + 2 + 1_000, 'no --max-pending: the manager\'s cap and slots, plus room');
    assert.equal(value(all, 'sluice_gateway_ready'), 1);
    assert.equal(types['sluice_process_cpu_seconds_total'], 'COUNTER', 'process metrics, prefixed');
    assert.equal(types['sluice_nodejs_eventloop_lag_seconds'], 'GAUGE');
    for (const task of ['echo', 'boom']) {
      for (const name of ['sluice_task_service_seconds', 'sluice_task_wait_seconds']) {
        const [h] = family(parseFor(res.text, task), name).metrics;
        const counts = Object.entries(h!.buckets!).map(([le, n]) => [Number(le === '+Inf' ? Infinity : le), Number(n)] as const).sort((a, b) => a[0] - b[0]);
        assert.equal(counts.length, 18, 'seventeen bounds and +Inf');
        assert.equal(counts.at(-1)![1], task === 'echo' ? 6 : 2, `${name} ${task}: +Inf holds every observation`);
        for (let i = 1; i < counts.length; i++) assert.ok(counts[i]![0] > counts[i - 1]![0] && counts[i]![1] >= counts[i - 1]![1], 'buckets are cumulative');
      }
    }
  });

  it('serves the status snapshot at /v1/status', async () => {
    // The gateway serves the latest tick's snapshot, up to one interval old: wait for one taken
    // after the whole workload.
    let s: StatusSnapshot | undefined;
    await pollAsync(async () => {
      const res = await caller.call('GET', '/v1/status');
      s = res.json as StatusSnapshot;
      return res.status === 200 && s.totals.completed + s.totals.failed === 8;
    }, 'a tick after the workload');
    assert.ok(s);
    assert.equal(s.managerId, stack.manager.managerId);
    assert.equal(s.totals.completed, 6);
    assert.equal(s.totals.failed, 2);
    assert.equal(s.queue.cap, 10);
    assert.equal(s.capacity.slots, 2);
    assert.equal(s.healthy, true);
    const echo = s.tasks.find((t) => t.name === 'echo');
    assert.equal(echo?.completed, 6);
    assert.ok(echo.serviceMs.p50 > 0 && echo.serviceMs.p50 <= echo.serviceMs.p99);
  });

  it('streams status once per tick, and the fill alert raised at 70% and cleared under 60%', async () => {
    const holds: Array<Promise<unknown>> = [];
    let started = false;
    let releasing = false;
    const events = await readEvents('/v1/status/stream', (seen) => {
      const statuses = seen.filter((e) => e.event === 'status');
      if (!started && statuses.length >= 1) {
        started = true;
        // Two holds take both slots, eight more fill the queue to 80%.
        for (let i = 0; i < 10; i++) holds.push(caller.post('hold', { tag: `fill-${i}` }));
      }
      const alerts = seen.filter((e) => e.event === 'alert').map((e) => e.data as AlertEvent);
      if (alerts.length === 1 && alerts[0]!.change === 'raised' && !releasing) {
        releasing = true;
        void (async () => {
          for (let i = 0; i < 10; i++) await stack.events.release(`fill-${i}`);
        })();
      }
      return alerts.some((a) => a.change === 'cleared');
    }, 20_000);
    await Promise.all(holds);
    const alerts = events.filter((e) => e.event === 'alert').map((e) => e.data as AlertEvent);
    assert.deepEqual(alerts.map((a) => `${a.change} ${a.alert.kind} ${a.alert.level}`), ['raised fill warning', 'cleared fill warning']);
    assert.equal(alerts[0]!.alert.threshold, 0.7);
    assert.ok(alerts[0]!.alert.value >= 0.7 && alerts[0]!.alert.value < 0.9);
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data as StatusSnapshot);
    const alerting = statuses.find((s) => !s.healthy);
    assert.ok(alerting, 'a status while alerting');
    assert.equal(alerting.alerts[0]?.kind, 'fill');
    assert.ok(alerting.queue.fill >= 0.7);
    assert.ok(statuses.length >= 2);
    await until(() => stack.manager.status().healthy, 5_000, 'healthy again');
  });
});

import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { TIME_BUCKETS_SECONDS, type Measures, type Timing } from './measures.js';
import type { LiveFigures } from './status.js';
import { fillRatio } from './status.js';
import type { StatusWatch } from './watch.js';

/**
 * The manager's Prometheus metrics. Nothing here runs on the hot path: every figure is read from
 * the counters and histograms the manager keeps anyway, when the registry is scraped.
 */
export interface MetricSources {
  live(): LiveFigures;
  measures: Measures;
  watch: StatusWatch;
}

const LE = TIME_BUCKETS_SECONDS.map(String).concat('+Inf');

/**
 * A Prometheus histogram read from `Timing` bucket counts at scrape time; prom-client's own
 * Histogram can only be observed into, which would put its cost on the hot path a second time.
 */
function timingHistogram(name: string, help: string, measures: Measures, pick: (m: { wait: Timing; service: Timing }) => Timing): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
      for (const m of measures.tasks) {
        const t = pick(m);
        let cumulative = 0;
        for (let i = 0; i < LE.length; i++) {
          cumulative += t.buckets[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { le: LE[i]!, task: m.name }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels: { task: m.name }, value: t.sum });
        values.push({ metricName: `${name}_count`, labels: { task: m.name }, value: t.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  return metric as unknown as Metric;
}

export function createManagerRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, n: number) => void) => void): void => {
    new Counter({
      name, help, labelNames, registers,
      collect() {
        this.reset();
        read((labels, n) => this.inc(labels, n));
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, n: number) => void) => void): void => {
    new Gauge({
      name, help, labelNames, registers,
      collect() {
        this.reset();
        read((labels, n) => this.set(labels, n));
      },
    });
  };
  // Scrapes read the live figures once per metric; they are cheap (a few fields and a worker walk).
  const live = (): LiveFigures => sources.live();

  counter('sluice_tasks_admitted_total', 'Tasks admitted to the queue.', [], (set) => set({}, live().stats.admitted));
  counter('sluice_tasks_rejected_total', 'Submissions answered busy, by reason (displaced: admitted, then pushed out by higher priority).', ['reason'], (set) => {
    for (const [reason, n] of Object.entries(live().stats.rejectedByReason)) set({ reason }, n);
  });
  counter('sluice_tasks_completed_total', 'Tasks completed, by task name.', ['task'], (set) => {
    for (const m of sources.measures.tasks) set({ task: m.name }, m.completed);
  });
  counter('sluice_tasks_failed_total', 'Tasks whose handler threw, by task name.', ['task'], (set) => {
    for (const m of sources.measures.tasks) set({ task: m.name }, m.failed);
  });
  counter('sluice_tasks_expired_total', 'Tasks answered expired: their deadline passed before they could run or finish.', [], (set) => set({}, live().stats.expired));
  counter('sluice_tasks_cancelled_total', 'Tasks cancelled by their submitter.', [], (set) => set({}, live().stats.cancelled));
  counter('sluice_task_retried_attempts_total', 'Executions beyond the first (after a worker was lost mid-task).', [], (set) => set({}, live().stats.retriedAttempts));
  counter('sluice_tasks_worker_lost_total', 'Tasks failed with worker_lost: every attempt lost its worker.', [], (set) => set({}, live().stats.workerLost));

  gauge('sluice_queue_depth', 'Queued tasks by priority band (high 7–9, normal 4–6, low 0–3).', ['priority'], (set) => {
    const by = live().queuedByPriority;
    const band = (lo: number, hi: number): number => by.slice(lo, hi + 1).reduce((a, b) => a + b, 0);
    set({ priority: 'high' }, band(7, 9));
    set({ priority: 'normal' }, band(4, 6));
    set({ priority: 'low' }, band(0, 3));
  });
  gauge('sluice_queue_bound', 'Admission bound now: queued tasks past which submissions are refused.', [], (set) => set({}, live().bound));
  gauge('sluice_queue_bound_reason', 'What decides the bound now: 1 for the deciding reason (cap: --max-queue; latency: --max-latency estimate).', ['reason'], (set) => {
    const latency = live().boundReason === 'latency';
    set({ reason: 'cap' }, latency ? 0 : 1);
    set({ reason: 'latency' }, latency ? 1 : 0);
  });
  gauge('sluice_queue_cap', 'Hard cap on queued tasks (--max-queue).', [], (set) => set({}, live().cap));
  gauge('sluice_queue_fill_ratio', 'Queued tasks ÷ admission bound, 0–1.', [], (set) => {
    const l = live();
    set({}, fillRatio(l.queuedByPriority.reduce((a, b) => a + b, 0), l.bound));
  });
  gauge('sluice_queue_max_latency_seconds', 'Target queueing latency (--max-latency); 0 when none.', [], (set) => set({}, (live().maxLatencyMs ?? 0) / 1_000));
  gauge('sluice_worker_slots', 'Task slots offered by all connected worker nodes.', [], (set) => set({}, live().slots));
  gauge('sluice_worker_busy_slots', 'Slots running a task now.', [], (set) => set({}, live().busy));
  gauge('sluice_workers', 'Connected worker nodes.', [], (set) => set({}, [...live().workers].length));
  gauge('sluice_worker_node_capacity', 'Slots a worker node offers.', ['node'], (set) => {
    for (const w of live().workers) set({ node: w.nodeId }, w.capacity);
  });
  gauge('sluice_worker_node_busy', 'Slots of a worker node running a task now.', ['node'], (set) => {
    for (const w of live().workers) set({ node: w.nodeId }, w.busy);
  });
  gauge('sluice_worker_node_service_seconds', 'Recent service time of a worker node (moving average).', ['node'], (set) => {
    for (const w of live().workers) set({ node: w.nodeId }, (w.recentServiceMs ?? 0) / 1_000);
  });
  gauge('sluice_worker_node_connected_since_seconds', 'When a worker node connected, in Unix seconds.', ['node'], (set) => {
    for (const w of live().workers) set({ node: w.nodeId }, w.connectedAt / 1_000);
  });
  registry.registerMetric(timingHistogram('sluice_task_wait_seconds', 'Time from admission to the start on a slot, by task name.', sources.measures, (m) => m.wait));
  registry.registerMetric(timingHistogram('sluice_task_service_seconds', 'Time an attempt ran on a slot (completed or failed), as its node measured it, by task name.', sources.measures, (m) => m.service));
  counter('sluice_alerts_total', 'Alerts raised, by kind and level.', ['kind', 'level'], (set) => {
    for (const kind of ['fill', 'service_time']) for (const level of ['warning', 'critical']) set({ kind, level }, sources.watch.raisedCounts.get(`${kind}|${level}`) ?? 0);
  });
  gauge('sluice_alert_active', 'Alerts active now (1 each), by kind, level and task (empty for fill).', ['kind', 'level', 'task'], (set) => {
    for (const a of sources.watch.activeAlerts) set({ kind: a.kind, level: a.level, task: a.task ?? '' }, 1);
  });
  return registry;
}

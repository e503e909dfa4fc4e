import type { ActiveAlert, Percentiles, RejectReasonCounts, StatusSnapshot } from '../protocol/status.js';
import type { WorkerLink } from './links.js';
import type { ManagerStats } from './stats.js';

export type { StatusSnapshot } from '../protocol/status.js';

/** What the status tick computes once a second and every snapshot until the next tick reuses. */
export interface TickFigures {
  rates: StatusSnapshot['rates'];
  tasks: StatusSnapshot['tasks'];
  alerts: ActiveAlert[];
}

/** Live figures read when a snapshot is built. */
export interface LiveFigures {
  time: number;
  managerId: string;
  uptimeMs: number;
  maxLatencyMs: number | undefined;
  /** Queued tasks per priority 0–9. */
  queuedByPriority: readonly number[];
  bound: number;
  boundReason: 'max_queue' | 'latency';
  cap: number;
  fillAlertAt: { warning: number; critical: number };
  slots: number;
  busy: number;
  workers: Iterable<WorkerLink>;
  stats: ManagerStats;
}

/** Priorities 7–9 count as high, 4–6 as normal, 0–3 as low (the names map to 8, 5 and 2). */
function depthByName(byPriority: readonly number[]): StatusSnapshot['queue']['depth'] {
  const depth = { high: 0, normal: 0, low: 0 };
  byPriority.forEach((n, priority) => {
    if (priority >= 7) depth.high += n;
    else if (priority >= 4) depth.normal += n;
    else depth.low += n;
  });
  return depth;
}

/** total ÷ bound in 0..1; a zero bound with anything queued is full. */
export function fillRatio(total: number, bound: number): number {
  if (bound <= 0) return total > 0 ? 1 : 0;
  return Math.min(1, total / bound);
}

export function buildStatusSnapshot(live: LiveFigures, tick: TickFigures): StatusSnapshot {
  const total = live.queuedByPriority.reduce((a, b) => a + b, 0);
  const s = live.stats;
  const workers: StatusSnapshot['workers'] = [];
  for (const w of live.workers) {
    workers.push({ id: w.nodeId, ...(w.name === undefined ? {} : { name: w.name }), capacity: w.capacity, busy: w.busy, recentServiceMs: w.recentServiceMs ?? 0, connectedSince: w.connectedAt });
  }
  return {
    time: live.time,
    managerId: live.managerId,
    uptimeMs: live.uptimeMs,
    maxLatencyMs: live.maxLatencyMs ?? 0,
    queue: {
      depth: depthByName(live.queuedByPriority),
      total,
      bound: live.bound,
      boundReason: live.boundReason === 'max_queue' ? 'cap' : 'latency',
      cap: live.cap,
      fill: fillRatio(total, live.bound),
      alertAt: { warning: live.fillAlertAt.warning, critical: live.fillAlertAt.critical },
    },
    capacity: { slots: live.slots, busy: live.busy, workers: workers.length },
    totals: {
      admitted: s.admitted, completed: s.completed, failed: s.failed, expired: s.expired, cancelled: s.cancelled,
      retried: s.retriedAttempts, workerLost: s.workerLost, rejected: { ...s.rejectedByReason },
    },
    rates: tick.rates,
    tasks: tick.tasks,
    workers,
    alerts: tick.alerts,
    healthy: tick.alerts.length === 0,
  };
}

export const NO_RATES: StatusSnapshot['rates'] = Object.freeze({
  admitted: 0, completed: 0, failed: 0,
  rejected: Object.freeze({ full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0 }),
}) as StatusSnapshot['rates'];

/** Counters a rate is computed from, copied at each tick. */
export interface CounterSample {
  at: number;
  admitted: number;
  completed: number;
  failed: number;
  rejected: RejectReasonCounts;
}

export function sampleCounters(stats: ManagerStats, at: number): CounterSample {
  return { at, admitted: stats.admitted, completed: stats.completed, failed: stats.failed, rejected: { ...stats.rejectedByReason } };
}

/** Per-second rates between two samples (ms apart). */
export function ratesBetween(a: CounterSample, b: CounterSample): StatusSnapshot['rates'] {
  const seconds = (b.at - a.at) / 1_000;
  if (!(seconds > 0)) return NO_RATES;
  const per = (x: number, y: number): number => Math.round(((y - x) / seconds) * 10) / 10;
  const rejected = { ...b.rejected };
  for (const key of Object.keys(rejected) as (keyof RejectReasonCounts)[]) rejected[key] = per(a.rejected[key], b.rejected[key]);
  return { admitted: per(a.admitted, b.admitted), completed: per(a.completed, b.completed), failed: per(a.failed, b.failed), rejected };
}

export const roundMs = (p: Percentiles): Percentiles => ({
  p50: Math.round(p.p50 * 1_000) / 1_000, p90: Math.round(p.p90 * 1_000) / 1_000, p99: Math.round(p.p99 * 1_000) / 1_000, p999: Math.round(p.p999 * 1_000) / 1_000,
});

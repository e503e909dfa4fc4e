import { ProtocolError } from './errors.js';

/**
 * The status snapshot: what the manager reports about itself once a second to watchers (the
 * gateway's `/v1/status` and its event stream, `sluice status`, the dashboard). One shape for all
 * of them; field names are a contract with the dashboard page.
 */
export interface Percentiles { p50: number; p90: number; p99: number; p999: number }

export type RejectReasonCounts = { full: number; latency: number; deadline: number; displaced: number; no_workers: number; draining: number };

export type AlertKind = 'fill' | 'service_time';
export type AlertLevel = 'warning' | 'critical';

export interface ActiveAlert {
  kind: AlertKind;
  level: AlertLevel;
  /** The task name, for `service_time` alerts. */
  task?: string;
  /** Epoch ms when the alert was raised (or last changed level). */
  since: number;
  /** The measured figure that crossed the threshold: fill ratio 0..1, or recent service ms. */
  value: number;
  /** The figure it crossed: a fill ratio, or the service ms the norm allows. */
  threshold: number;
  message: string;
}

export interface StatusSnapshot {
  /** Epoch ms when built. */
  time: number;
  managerId: string;
  uptimeMs: number;
  /** The manager's `--max-latency`; 0 when none is set. */
  maxLatencyMs: number;
  queue: {
    depth: { high: number; normal: number; low: number };
    total: number;
    /** The admission bound now, in tasks. */
    bound: number;
    /** Whether the hard cap or the latency estimate decides the bound now. */
    boundReason: 'cap' | 'latency';
    cap: number;
    /** total / bound, 0..1 (1 when the bound is 0 and something is queued). */
    fill: number;
    /** The fill ratios at which the manager raises its warning and critical alerts. */
    alertAt: { warning: number; critical: number };
  };
  capacity: { slots: number; busy: number; workers: number };
  /** Monotonic counters since the manager started. */
  totals: {
    admitted: number; completed: number; failed: number; expired: number; cancelled: number;
    retried: number; workerLost: number;
    rejected: RejectReasonCounts;
  };
  /** Per second, over the last completed one-second window. */
  rates: { admitted: number; completed: number; failed: number; rejected: RejectReasonCounts };
  /** Per task name; percentiles over the recent window (the last 10 s), in ms. */
  tasks: Array<{ name: string; completed: number; failed: number; waitMs: Percentiles; serviceMs: Percentiles }>;
  workers: Array<{ id: string; name?: string; capacity: number; busy: number; recentServiceMs: number; connectedSince: number }>;
  /** Alerts active now. */
  alerts: ActiveAlert[];
  /** No alert is active. */
  healthy: boolean;
}

/** An alert raised (or changed level) or cleared; `alert` is its state at that moment. */
export interface AlertEvent {
  change: 'raised' | 'cleared';
  /** Epoch ms. */
  time: number;
  alert: ActiveAlert;
}

export const REJECT_REASONS = ['full', 'latency', 'deadline', 'displaced', 'no_workers', 'draining'] as const;

const MAX_LIST = 100_000;

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const allNumbers = (v: unknown, keys: readonly string[]): boolean => isObject(v) && keys.every((k) => isNumber(v[k]));

function invalid(what: string): ProtocolError {
  return new ProtocolError('invalid_message', `Invalid status: ${what}`);
}

function checkAlert(v: unknown): boolean {
  return isObject(v) && (v['kind'] === 'fill' || v['kind'] === 'service_time') && (v['level'] === 'warning' || v['level'] === 'critical')
    && (v['task'] === undefined || typeof v['task'] === 'string') && isNumber(v['since']) && isNumber(v['value'])
    && isNumber(v['threshold']) && typeof v['message'] === 'string';
}

const PERCENTILES = ['p50', 'p90', 'p99', 'p999'];

/**
 * Checks a snapshot from the wire: every figure a number, every list a list of the right shape.
 * Returns the same object, or a ProtocolError naming the first field that is wrong.
 */
export function validateStatusSnapshot(value: unknown): StatusSnapshot | ProtocolError {
  if (!isObject(value)) return invalid('expected an object');
  if (!isNumber(value['time']) || !isNumber(value['uptimeMs']) || !isNumber(value['maxLatencyMs'])) return invalid('time, uptimeMs, maxLatencyMs');
  if (typeof value['managerId'] !== 'string') return invalid('managerId');
  const queue = value['queue'];
  if (!allNumbers(queue, ['total', 'bound', 'cap', 'fill'])) return invalid('queue');
  if (!allNumbers((queue as Fields)['depth'], ['high', 'normal', 'low'])) return invalid('queue.depth');
  if (!allNumbers((queue as Fields)['alertAt'], ['warning', 'critical'])) return invalid('queue.alertAt');
  const reason = (queue as Fields)['boundReason'];
  if (reason !== 'cap' && reason !== 'latency') return invalid('queue.boundReason');
  if (!allNumbers(value['capacity'], ['slots', 'busy', 'workers'])) return invalid('capacity');
  const totals = value['totals'];
  if (!allNumbers(totals, ['admitted', 'completed', 'failed', 'expired', 'cancelled', 'retried', 'workerLost'])) return invalid('totals');
  if (!allNumbers((totals as Fields)['rejected'], REJECT_REASONS)) return invalid('totals.rejected');
  const rates = value['rates'];
  if (!allNumbers(rates, ['admitted', 'completed', 'failed'])) return invalid('rates');
  if (!allNumbers((rates as Fields)['rejected'], REJECT_REASONS)) return invalid('rates.rejected');
  const tasks = value['tasks'];
  if (!Array.isArray(tasks) || tasks.length > MAX_LIST) return invalid('tasks');
  for (const t of tasks as unknown[]) {
    if (!isObject(t) || typeof t['name'] !== 'string' || !isNumber(t['completed']) || !isNumber(t['failed'])
      || !allNumbers(t['waitMs'], PERCENTILES) || !allNumbers(t['serviceMs'], PERCENTILES)) return invalid('tasks[]');
  }
  const workers = value['workers'];
  if (!Array.isArray(workers) || workers.length > MAX_LIST) return invalid('workers');
  for (const w of workers as unknown[]) {
    if (!allNumbers(w, ['capacity', 'busy', 'recentServiceMs', 'connectedSince']) || typeof (w as Fields)['id'] !== 'string') return invalid('workers[]');
    const name = (w as Fields)['name'];
    if (name !== undefined && typeof name !== 'string') return invalid('workers[].name');
  }
  const alerts = value['alerts'];
  if (!Array.isArray(alerts) || alerts.length > MAX_LIST || !alerts.every(checkAlert)) return invalid('alerts');
  if (typeof value['healthy'] !== 'boolean') return invalid('healthy');
  return value as unknown as StatusSnapshot;
}

export function validateAlertEvent(value: unknown): AlertEvent | ProtocolError {
  if (!isObject(value) || (value['change'] !== 'raised' && value['change'] !== 'cleared') || !isNumber(value['time']) || !checkAlert(value['alert'])) {
    return invalid('alert event');
  }
  return value as unknown as AlertEvent;
}

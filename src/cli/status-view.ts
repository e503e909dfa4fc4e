import type { StatusSnapshot } from '../protocol/status.js';

/**
 * The terminal view of a status snapshot, as `sluice status` prints it: a header, the queue and
 * capacity, rates and totals, then tables of tasks, worker nodes and active alerts. Pure: the
 * same snapshot and `now` always give the same text.
 */

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h ${Math.floor((s % 3_600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3_600)}h`;
}

const num = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1));
const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;

function bar(ratio: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** Left-aligns the `left` columns (text) and right-aligns the others (figures). */
function table(header: string[], rows: string[][], left: readonly number[] = [0]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function rejected(counts: StatusSnapshot['totals']['rejected']): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${num(n)}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function formatStatus(s: StatusSnapshot, now: number = s.time): string {
  const q = s.queue;
  const c = s.capacity;
  const state = s.healthy ? 'HEALTHY' : `ALERTING (${s.alerts.length})`;
  const lines = [
    `sluice manager ${s.managerId}  up ${duration(s.uptimeMs)}  ${state}`,
    '',
    `queue     ${q.total} queued / bound ${q.bound} (${q.boundReason === 'cap' ? `cap ${q.cap}` : `latency; cap ${q.cap}`})  fill ${bar(q.fill)} ${percent(q.fill)}`,
    `          high ${q.depth.high}  normal ${q.depth.normal}  low ${q.depth.low}${s.maxLatencyMs > 0 ? `  max latency ${s.maxLatencyMs} ms` : ''}`,
    `capacity  ${c.busy} of ${c.slots} slots busy on ${c.workers} worker node${c.workers === 1 ? '' : 's'}`,
    `per sec   admitted ${num(s.rates.admitted)}  completed ${num(s.rates.completed)}  failed ${num(s.rates.failed)}  rejected ${rejected(s.rates.rejected)}`,
    `totals    admitted ${s.totals.admitted}  completed ${s.totals.completed}  failed ${s.totals.failed}  expired ${s.totals.expired}  cancelled ${s.totals.cancelled}  retried ${s.totals.retried}  worker lost ${s.totals.workerLost}`,
    `          rejected ${rejected(s.totals.rejected)}`,
  ];
  lines.push('');
  if (s.tasks.length === 0) {
    lines.push('no tasks run yet');
  } else {
    lines.push(...table(
      ['TASK', 'COMPLETED', 'FAILED', 'WAIT p50', 'p99', 'SERVICE p50', 'p99'],
      s.tasks.map((t) => [t.name, String(t.completed), String(t.failed), `${num(t.waitMs.p50)} ms`, `${num(t.waitMs.p99)} ms`, `${num(t.serviceMs.p50)} ms`, `${num(t.serviceMs.p99)} ms`]),
    ));
  }
  lines.push('');
  if (s.workers.length === 0) {
    lines.push('no worker nodes connected');
  } else {
    lines.push(...table(
      ['WORKER NODE', 'SLOTS', 'BUSY', 'SERVICE', 'CONNECTED'],
      s.workers.map((w) => [w.name === undefined ? w.id : `${w.name} (${w.id})`, String(w.capacity), String(w.busy), `${num(w.recentServiceMs)} ms`, `${duration(now - w.connectedSince)} ago`]),
    ));
  }
  if (s.alerts.length > 0) {
    lines.push('');
    lines.push(...table(['ALERT', 'LEVEL', 'SINCE', 'MESSAGE'], s.alerts.map((a) => [a.task === undefined ? a.kind : `${a.kind} ${a.task}`, a.level.toUpperCase(), `${duration(now - a.since)} ago`, a.message]), [0, 1, 3]));
  }
  return `${lines.join('\n')}\n`;
}

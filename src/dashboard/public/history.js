// @ts-check
/**
 * The last few minutes of status snapshots, turned into the column arrays uPlot draws. Pure: no
 * DOM, so it is tested in node.
 *
 * @typedef {{ p50: number, p90: number, p99: number, p999: number }} Percentiles
 * @typedef {{ full: number, latency: number, deadline: number, displaced: number, no_workers: number, draining: number }} Rejections
 * @typedef {{
 *   time: number, managerId: string, uptimeMs: number, maxLatencyMs: number,
 *   queue: { depth: { high: number, normal: number, low: number }, total: number, bound: number,
 *            boundReason: 'cap' | 'latency', cap: number, fill: number,
 *            alertAt: { warning: number, critical: number } },
 *   capacity: { slots: number, busy: number, workers: number },
 *   totals: Record<string, number> & { rejected: Rejections },
 *   rates: { admitted: number, completed: number, failed: number, rejected: Rejections },
 *   tasks: Array<{ name: string, completed: number, failed: number, waitMs: Percentiles, serviceMs: Percentiles }>,
 *   workers: Array<{ id: string, name?: string, capacity: number, busy: number, recentServiceMs: number, connectedSince: number }>,
 *   alerts: Array<{ kind: 'fill' | 'service_time', level: 'warning' | 'critical', task?: string, since: number,
 *                   value: number, threshold: number, message: string }>,
 *   healthy: boolean,
 * }} StatusSnapshot
 * @typedef {(s: StatusSnapshot) => number | null} Reading
 */

/** Points kept: five minutes at the stream's one snapshot a second. */
export const HISTORY_POINTS = 300;

export const REJECT_REASONS = /** @type {const} */ (['full', 'latency', 'deadline', 'displaced', 'no_workers', 'draining']);

export class History {
  /** @type {StatusSnapshot[]} */
  #snapshots = [];
  #limit;

  constructor(limit = HISTORY_POINTS) {
    this.#limit = limit;
  }

  /**
   * Adds a snapshot; ignores one not newer than the last (the first fetch and the stream may
   * carry the same one). Returns whether it was added.
   * @param {StatusSnapshot} snapshot
   */
  push(snapshot) {
    const last = this.latest;
    if (last !== undefined && snapshot.managerId === last.managerId && snapshot.time <= last.time) return false;
    this.#snapshots.push(snapshot);
    if (this.#snapshots.length > this.#limit) this.#snapshots.splice(0, this.#snapshots.length - this.#limit);
    return true;
  }

  get length() {
    return this.#snapshots.length;
  }

  /** @returns {StatusSnapshot | undefined} */
  get latest() {
    return this.#snapshots[this.#snapshots.length - 1];
  }

  /** Task names seen in the kept snapshots, busiest first (by completions in the latest). */
  taskNames() {
    /** @type {Map<string, number>} */
    const seen = new Map();
    for (const snapshot of this.#snapshots) for (const task of snapshot.tasks) seen.set(task.name, task.completed + task.failed);
    return [...seen.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name]) => name);
  }

  /**
   * uPlot's data: x in seconds, then one column per reading; a reading that does not apply
   * to a snapshot (a task not yet seen) is null, which uPlot draws as a gap.
   * @param {Reading[]} readings
   * @returns {Array<Array<number | null>>}
   */
  columns(readings) {
    const snapshots = this.#snapshots;
    return [snapshots.map((s) => s.time / 1000), ...readings.map((read) => snapshots.map(read))];
  }
}

/** @param {string} name @param {'waitMs' | 'serviceMs'} which @param {'p50' | 'p99'} percentile @returns {Reading} */
export function taskReading(name, which, percentile) {
  return (s) => {
    const task = s.tasks.find((t) => t.name === name);
    return task === undefined ? null : task[which][percentile];
  };
}

/** Rejections per second over every reason. @param {StatusSnapshot} s */
export function rejectedRate(s) {
  let sum = 0;
  for (const reason of REJECT_REASONS) sum += s.rates.rejected[reason] ?? 0;
  return sum;
}

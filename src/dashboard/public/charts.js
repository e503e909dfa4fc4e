// @ts-check
import uPlot from './vendor/uPlot.esm.js';
import { formatCount, formatMs, formatPercent } from './format.js';
import { REJECT_REASONS, rejectedRate, taskReading } from './history.js';

/**
 * The page's charts: what each one draws (pure specs, built from the snapshot fields) and a thin
 * wrapper that keeps a uPlot the width of its box.
 *
 * @typedef {import('./history.js').History} History
 * @typedef {import('./history.js').Reading} Reading
 * @typedef {{ label: string, color: string, read: Reading, dash?: number[], guide?: boolean }} SeriesSpec
 * @typedef {{ unit: (v: number) => string, range?: [number, number], series: SeriesSpec[] }} ChartSpec
 */

const COLORS = ['#2f7ed8', '#e8743b', '#19a979', '#d64550', '#945ecf', '#13a4b4', '#bf399e', '#6c8893'];
const GUIDE = '#d64550';

/**
 * The fill alert thresholds drawn on the fill chart: the manager's own settings, from each
 * snapshot (the defaults until the first one arrives).
 */
export const fillThresholds = { warning: 0.7, critical: 0.9 };

/** @param {import('./history.js').StatusSnapshot} snapshot */
export function learnFillThresholds(snapshot) {
  fillThresholds.warning = snapshot.queue.alertAt.warning;
  fillThresholds.critical = snapshot.queue.alertAt.critical;
}

/** Fill ratio against the alert thresholds, which are drawn as dashed lines. */
export const fillChart = /** @type {ChartSpec} */ ({
  unit: formatPercent,
  range: [0, 1],
  series: [
    { label: 'fill', color: COLORS[0], read: (s) => s.queue.fill },
    { label: 'warning', color: '#e0a100', read: () => fillThresholds.warning, dash: [6, 4], guide: true },
    { label: 'critical', color: GUIDE, read: () => fillThresholds.critical, dash: [6, 4], guide: true },
  ],
});

/** Queued tasks by priority against the admission bound and the hard cap. */
export const depthChart = /** @type {ChartSpec} */ ({
  unit: formatCount,
  series: [
    { label: 'queued', color: COLORS[0], read: (s) => s.queue.total },
    { label: 'high', color: COLORS[3], read: (s) => s.queue.depth.high },
    { label: 'normal', color: COLORS[2], read: (s) => s.queue.depth.normal },
    { label: 'low', color: COLORS[7], read: (s) => s.queue.depth.low },
    { label: 'bound', color: GUIDE, read: (s) => s.queue.bound, dash: [6, 4], guide: true },
  ],
});

/** Admitted, completed and failed per second, with all refusals summed. */
export const throughputChart = /** @type {ChartSpec} */ ({
  unit: (v) => `${formatCount(v)}/s`,
  series: [
    { label: 'admitted', color: COLORS[0], read: (s) => s.rates.admitted },
    { label: 'completed', color: COLORS[2], read: (s) => s.rates.completed },
    { label: 'failed', color: COLORS[4], read: (s) => s.rates.failed },
    { label: 'rejected', color: COLORS[3], read: rejectedRate },
  ],
});

/** Refusals per second, one line per reason. */
export const rejectionsChart = /** @type {ChartSpec} */ ({
  unit: (v) => `${formatCount(v)}/s`,
  series: REJECT_REASONS.map((reason, i) => ({
    label: reason.replace('_', ' '),
    color: COLORS[(i + 1) % COLORS.length],
    read: (s) => s.rates.rejected[reason] ?? 0,
  })),
});

/** Busy slots against all slots of the connected worker nodes. */
export const slotsChart = /** @type {ChartSpec} */ ({
  unit: formatCount,
  series: [
    { label: 'busy', color: COLORS[1], read: (s) => s.capacity.busy },
    { label: 'slots', color: COLORS[7], read: (s) => s.capacity.slots, dash: [6, 4] },
  ],
});

/** Tasks drawn in the latency chart: more lines than this cannot be told apart. */
export const LATENCY_CHART_TASKS = 3;

/**
 * Wait and service time, p50 and p99, for the busiest tasks (solid: service; dashed: wait).
 * @param {string[]} names
 * @returns {ChartSpec}
 */
export function latencyChart(names) {
  /** @type {SeriesSpec[]} */
  const series = [];
  names.slice(0, LATENCY_CHART_TASKS).forEach((name, i) => {
    const color = COLORS[i * 2 % COLORS.length];
    const other = COLORS[(i * 2 + 1) % COLORS.length];
    series.push(
      { label: `${name} service p50`, color, read: taskReading(name, 'serviceMs', 'p50') },
      { label: `${name} service p99`, color: other, read: taskReading(name, 'serviceMs', 'p99') },
      { label: `${name} wait p50`, color, read: taskReading(name, 'waitMs', 'p50'), dash: [4, 3] },
      { label: `${name} wait p99`, color: other, read: taskReading(name, 'waitMs', 'p99'), dash: [4, 3] },
    );
  });
  return { unit: formatMs, series };
}

/** One uPlot in a box on the page; redrawn from the history on every snapshot. */
export class Chart {
  /** @type {uPlot | undefined} */
  #plot;
  #box;
  #spec;
  #resize;

  /** @param {HTMLElement} box @param {ChartSpec} spec */
  constructor(box, spec) {
    this.#box = box;
    this.#spec = spec;
    this.#resize = new ResizeObserver(() => this.#plot?.setSize(this.#size()));
    this.#resize.observe(box);
  }

  /** Replaces what is drawn (the latency chart, when the busiest tasks change). @param {ChartSpec} spec */
  respec(spec) {
    this.#spec = spec;
    this.#plot?.destroy();
    this.#plot = undefined;
  }

  /** @param {History} history */
  update(history) {
    const spec = this.#spec;
    const data = history.columns(spec.series.map((s) => s.read));
    // What the test and a reader check: how many points, and the largest real (non-guide) value.
    let max = 0;
    spec.series.forEach((s, i) => {
      if (s.guide) return;
      for (const v of data[i + 1] ?? []) if (v !== null && v > max) max = v;
    });
    this.#box.dataset.points = String(data[0]?.length ?? 0);
    this.#box.dataset.max = String(max);
    if (this.#plot === undefined) this.#plot = new uPlot(this.#options(), /** @type {any} */ (data), this.#box);
    else this.#plot.setData(/** @type {any} */ (data));
  }

  destroy() {
    this.#resize.disconnect();
    this.#plot?.destroy();
  }

  #size() {
    const width = Math.max(200, this.#box.clientWidth);
    return { width, height: width < 500 ? 170 : 210 };
  }

  #options() {
    const spec = this.#spec;
    const axis = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#666';
    const grid = getComputedStyle(document.documentElement).getPropertyValue('--grid').trim() || '#ddd';
    const unit = spec.unit;
    return {
      ...this.#size(),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: spec.range === undefined ? { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } : { range: spec.range } },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 72, values: (_u, splits) => splits.map(unit) },
      ],
      series: [
        { value: (_u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.guide ? 1 : 2,
          ...(s.dash === undefined ? {} : { dash: s.dash }),
          spanGaps: false,
          // Threshold lines are not measurements: no markers on them.
          ...(s.guide ? { points: { show: false } } : {}),
          value: (_u, v) => (v == null ? '–' : unit(v)),
        })),
      ],
    };
  }
}

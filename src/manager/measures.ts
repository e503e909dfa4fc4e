import { build, initWebAssemblySync, type Histogram } from 'hdr-histogram-js';
import type { Percentiles } from '../protocol/status.js';

/**
 * Timing measurements per task name: HDR histograms for percentiles over a sliding window, and
 * fixed buckets for Prometheus. Recording is the hot path (twice per task): one WebAssembly
 * histogram write (≈ 30 ns; the JavaScript histograms cost ≈ 200 ns) and a short bucket scan.
 */

// The WebAssembly histograms are several times faster to record into; compiling them is ≈ 10 ms, once.
initWebAssemblySync();

/** Values are recorded in microseconds from 1 µs to one hour; longer ones count as one hour. */
const HIGHEST_US = 3_600_000_000;
const newHistogram = (): Histogram => build({
  useWebAssembly: true,
  lowestDiscernibleValue: 1,
  highestTrackableValue: HIGHEST_US,
  numberOfSignificantValueDigits: 2,
  autoResize: false,
});

/** The sliding window: this many slices of `SLICE_TICKS` status ticks each (5 × 2 s = 10 s). */
export const WINDOW_SLICES = 5;
export const SLICE_TICKS = 2;

/** Upper bounds (seconds) of the Prometheus histogram buckets; `+Inf` is implied. */
export const TIME_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Task names measured separately; later names share one entry, `(other)`. Each name holds ten
 * histograms of about 14 KiB, so this bounds the measurements at about 9 MiB.
 */
export const MAX_MEASURED_NAMES = 64;
export const OTHER_TASKS = '(other)';

const ZERO: Percentiles = Object.freeze({ p50: 0, p90: 0, p99: 0, p999: 0 });

/** One kind of duration (wait or service) of one task name. */
export class Timing {
  /** Ring of slices; `#current` receives records, the others hold the rest of the window. */
  readonly #slices: Histogram[] = Array.from({ length: WINDOW_SLICES }, newHistogram);
  #current = 0;
  /** Observations per bucket (not cumulative); the last one is `+Inf`. */
  readonly buckets = new Float64Array(TIME_BUCKETS_SECONDS.length + 1);
  /** Seconds. */
  sum = 0;
  count = 0;

  record(ms: number): void {
    const us = Math.round(ms * 1_000);
    this.#slices[this.#current]!.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
    const seconds = ms / 1_000;
    let i = 0;
    while (i < TIME_BUCKETS_SECONDS.length && seconds > TIME_BUCKETS_SECONDS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** Starts a new slice; the oldest leaves the window. */
  rotate(): void {
    this.#current = (this.#current + 1) % WINDOW_SLICES;
    this.#slices[this.#current]!.reset();
  }

  /** Percentiles (ms) over the window, merged into `scratch`; zeros when nothing was recorded. */
  percentiles(scratch: Histogram): { count: number; ms: Percentiles } {
    scratch.reset();
    for (const slice of this.#slices) if (slice.totalCount > 0) scratch.add(slice);
    const count = scratch.totalCount;
    if (count === 0) return { count, ms: ZERO };
    const at = (p: number): number => scratch.getValueAtPercentile(p) / 1_000;
    return { count, ms: { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9) } };
  }

  destroy(): void {
    for (const slice of this.#slices) slice.destroy();
  }
}

export class TaskMeasures {
  readonly wait = new Timing();
  readonly service = new Timing();
  completed = 0;
  failed = 0;
  constructor(readonly name: string) {}
}

/** Every task name's measurements. */
export class Measures {
  readonly #byName = new Map<string, TaskMeasures>();
  readonly #scratch = newHistogram();
  #ticks = 0;

  /** The entry for `name`, created on first use. */
  forTask(name: string): TaskMeasures {
    let m = this.#byName.get(name);
    if (m === undefined) {
      const key = this.#byName.size < MAX_MEASURED_NAMES ? name : OTHER_TASKS;
      m = this.#byName.get(key);
      if (m === undefined) {
        m = new TaskMeasures(key);
        this.#byName.set(key, m);
      }
    }
    return m;
  }

  get tasks(): IterableIterator<TaskMeasures> {
    return this.#byName.values();
  }

  /** Called once per status tick; moves the window every `SLICE_TICKS` ticks. */
  rotate(): void {
    if (++this.#ticks % SLICE_TICKS !== 0) return;
    for (const m of this.#byName.values()) {
      m.wait.rotate();
      m.service.rotate();
    }
  }

  percentiles(timing: Timing): { count: number; ms: Percentiles } {
    return timing.percentiles(this.#scratch);
  }

  destroy(): void {
    for (const m of this.#byName.values()) {
      m.wait.destroy();
      m.service.destroy();
    }
    this.#byName.clear();
    this.#scratch.destroy();
  }
}

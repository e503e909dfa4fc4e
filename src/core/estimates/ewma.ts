import { InvalidArgumentError, describeValue } from '../errors.js';

/** Weight of the newest sample in service-time estimates: about the last ten samples matter. */
export const SERVICE_TIME_ALPHA = 0.2;
/**
 * Names with their own estimate; later names feed only the overall one. Names are those workers
 * register, so this is never reached in practice — it only keeps the table bounded if it were.
 */
export const DEFAULT_MAX_TRACKED_NAMES = 10_000;

/**
 * Exponentially weighted moving average: value ← value + alpha·(sample − value). The first sample
 * sets the value outright, so a fresh average is not dragged towards an invented zero.
 */
export class Ewma {
  readonly alpha: number;
  #value: number | undefined;

  constructor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new InvalidArgumentError(`Expected \`alpha\` to be in (0, 1], got ${describeValue(alpha)}`);
    this.alpha = alpha;
  }

  /** Non-finite samples are ignored: one NaN would otherwise poison the average for good. */
  update(sample: number): void {
    if (!Number.isFinite(sample)) return;
    this.#value = this.#value === undefined ? sample : this.#value + this.alpha * (sample - this.#value);
  }

  /** Undefined until the first sample. */
  get value(): number | undefined {
    return this.#value;
  }
}

/**
 * How many mean deviations above the mean a task is planned at. The latency bound sums these
 * plans, so a stream whose service times wander (timer jitter, GC, a shared CPU) is given
 * headroom in proportion to how much it wanders, and a steady one almost none.
 */
export const PLANNED_DEVIATIONS = 2;
/** Most weight of the newest sample in the mean deviation, as for round-trip times in RFC 6298. */
export const DEVIATION_BETA = 0.25;
/**
 * Time constant of the service-time figures (ms): a stream sampled faster than its per-sample
 * weight allows is averaged over about this long instead. A thousand completions a second would
 * otherwise move the estimate with every burst of ten, and the latency bound with it.
 */
export const SERVICE_TIME_HORIZON_MS = 1_000;

/**
 * One stream of service times: an average of the samples and of their absolute distance from it
 * (Jacobson/Karels, the round-trip estimator of RFC 6298). Samples count alike within the horizon
 * and fade over it (a decaying sum), but the newest never weighs more than `alpha` — so a slow
 * stream follows its last few samples and a fast one its last second. The deviation moves `DEVIATION_BETA / alpha` times as fast as the mean. The first sample sets
 * the mean and half of it the deviation, so a fresh stream is planned with care until it has
 * shown how steady it is.
 */
export class ServiceTimeStats {
  readonly #alpha: number;
  #mean: number | undefined;
  #deviation = 0;
  /** Samples the mean stands for, faded by time; at least 1 / alpha. */
  #weight = 0;
  #lastAt = 0;

  constructor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new InvalidArgumentError(`Expected \`alpha\` to be in (0, 1], got ${describeValue(alpha)}`);
    this.#alpha = alpha;
  }

  /** `now`: monotonic ms of the sample; non-finite samples are ignored. */
  update(sample: number, now: number): void {
    if (!Number.isFinite(sample)) return;
    const fade = now > this.#lastAt ? Math.exp((this.#lastAt - now) / SERVICE_TIME_HORIZON_MS) : 1;
    this.#weight = Math.max(this.#weight * fade + 1, 1 / this.#alpha);
    this.#lastAt = Math.max(this.#lastAt, now);
    if (this.#mean === undefined) {
      this.#mean = sample;
      this.#deviation = sample / 2;
      return;
    }
    const share = 1 / this.#weight;
    this.#deviation += Math.min(1, (share * DEVIATION_BETA) / this.#alpha) * (Math.abs(sample - this.#mean) - this.#deviation);
    this.#mean += share * (sample - this.#mean);
  }

  get mean(): number | undefined {
    return this.#mean;
  }

  get deviation(): number | undefined {
    return this.#mean === undefined ? undefined : this.#deviation;
  }

  /** What admission plans a task at: mean + PLANNED_DEVIATIONS × deviation. */
  get planned(): number | undefined {
    return this.#mean === undefined ? undefined : this.#mean + PLANNED_DEVIATIONS * this.#deviation;
  }
}

/**
 * Measured service time (ms) per task name, plus one over all samples. A name never measured is
 * estimated by the overall figures; nothing is estimated before the first sample at all.
 * `estimate` and `overall` are the planned figures (see ServiceTimeStats), `mean` the plain average.
 */
export class ServiceTimes {
  readonly #byName = new Map<string, ServiceTimeStats>();
  readonly #overall: ServiceTimeStats;
  readonly #alpha: number;
  readonly #maxNames: number;

  constructor(alpha: number = SERVICE_TIME_ALPHA, maxNames: number = DEFAULT_MAX_TRACKED_NAMES) {
    this.#overall = new ServiceTimeStats(alpha);
    this.#alpha = alpha;
    this.#maxNames = maxNames;
  }

  /** `now`: monotonic ms when it was measured. Negative, NaN and infinite durations are ignored. */
  record(name: string, ms: number, now: number): void {
    if (!(ms >= 0) || ms === Infinity) return;
    this.#overall.update(ms, now);
    let stats = this.#byName.get(name);
    if (stats === undefined) {
      if (this.#byName.size >= this.#maxNames) return;
      stats = new ServiceTimeStats(this.#alpha);
      this.#byName.set(name, stats);
    }
    stats.update(ms, now);
  }

  /** The planned service time of a task of this name. */
  estimate(name: string): number | undefined {
    return this.#byName.get(name)?.planned ?? this.#overall.planned;
  }

  /** The plain average service time of this name (overall for an unmeasured name). */
  mean(name: string): number | undefined {
    return this.#byName.get(name)?.mean ?? this.#overall.mean;
  }

  /** The planned service time over all names. */
  get overall(): number | undefined {
    return this.#overall.planned;
  }

  /** Every measured name with its planned estimate, in first-measured order. */
  *entries(): IterableIterator<[string, number]> {
    for (const [name, stats] of this.#byName) {
      const planned = stats.planned;
      if (planned !== undefined) yield [name, planned];
    }
  }
}

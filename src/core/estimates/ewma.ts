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
 * Measured service time (ms) per task name, plus one over all samples. A name never measured is
 * estimated by the overall average; nothing is estimated before the first sample at all.
 */
export class ServiceTimes {
  readonly #byName = new Map<string, Ewma>();
  readonly #overall: Ewma;
  readonly #alpha: number;
  readonly #maxNames: number;

  constructor(alpha: number = SERVICE_TIME_ALPHA, maxNames: number = DEFAULT_MAX_TRACKED_NAMES) {
    this.#overall = new Ewma(alpha);
    this.#alpha = alpha;
    this.#maxNames = maxNames;
  }

  /** Negative, NaN and infinite durations are ignored. */
  record(name: string, ms: number): void {
    if (!(ms >= 0) || ms === Infinity) return;
    this.#overall.update(ms);
    let ewma = this.#byName.get(name);
    if (ewma === undefined) {
      if (this.#byName.size >= this.#maxNames) return;
      ewma = new Ewma(this.#alpha);
      this.#byName.set(name, ewma);
    }
    ewma.update(ms);
  }

  estimate(name: string): number | undefined {
    return this.#byName.get(name)?.value ?? this.#overall.value;
  }

  get overall(): number | undefined {
    return this.#overall.value;
  }

  /** Every measured name with its estimate, in first-measured order. */
  *entries(): IterableIterator<[string, number]> {
    for (const [name, ewma] of this.#byName) {
      if (ewma.value !== undefined) yield [name, ewma.value];
    }
  }
}

import { InvalidArgumentError, describeValue } from '../errors.js';

/**
 * Alarms are pure state machines fed one sample per tick (time passed in). Each has a raise level
 * and a lower clear level: between the two it keeps its state, so a figure hovering at a
 * threshold does not flap.
 */
export type AlarmChange = 'raised' | 'cleared';

export const DEFAULT_FILL_WARNING = 0.7;
export const DEFAULT_FILL_CRITICAL = 0.9;
/** A fill alarm clears once the fill is this far below its threshold. */
export const DEFAULT_FILL_HYSTERESIS = 0.1;

/** Raised at `value ≥ raiseAt`, cleared at `value < clearBelow`. */
export class ThresholdAlarm {
  readonly raiseAt: number;
  readonly clearBelow: number;
  #active = false;
  #since = 0;

  constructor(raiseAt: number, clearBelow: number) {
    if (!(clearBelow <= raiseAt)) throw new InvalidArgumentError(`Expected the clear level (${clearBelow}) to be at most the raise level (${raiseAt})`);
    this.raiseAt = raiseAt;
    this.clearBelow = clearBelow;
  }

  get isActive(): boolean {
    return this.#active;
  }

  /** When the alarm was last raised (the caller's clock). */
  get since(): number {
    return this.#since;
  }

  update(value: number, now: number): AlarmChange | undefined {
    if (!this.#active && value >= this.raiseAt) {
      this.#active = true;
      this.#since = now;
      return 'raised';
    }
    if (this.#active && value < this.clearBelow) {
      this.#active = false;
      return 'cleared';
    }
    return undefined;
  }
}

export interface FillThresholds {
  /** @default 0.7 */
  warning: number;
  /** @default 0.9 */
  critical: number;
  /** @default 0.1 */
  hysteresis: number;
}

/** Checks fill thresholds: ratios in (0, 1], warning below critical, hysteresis below warning. */
export function resolveFillThresholds(input: Partial<FillThresholds> = {}): FillThresholds {
  const warning = input.warning ?? DEFAULT_FILL_WARNING;
  const critical = input.critical ?? DEFAULT_FILL_CRITICAL;
  const hysteresis = input.hysteresis ?? DEFAULT_FILL_HYSTERESIS;
  const ratio = (name: string, v: number): void => {
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw new InvalidArgumentError(`Expected \`${name}\` to be a fill ratio in (0, 1], got ${describeValue(v)}`);
  };
  ratio('fillWarning', warning);
  ratio('fillCritical', critical);
  if (warning > critical) throw new InvalidArgumentError(`Expected \`fillWarning\` (${warning}) to be at most \`fillCritical\` (${critical})`);
  if (typeof hysteresis !== 'number' || !(hysteresis >= 0 && hysteresis < warning)) {
    throw new InvalidArgumentError(`Expected \`fillHysteresis\` to be a ratio from 0 to below fillWarning (${warning}), got ${describeValue(hysteresis)}`);
  }
  return Object.freeze({ warning, critical, hysteresis });
}

export interface DriftSettings {
  /** Raise when the recent figure exceeds `factor ×` the norm. @default 2 */
  factor: number;
  /** Clear when it falls below `clearFactor ×` the norm. @default 1.5 */
  clearFactor: number;
  /** …and only when it exceeds the norm by at least this much (ms): sub-millisecond jitter is no drift. @default 5 */
  minExcessMs: number;
  /** Samples the norm needs before it is trusted. @default 30 */
  warmup: number;
  /** Weight of each new sample in the norm; small, so the norm is the last minutes, not seconds. @default 1/120 */
  alpha: number;
}

export const DEFAULT_DRIFT: Readonly<DriftSettings> = Object.freeze({ factor: 2, clearFactor: 1.5, minExcessMs: 5, warmup: 30, alpha: 1 / 120 });

/**
 * Service time above its recent norm. The norm is a slow moving average of the samples, so a
 * lasting change becomes the new norm after some minutes and the alarm clears by itself; a
 * sudden slowdown is raised within a tick.
 */
export class DriftAlarm {
  readonly #settings: DriftSettings;
  #norm: number | undefined;
  #samples = 0;
  #active = false;
  #since = 0;

  constructor(settings: DriftSettings = DEFAULT_DRIFT) {
    this.#settings = settings;
  }

  get isActive(): boolean {
    return this.#active;
  }

  get since(): number {
    return this.#since;
  }

  /** The norm (ms); undefined before the first sample. */
  get norm(): number | undefined {
    return this.#norm;
  }

  /** The figure above which the alarm raises now. */
  get threshold(): number {
    return this.#norm === undefined ? Infinity : Math.max(this.#norm * this.#settings.factor, this.#norm + this.#settings.minExcessMs);
  }

  /** One recent figure (e.g. p90 of the last seconds), or undefined when there were too few samples to say. */
  update(sample: number | undefined, now: number): AlarmChange | undefined {
    if (sample === undefined || !Number.isFinite(sample)) return undefined;
    const s = this.#settings;
    const norm = this.#norm;
    let change: AlarmChange | undefined;
    if (norm !== undefined && this.#samples >= s.warmup) {
      if (!this.#active && sample > this.threshold) {
        this.#active = true;
        this.#since = now;
        change = 'raised';
      } else if (this.#active && (sample < norm * s.clearFactor || sample - norm < s.minExcessMs)) {
        this.#active = false;
        change = 'cleared';
      }
    }
    this.#norm = norm === undefined ? sample : norm + s.alpha * (sample - norm);
    this.#samples++;
    return change;
  }
}

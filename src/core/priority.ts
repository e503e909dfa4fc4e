import { InvalidArgumentError, describeValue } from './errors.js';

/** Priority 0 (lowest) … 9 (highest). Higher is dispatched first; FIFO within one priority. */
export type Priority = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
export type PriorityName = 'low' | 'normal' | 'high';

export const PRIORITY_LEVELS = 10;
export const PRIORITY_BY_NAME: Readonly<Record<PriorityName, Priority>> = Object.freeze({ low: 2, normal: 5, high: 8 });
export const DEFAULT_PRIORITY: Priority = PRIORITY_BY_NAME.normal;

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < PRIORITY_LEVELS;
}

/** Accepts `high`/`normal`/`low`, an integer 0–9 or its decimal string; names the option on error. */
export function parsePriority(value: unknown, option = 'priority'): Priority {
  if (value === undefined) return DEFAULT_PRIORITY;
  if (typeof value === 'string' && value in PRIORITY_BY_NAME) return PRIORITY_BY_NAME[value as PriorityName];
  const n = typeof value === 'string' && /^\d$/.test(value) ? Number(value) : value;
  if (isPriority(n)) return n;
  throw new InvalidArgumentError(`Expected \`${option}\` to be "high", "normal", "low" or an integer 0–9, got ${describeValue(value)}`);
}

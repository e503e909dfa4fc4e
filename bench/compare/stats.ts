/** Median with min and max of repeated measurements (NaN-free values only). */
export interface Spread { median: number; min: number; max: number; n: number }

export function spread(values: (number | undefined)[]): Spread {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, min: v[0]!, max: v.at(-1)!, n: v.length };
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "median (min–max)", or the one value when the repetitions agree. */
export function fmtSpread(s: Spread, digits = 0, unit = ''): string {
  if (s.n === 0) return '–';
  const m = `${fmt(s.median, digits)}${unit}`;
  return s.n === 1 || fmt(s.min, digits) === fmt(s.max, digits) ? m : `${m} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

// @ts-check
/** How figures read on the page: short, with units, never `NaN`. */

/** @param {number} ms */
export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return formatDuration(ms);
}

/** A span of time as its two largest units: `3d 4h`, `2h 5m`, `4m 10s`, `12s`. @param {number} ms */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  const units = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  /** @type {string[]} */
  const parts = [];
  let rest = s;
  for (const [unit, size] of /** @type {Array<[string, number]>} */ (units)) {
    if (rest >= size || (parts.length === 0 && size === 1)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** A count or rate: `950`, `12.3k`, `4.1M`; rates below 10 keep one decimal. @param {number} n */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs < 10 && !Number.isInteger(n)) return n.toFixed(1);
  return String(Math.round(n));
}

/** A 0..1 ratio as a percentage. @param {number} ratio */
export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return '–';
  return `${Math.round(ratio * 100)}%`;
}

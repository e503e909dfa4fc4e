// Minimal SVG line charts: one line per system over seconds, linear or log y axis.
export interface Line { name: string; points: [number, number][] }

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd'];
const W = 720;
const H = 360;
const M = { left: 64, right: 160, top: 36, bottom: 44 };

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function ticks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) out.push(10 ** p);
    return out;
  }
  const step = 10 ** Math.floor(Math.log10(Math.max(max - min, 1e-9) / 4));
  const nice = [1, 2, 5, 10].map((k) => k * step).find((s) => (max - min) / s <= 6) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.floor(min / nice) * nice; v <= max + 1e-9; v += nice) out.push(v);
  return out;
}

export function lineChart(options: { title: string; xLabel: string; yLabel: string; lines: Line[]; logY?: boolean }): string {
  const log = options.logY === true;
  const finite = options.lines.flatMap((l) => l.points).filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y);
  const xMax = Math.max(1, ...xs);
  let yMin = log ? 10 ** Math.floor(Math.log10(Math.min(...ys, 1))) : 0;
  let yMax = Math.max(...ys, log ? 10 : 1);
  if (log) yMax = 10 ** Math.ceil(Math.log10(yMax));
  else yMax = ticks(0, yMax, false).at(-1)! >= yMax ? ticks(0, yMax, false).at(-1)! : yMax;
  if (yMin === yMax) yMin = 0;
  const fy = (y: number): number => {
    const t = log ? (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : (y - yMin) / (yMax - yMin);
    return M.top + (1 - t) * (H - M.top - M.bottom);
  };
  const fx = (x: number): number => M.left + (x / xMax) * (W - M.left - M.right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${escape(options.title)}</text>`,
  ];
  for (const t of ticks(yMin, yMax, log)) {
    if (t < yMin || t > yMax) continue;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${fy(t).toFixed(1)}" y2="${fy(t).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(fy(t) + 4).toFixed(1)}" text-anchor="end">${t.toLocaleString('en-US')}</text>`);
  }
  for (const t of ticks(0, xMax, false)) {
    parts.push(`<text x="${fx(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}${log ? ' (log)' : ''}</text>`,
  );
  options.lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = line.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
    if (points.length > 0) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${fx(x).toFixed(1)},${fy(Math.min(y, yMax)).toFixed(1)}`).join(' ')}"/>`);
    }
    const ly = M.top + 10 + i * 18;
    parts.push(`<line x1="${W - M.right + 12}" x2="${W - M.right + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${W - M.right + 38}" y="${ly + 4}">${escape(line.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

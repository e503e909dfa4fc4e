// Turns the measurements of a run into bench/results/REPORT.md and its SVG charts.
import { CAPACITY, DEADLINE_MS, MAX_LATENCY_MS, RECOVERED_P99_MS, type Scenario } from './scenarios.js';
import type { Measurement } from './run-one.js';
import type { GatewayRow } from './raw-limits.js';
import { fmt, fmtSpread, spread, type Spread } from './stats.js';
import { lineChart, type Line } from './svg.js';

export interface RunData {
  startedAt: string;
  finishedAt: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; loadAverage: number[] };
  commit: string;
  versions: Record<string, string>;
  skipped: Record<string, string>;
  scenarios: Scenario[];
  /** scenario id → system → one entry per repetition (an error message when it failed). */
  measurements: Record<string, Record<string, (Measurement | string)[]>>;
  echoPerSecond: number[];
  /** What 10 slots of the 10 ms task complete per second with no queue (measureSlotCeiling). */
  slotCeilingPerSecond?: number[];
  gateway: GatewayRow[] | string;
}

const ok = (m: Measurement | string): m is Measurement => typeof m !== 'string';

function runs(data: RunData, scenario: string, system: string): Measurement[] {
  return (data.measurements[scenario]?.[system] ?? []).filter(ok);
}

/** Seconds after the overload ends until every later second's p99 is ≤ RECOVERED_P99_MS. */
export function recoverySeconds(m: Measurement, overloadEndsAt: number): number | undefined {
  const after = m.result.perSecond.slice(overloadEndsAt);
  for (let i = 0; i < after.length; i++) {
    // A second with sends still unanswered (past the drain cap) has not recovered.
    if (after.slice(i).every((s) => s.accepted + s.rejected === s.sent && (s.accepted === 0 || s.p99 <= RECOVERED_P99_MS))) return i;
  }
  return undefined;
}

/**
 * Peak RSS of the server in the second half of the overload over its peak in the first half,
 * less one: about 0 for a server whose memory levelled off (a GC that gives memory back makes it
 * negative), positive and rising with the run's length for a queue that keeps growing.
 */
export function memoryGrowth(m: Measurement, scenario: Scenario): number {
  if (scenario.plan.mode !== 'open') return Number.NaN;
  const [warmUp, overload] = scenario.plan.phases;
  if (warmUp === undefined || overload === undefined) return Number.NaN;
  const start = warmUp.seconds;
  const mid = start + Math.floor(overload.seconds / 2);
  const rss = m.samples.map((s) => s.rssMiB);
  const first = rss.slice(start, mid).filter(Number.isFinite);
  const second = rss.slice(mid, start + overload.seconds).filter(Number.isFinite);
  if (first.length === 0 || second.length === 0) return Number.NaN;
  return Math.max(...second) / Math.max(...first) - 1;
}

const metric = (data: RunData, scenario: string, system: string, f: (m: Measurement) => number | undefined): Spread =>
  spread(runs(data, scenario, system).map(f));

/** The repetition whose goodput (or throughput) is the median: its series are the ones charted. */
function medianRun(list: Measurement[]): Measurement | undefined {
  const sorted = [...list].sort((a, b) => a.result.goodputPerSecond - b.result.goodputPerSecond);
  return sorted[Math.floor(sorted.length / 2)];
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface Report { markdown: string; charts: Record<string, string> }

export function buildReport(data: RunData): Report {
  const systems = Object.keys(data.versions);
  const charts: Record<string, string> = {};
  const out: string[] = [];
  const ids = new Set(data.scenarios.map((s) => s.id));
  const throughput = (system: string): Spread => metric(data, 'throughput', system, (m) => m.result.throughput);
  const echo = spread(data.echoPerSecond);

  out.push('# sluice side by side: BullMQ, RabbitMQ, NATS JetStream and the raw limits', '',
    `Produced by \`npm run bench\` from ${data.startedAt} to ${data.finishedAt}. Every figure is the median of`,
    `${Math.max(...data.scenarios.map((s) => Math.max(...systems.map((sys) => (data.measurements[s.id]?.[sys] ?? []).length))))} repetitions with the min–max in brackets; repetitions interleave the systems, so`,
    'noise on the shared machine falls on all of them alike. Ratios are the headline: absolute figures drift between machines.', '',
    '## Machine and versions', '',
    table(['', ''], [
      ['CPU', `${data.machine.cpu}, ${data.machine.cores} cores`],
      ['memory', `${fmt(data.machine.memoryGiB, 1)} GiB`],
      ['node', data.machine.node],
      ['load average before the run (1, 5, 15 min)', data.machine.loadAverage.map((l) => fmt(l, 2)).join(', ')],
      ['sluice commit', data.commit],
      ...Object.entries(data.versions).map(([s, v]) => [s, v]),
      ...Object.entries(data.skipped).map(([s, why]) => [s, `skipped: ${why}`]),
    ]), '');

  // ── headline ──
  out.push('## Headline (sluice ÷ peer)', '');
  const peers = systems.filter((s) => s !== 'sluice');
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 2)}×` : '–');
  const overloadIds = data.scenarios.filter((s) => s.id.startsWith('overload-')).map((s) => s.id);
  const headRows: string[][] = [];
  if (ids.has('throughput')) headRows.push(['no-op throughput, tasks/s (higher is better)', ...peers.map((p) => ratio(throughput('sluice').median, throughput(p).median))]);
  for (const id of overloadIds) {
    const p99 = (s: string): number => metric(data, id, s, (m) => m.result.accepted.p99).median;
    const good = (s: string): number => metric(data, id, s, (m) => m.result.goodputPerSecond).median;
    headRows.push([`${id}: p99 latency of accepted tasks (lower is better)`, ...peers.map((p) => ratio(p99('sluice'), p99(p)))]);
    headRows.push([`${id}: goodput within ${DEADLINE_MS / 1000} s (higher is better)`, ...peers.map((p) => ratio(good('sluice'), good(p)))]);
  }
  out.push(table(['measure', ...peers], headRows), '');

  // ── throughput ──
  if (ids.has('throughput')) {
    out.push('## 1. Throughput', '', 'No-op tasks end to end (submit → worker → result back to the submitter), 500 in flight from one load process, 10 worker slots. The raw limits are measured in the same run.', '');
    out.push(table(['system', 'tasks/s', 'vs sluice'], [
      ...systems.map((s) => [s, fmtSpread(throughput(s)), ratio(throughput(s).median, throughput('sluice').median)]),
      ['msgpack TCP echo (raw limit, messages/s)', fmtSpread(echo), ratio(echo.median, throughput('sluice').median)],
      ...(typeof data.gateway === 'string' ? [] : data.gateway.filter((r) => r.scenario === 'bare').map((r) =>
        ['bare node:http (raw limit, requests/s; see 5.)', `${fmt(r['req/s'])} (${r['min–max']})`, ratio(r['req/s'], throughput('sluice').median)])),
    ]), '');
  }
  if (ids.has('light')) {
    out.push('## 2. Latency at light load', '', 'Open loop, 200 no-op tasks/s (Poisson) for 10 s after 2 s of warm-up; latency from the intended send time, ms.', '');
    out.push(table(['system', 'p50', 'p99', 'p99.9'], systems.map((s) => [s,
      fmtSpread(metric(data, 'light', s, (m) => m.result.accepted.p50), 2),
      fmtSpread(metric(data, 'light', s, (m) => m.result.accepted.p99), 2),
      fmtSpread(metric(data, 'light', s, (m) => m.result.accepted.p999), 2)])), '');
  }

  // ── overload ──
  if (overloadIds.length > 0) {
    out.push('## 3. Overload', '',
      `Tasks that each await 10 ms on 10 slots (capacity ≈ ${fmt(CAPACITY)}/s), open-loop Poisson arrivals of fresh tasks after 2 s at half capacity.`,
      `sluice runs with \`--max-latency ${MAX_LATENCY_MS}\`; RabbitMQ and JetStream hold at most 1,000 queued tasks; BullMQ has no bound.`,
      `Goodput counts tasks completed within ${DEADLINE_MS / 1000} s of their intended send. Refused tasks are not retried (fresh arrivals only).`,
      'Drain is the time from the last send to the last answer (capped; "–" means not drained by the cap). Generator lag is how far behind its Poisson schedule the load process sent (its latencies still count from the schedule): a large figure means the system\'s client library could not submit at that rate on this machine. Errors are submissions that failed otherwise (e.g. a publish that timed out). RSS peak compares the server\'s peak resident memory in the second half of the overload with the first half: ≈ 0% is flat, a growing queue shows as a positive figure.',
      `Slot ceiling: 10 slots that restart a 10 ms await the moment it ends, with no queue, complete ${fmtSpread(spread(data.slotCeilingPerSecond ?? []))} tasks/s on this machine (a 10 ms timer takes a little longer than 10 ms): no system's goodput can pass it.`, '');
    for (const id of overloadIds) {
      const scenario = data.scenarios.find((s) => s.id === id)!;
      out.push(`### ${scenario.title}`, '');
      out.push(table(['system', 'goodput/s', 'accepted/s', 'rejected/s', 'p50 accepted ms', 'p99 accepted ms', 'p99 to rejection ms', 'peak queue depth', 'RSS peak, 2nd half vs 1st', 'drain ms', 'generator lag p99 ms', 'errors'],
        systems.map((s) => [s,
          fmtSpread(metric(data, id, s, (m) => m.result.goodputPerSecond)),
          fmtSpread(metric(data, id, s, (m) => m.result.acceptedPerSecond)),
          fmtSpread(metric(data, id, s, (m) => m.result.rejectedPerSecond)),
          fmtSpread(metric(data, id, s, (m) => m.result.accepted.p50)),
          fmtSpread(metric(data, id, s, (m) => m.result.accepted.p99)),
          fmtSpread(metric(data, id, s, (m) => m.result.rejection.p99), 1),
          fmtSpread(metric(data, id, s, (m) => Math.max(...m.samples.map((x) => x.depth).filter(Number.isFinite)))),
          fmtSpread(metric(data, id, s, (m) => 100 * memoryGrowth(m, scenario)), 1, '%'),
          fmtSpread(metric(data, id, s, (m) => m.result.drainMs)),
          fmtSpread(metric(data, id, s, (m) => m.result.sendLag?.p99)),
          fmtSpread(metric(data, id, s, (m) => m.result.errors))])), '');
      charts[`${id}-latency.svg`] = seriesChart(data, id, systems, `${scenario.title}: p99 latency of accepted tasks by send second`, 'ms', (m) => m.result.perSecond.map((x, i) => [i, x.p99]), true);
      charts[`${id}-depth.svg`] = seriesChart(data, id, systems, `${scenario.title}: queue depth`, 'tasks waiting', (m) => m.samples.map((x, i) => [i, x.depth]), false);
      charts[`${id}-memory.svg`] = seriesChart(data, id, systems, `${scenario.title}: server RSS`, 'MiB', (m) => m.samples.map((x, i) => [i, x.rssMiB]), false);
      out.push(`![latency](${id}-latency.svg)`, `![queue depth](${id}-depth.svg)`, `![memory](${id}-memory.svg)`, '');
    }
  }

  // ── recovery ──
  const recoveries = data.scenarios.filter((s) => s.id.startsWith('recovery'));
  if (recoveries.length > 0) {
    out.push('## 4. Recovery', '', `Recovered when every later second's p99 is ≤ ${RECOVERED_P99_MS} ms; "–" means not within the 10 s after the overload.`, '');
    for (const recovery of recoveries) {
      const id = recovery.id;
      out.push(`### ${recovery.title}`, '');
      if (recovery.note !== undefined) out.push(recovery.note, '');
      out.push(table(['system', 'seconds to recover', 'p99 accepted ms (whole run)', 'goodput/s'], systems.map((s) => [s,
        fmtSpread(metric(data, id, s, (m) => recoverySeconds(m, recovery.overloadEndsAt!))),
        fmtSpread(metric(data, id, s, (m) => m.result.accepted.p99)),
        fmtSpread(metric(data, id, s, (m) => m.result.goodputPerSecond))])), '');
      charts[`${id}-latency.svg`] = seriesChart(data, id, systems, `${recovery.title}: p99 latency by send second (overload ends at ${recovery.overloadEndsAt} s)`, 'ms', (m) => m.result.perSecond.map((x, i) => [i, x.p99]), true);
      charts[`${id}-depth.svg`] = seriesChart(data, id, systems, `${recovery.title}: queue depth`, 'tasks waiting', (m) => m.samples.map((x, i) => [i, x.depth]), false);
      out.push(`![recovery latency](${id}-latency.svg)`, `![recovery depth](${id}-depth.svg)`, '');
    }
  }

  // ── gateway ──
  out.push('## 5. Gateway', '', 'autocannon (100 connections, POST with a small JSON body) against `sluice dev --http-port` with a no-op task, beside a bare node:http server, measured by `npm run bench:gateway` as a child process.', '');
  if (typeof data.gateway === 'string') out.push(`Not measured: ${data.gateway}`, '');
  else out.push(table(['scenario', 'req/s', 'min–max', 'vs bare', 'p50 ms', 'p99 ms', 'statuses'], data.gateway.map((r) => [r.scenario, fmt(r['req/s']), r['min–max'], r['vs bare'], String(r['p50 ms']), String(r['p99 ms']), r.statuses])), '');

  out.push(...targets(data, overloadIds), '');
  return { markdown: `${out.join('\n')}\n`, charts };
}

function seriesChart(data: RunData, id: string, systems: string[], title: string, yLabel: string, series: (m: Measurement) => [number, number][], logY: boolean): string {
  const lines: Line[] = [];
  for (const s of systems) {
    const m = medianRun(runs(data, id, s));
    if (m !== undefined) lines.push({ name: s, points: series(m) });
  }
  return lineChart({ title, xLabel: 'seconds from the start of the load', yLabel, lines, logY });
}

function targets(data: RunData, overloadIds: string[]): string[] {
  const rows: string[][] = [];
  const check = (what: string, got: number, pass: boolean, shown: string): void => {
    rows.push([what, Number.isFinite(got) ? shown : 'not measured', Number.isFinite(got) ? (pass ? 'met' : '**missed**') : '–']);
  };
  const sluiceThroughput = metric(data, 'throughput', 'sluice', (m) => m.result.throughput).median;
  const bull = metric(data, 'throughput', 'BullMQ', (m) => m.result.throughput).median;
  check('throughput ≥ 3× BullMQ', sluiceThroughput / bull, sluiceThroughput / bull >= 3, `${fmt(sluiceThroughput / bull, 2)}×`);
  const goodputTarget: Record<string, number> = { 'overload-2x': 0.95, 'overload-5x': 0.95, 'overload-10x': 0.92 };
  for (const id of overloadIds) {
    const get = (f: (m: Measurement) => number | undefined): number => metric(data, id, 'sluice', f).median;
    const share = get((m) => m.result.goodputPerSecond) / CAPACITY;
    const need = goodputTarget[id] ?? 0.95;
    const ceiling = spread(data.slotCeilingPerSecond ?? []).median;
    const ofCeiling = Number.isFinite(ceiling) ? ` (${fmt((100 * share * CAPACITY) / ceiling)}% of the slot ceiling)` : '';
    check(`${id}: goodput ≥ ${need * 100}% of capacity`, share, share >= need, `${fmt(share * 100)}% of 1,000/s${ofCeiling}`);
    const p99 = get((m) => m.result.accepted.p99);
    check(`${id}: p99 accepted ≤ ${MAX_LATENCY_MS + 10} ms`, p99, p99 <= MAX_LATENCY_MS + 10, `${fmt(p99)} ms`);
    const rejection = get((m) => m.result.rejection.p99);
    check(`${id}: p99 time to a rejection ≤ 5 ms`, rejection, rejection <= 5, `${fmt(rejection, 1)} ms`);
    const scenario = data.scenarios.find((s) => s.id === id)!;
    const growth = get((m) => memoryGrowth(m, scenario));
    check(`${id}: memory flat (RSS peak of the second half ≤ 5% over the first half's)`, growth, growth <= 0.05, `${growth >= 0 ? '+' : ''}${fmt(100 * growth, 1)}%`);
    const drain = get((m) => m.result.drainMs);
    check(`${id}: drain ≤ ${MAX_LATENCY_MS * 1.1} ms`, drain, drain <= MAX_LATENCY_MS * 1.1, `${fmt(drain)} ms`);
  }
  if (typeof data.gateway !== 'string') {
    const bare = data.gateway.find((r) => r.scenario === 'bare')?.['req/s'] ?? Number.NaN;
    for (const row of data.gateway.filter((r) => r.scenario.startsWith('gateway'))) {
      const share = row['req/s'] / bare;
      check(`${row.scenario} ≥ 60% of bare node:http`, share, share >= 0.6, `${fmt(100 * share)}%`);
    }
  }
  return ['## Targets for sluice', '', table(['target', 'measured (median)', ''], rows)];
}

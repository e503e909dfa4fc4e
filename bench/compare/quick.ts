// The CI form of the benchmark (≤ 90 s, sluice only). Absolute speed differs between machines and
// from one minute to the next on a shared one, so each figure is read as a ratio to a raw limit
// measured in the same run, and compared with the ratio recorded in quick-baseline.json. It fails
// only on a gross regression: a ratio below half of its recorded value.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measureEcho, measureGateway } from './raw-limits.js';
import { measure } from './run-one.js';
import { CAPACITY, scenarios } from './scenarios.js';
import { sluice } from './sluice-system.js';

const BASELINE = fileURLToPath(new URL('../../../bench/compare/quick-baseline.json', import.meta.url));

type Ratios = Record<'throughputVsEcho' | 'gatewayVsBare' | 'overloadGoodputVsCapacity', number>;

const DESCRIPTIONS: Record<keyof Ratios, string> = {
  throughputVsEcho: 'no-op tasks/s end to end ÷ msgpack TCP echoes/s',
  gatewayVsBare: 'gateway req/s ÷ bare node:http req/s',
  overloadGoodputVsCapacity: 'goodput at 5× overload ÷ nominal capacity',
};

/** Resolves with the process exit code: 0, or 1 when a ratio fell below half of its baseline. */
export async function runQuick(options: { record: boolean }): Promise<number> {
  const [throughput, overload] = scenarios({ quick: true });
  const echo = await measureEcho(3);
  const tasks = (await measure(sluice, throughput!.config, throughput!.plan)).result.throughput ?? 0;
  const goodput = (await measure(sluice, overload!.config, overload!.plan)).result.goodputPerSecond;
  const rows = await measureGateway({ rounds: 1, seconds: 3, scenarios: 'gateway' });
  const rate = (name: string): number => rows.find((r) => r.scenario === name)?.['req/s'] ?? 0;
  const ratios: Ratios = {
    throughputVsEcho: tasks / echo,
    gatewayVsBare: rate('gateway') / rate('bare'),
    overloadGoodputVsCapacity: goodput / CAPACITY,
  };
  if (options.record) {
    writeFileSync(BASELINE, `${JSON.stringify(ratios, null, 2)}\n`);
    process.stdout.write(`recorded ${JSON.stringify(ratios)}\n`);
    return 0;
  }
  const baseline = JSON.parse(readFileSync(BASELINE, 'utf8')) as Ratios;
  let failed = false;
  process.stdout.write(`bench --quick: echo ${Math.round(echo)}/s, tasks ${Math.round(tasks)}/s, gateway ${Math.round(rate('gateway'))} req/s vs bare ${Math.round(rate('bare'))}, goodput ${Math.round(goodput)}/s\n`);
  for (const key of Object.keys(DESCRIPTIONS) as (keyof Ratios)[]) {
    const pass = ratios[key] >= baseline[key] / 2;
    failed ||= !pass;
    process.stdout.write(`${pass ? 'ok  ' : 'FAIL'} ${DESCRIPTIONS[key]}: ${ratios[key].toFixed(3)} (recorded ${baseline[key].toFixed(3)}, fails below ${(baseline[key] / 2).toFixed(3)})\n`);
  }
  return failed ? 1 : 0;
}

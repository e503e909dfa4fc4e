// npm run bench — sluice side by side with BullMQ, RabbitMQ and NATS JetStream on this machine,
// three repetitions per scenario, interleaved; writes bench/results/REPORT.md, results.json and
// SVG charts. `npm run bench -- --quick` is the CI form: sluice only, read as ratios against raw
// limits measured in the same run (see quick.ts).
// Flags: --quick (--record: store its ratios as the baseline), --reps N (default 3), --systems a,b
// (names as in the report), --report-only (rebuild REPORT.md and charts from results.json).
// BENCH_COMMIT names the commit measured when the run is not in a git checkout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { measureEcho, measureGateway, measureSlotCeiling } from './raw-limits.js';
import { runQuick } from './quick.js';
import { buildReport, type RunData } from './report.js';
import { measure } from './run-one.js';
import { SLOTS, scenarios } from './scenarios.js';
import { ServerUnreachableError } from './system.js';
import { SYSTEMS } from './systems.js';

const RESULTS = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

async function full(reps: number, only: string[] | undefined): Promise<void> {
  const startedAt = new Date().toISOString();
  const machine = { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, memoryGiB: totalmem() / 2 ** 30, node: process.version, loadAverage: loadavg() };
  const versions: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  for (const system of SYSTEMS.filter((s) => only === undefined || only.includes(s.name))) {
    try {
      versions[system.name] = await system.version();
    } catch (error) {
      if (!(error instanceof ServerUnreachableError)) throw error;
      skipped[system.name] = error.message;
      process.stderr.write(`skipped ${system.name}: ${error.message}\n`);
    }
  }
  const present = SYSTEMS.filter((s) => versions[s.name] !== undefined);
  const list = scenarios({ quick: false });
  const measurements: RunData['measurements'] = {};
  const echoPerSecond: number[] = [];
  const slotCeilingPerSecond: number[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    echoPerSecond.push(await measureEcho(5));
    slotCeilingPerSecond.push(await measureSlotCeiling(SLOTS, 3));
    for (const scenario of list) {
      for (const system of present) {
        process.stderr.write(`${new Date().toISOString().slice(11, 19)} rep ${rep}/${reps} ${scenario.id} ${system.name}\n`);
        const slot = ((measurements[scenario.id] ??= {})[system.name] ??= []);
        try {
          slot.push(await measure(system, scenario.config, scenario.plan));
        } catch (error) {
          process.stderr.write(`  failed: ${String(error)}\n`);
          slot.push(String(error));
        }
      }
    }
  }
  process.stderr.write('gateway (bench/gateway.ts)\n');
  const gateway = await measureGateway({ rounds: reps, seconds: 5, scenarios: 'gateway,gateway-none,queue-full' }).catch((error: unknown) => String(error));
  const data: RunData = {
    startedAt, finishedAt: new Date().toISOString(), machine,
    commit: process.env['BENCH_COMMIT'] ?? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
    versions, skipped, scenarios: list, measurements, echoPerSecond, slotCeilingPerSecond, gateway,
  };
  mkdirSync(RESULTS, { recursive: true });
  // The raw data first: a report can be rebuilt from it (--report-only) without measuring again.
  writeFileSync(`${RESULTS}results.json`, `${JSON.stringify(data)}\n`);
  writeReport(data);
}

function writeReport(data: RunData): void {
  const report = buildReport(data);
  writeFileSync(`${RESULTS}REPORT.md`, report.markdown);
  for (const [name, svg] of Object.entries(report.charts)) writeFileSync(`${RESULTS}${name}`, svg);
  process.stdout.write(report.markdown);
}

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, record: { type: 'boolean' }, reps: { type: 'string' }, systems: { type: 'string' }, 'report-only': { type: 'boolean' } } });
if (values['report-only'] === true) {
  writeReport(JSON.parse(readFileSync(`${RESULTS}results.json`, 'utf8')) as RunData);
} else if (values.quick === true) {
  process.exitCode = await runQuick({ record: values.record === true });
} else {
  const reps = Number(values.reps ?? 3);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`Expected --reps to be a positive integer, got ${values.reps}`);
  await full(reps, values.systems?.split(','));
}
process.exit();

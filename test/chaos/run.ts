// npm run chaos -- --scenario NAME|all --seconds N --seed S [--dir DIR]
//
// Starts a manager and worker nodes through the CLI and client processes, all on 127.0.0.1; loads
// them while injecting the scenario's faults for N seconds; heals, waits for every answer (bounded),
// stops everything, then judges the recorded histories. Prints each scenario's verdict as JSON and
// a summary line; exits 0 when every scenario passes. The seed drives every random choice and
// delay (faults and task mix), so a failing run replays with the same --seed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkHistory, summaryLine, type Verdict } from '../../src/core/history/check.js';
import type { EndEvent, HistoryEvent, StartEvent } from '../../src/core/history/events.js';
import { historyTime, openHistory } from '../../src/protocol/history-file.js';
import { ChaosCluster } from './cluster.js';
import { CHAOS_CLIENT_ENV, type ChaosClientConfig } from './client-process.js';
import { readHistories } from './histories.js';
import { Prng } from './prng.js';
import { CLIENTS, SCENARIOS, type Scenario } from './scenarios.js';

const CLIENT_SCRIPT = fileURLToPath(new URL('./client-process.js', import.meta.url));
/** Past a client's own drain bound, how long the runner waits for it to exit. */
const CLIENT_EXIT_GRACE_MS = 30_000;

export interface Check { name: string; ok: boolean; detail: string; gating: boolean }

export interface ScenarioReport {
  scenario: string;
  seed: number;
  seconds: number;
  dir: string;
  ok: boolean;
  summary: string;
  checks: Check[];
  clients: unknown[];
  verdict: Verdict;
  /** Poison scenario: from a crash on the single-slot node to its next completed task, in ms. */
  replacementReadyMs?: { count: number; p99: number | null; max: number | null };
}

export async function runScenario(name: string, seconds: number, seed: number, baseDir: string): Promise<ScenarioReport> {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`unknown scenario ${JSON.stringify(name)}: expected one of ${Object.keys(SCENARIOS).join(', ')}, all`);
  const dir = join(baseDir, name);
  // Histories are append-only: a directory of an earlier run would mix its events into this one.
  if (existsSync(dir)) throw new Error(`${dir} exists already: give --dir a new directory for each run`);
  mkdirSync(dir, { recursive: true });
  const rng = new Prng(seed);
  const runnerHistory = openHistory(join(dir, 'runner.ndjson'))!;
  runnerHistory.record({ ev: 'meta', at: historyTime(), scenario: name, seed, seconds, cluster: scenario.cluster, load: scenario.load });
  const cluster = new ChaosCluster(dir, scenario.cluster, runnerHistory);
  let clients: { summary: unknown; code: number | null; stderr: string }[];
  try {
    await cluster.start();
    const running = Array.from({ length: CLIENTS }, (_, i) => startClient({
      ...scenario.load, manager: cluster.managerAddress, keyFile: cluster.keyFile,
      history: join(dir, `client-${i}.ndjson`), seed: (seed * 31 + i + 1) >>> 0, seconds,
    }));
    await scenario.faults(cluster, rng, performance.now() + seconds * 1_000);
    await cluster.heal();
    clients = await Promise.all(running);
  } finally {
    await cluster.stop();
    runnerHistory.close();
  }
  const { events, badLines } = readHistories([dir]);
  const verdict = checkHistory(events);
  const report = judge(name, scenario, seed, seconds, dir, verdict, events, clients, badLines);
  writeFileSync(join(dir, 'verdict.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

function startClient(config: ChaosClientConfig): Promise<{ summary: unknown; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--enable-source-maps', CLIENT_SCRIPT], {
    env: { ...process.env, [CHAOS_CLIENT_ENV]: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4_000); });
  const bound = setTimeout(() => child.kill('SIGKILL'), (config.seconds * 1_000) + config.drainMs + CLIENT_EXIT_GRACE_MS);
  return once(child, 'exit').then(([code]) => {
    clearTimeout(bound);
    let summary: unknown;
    try {
      summary = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    } catch {
      summary = undefined;
    }
    return { summary, code: code as number | null, stderr };
  });
}

function judge(
  name: string, scenario: Scenario, seed: number, seconds: number, dir: string, verdict: Verdict,
  events: HistoryEvent[], clients: { summary: unknown; code: number | null; stderr: string }[], badLines: number,
): ScenarioReport {
  const checks: Check[] = [
    { name: 'history verdict', ok: verdict.ok, detail: summaryLine(verdict), gating: true },
    { name: 'histories parse', ok: badLines === 0, detail: `${badLines} unreadable lines`, gating: true },
    {
      name: 'client processes finished', ok: clients.every((c) => c.code === 0),
      detail: clients.map((c) => `exit ${c.code}${c.code === 0 ? '' : `: ${c.stderr.trim().split('\n').slice(-3).join(' | ')}`}`).join('; '),
      gating: true,
    },
  ];
  const work = verdict.outcomesByTask['work'] ?? {};
  const notCompleted = Object.entries(work).filter(([outcome]) => outcome !== 'completed');
  checks.push({
    name: 'every work task completed', ok: notCompleted.length === 0,
    detail: notCompleted.length === 0 ? `${work['completed'] ?? 0} completed` : `not completed: ${JSON.stringify(Object.fromEntries(notCompleted))}`,
    gating: scenario.workMustComplete,
  });
  const heartbeatTimeoutMs = scenario.cluster.heartbeatMs * 3;
  const { kill, pause } = verdict.redispatch;
  if (kill.count > 0) checks.push({ name: 're-dispatch after kill within 1 s (p99)', ok: kill.p99! <= 1_000, detail: JSON.stringify(kill), gating: false });
  if (pause.count > 0) {
    checks.push({ name: `re-dispatch after pause within heartbeat timeout + 1 s = ${heartbeatTimeoutMs + 1_000} ms (p99)`, ok: pause.p99! <= heartbeatTimeoutMs + 1_000, detail: JSON.stringify(pause), gating: false });
  }
  let replacementReadyMs: ScenarioReport['replacementReadyMs'];
  if (name === 'poison') {
    const most = verdict.executionsPerTask['poison'] ?? 0;
    checks.push({ name: `poison tasks executed at most maxAttempts (${scenario.cluster.maxAttempts}) times`, ok: most <= scenario.cluster.maxAttempts, detail: `most: ${most}`, gating: true });
    const poisoned = Object.values(verdict.outcomesByTask['poison'] ?? {}).reduce((a, b) => a + b, 0);
    checks.push({ name: 'poison tasks were submitted and answered', ok: poisoned > 0, detail: JSON.stringify(verdict.outcomesByTask['poison'] ?? {}), gating: true });
    replacementReadyMs = replacementReady(events, 'single');
    checks.push({
      name: 'replacement thread ready within 1 s (single-slot node: crash → next task done)',
      ok: replacementReadyMs.count > 0 && replacementReadyMs.p99! <= 1_000, detail: JSON.stringify(replacementReadyMs), gating: false,
    });
  }
  const ok = checks.every((c) => c.ok || !c.gating);
  return {
    scenario: name, seed, seconds, dir, ok, summary: `${name}: ${summaryLine(verdict)}`, checks,
    clients: clients.map((c) => c.summary), verdict, ...(replacementReadyMs === undefined ? {} : { replacementReadyMs }),
  };
}

/**
 * On a single-slot node, from each crashed attempt to the end of the next task, when that task is
 * `work` dispatched at once (within 100 ms): it could run only on a replacement thread, so the span
 * bounds the replacement's start-up from above (it includes the task's own 20–60 ms).
 */
function replacementReady(events: HistoryEvent[], node: string): { count: number; p99: number | null; max: number | null } {
  const onNode = events.filter((e): e is StartEvent | EndEvent => (e.ev === 'start' || e.ev === 'end') && e.node === node).sort((a, b) => a.at - b.at);
  const delays: number[] = [];
  onNode.forEach((crash, i) => {
    if (crash.ev !== 'end' || crash.status !== 'crashed') return;
    const next = onNode.slice(i + 1).find((e): e is StartEvent => e.ev === 'start');
    if (next === undefined || next.name !== 'work' || next.at - crash.at > 100) return;
    const end = onNode.find((e) => e.ev === 'end' && e.pid === next.pid && e.token === next.token && e.at >= next.at);
    if (end !== undefined && end.ev === 'end' && end.status === 'completed') delays.push(end.at - crash.at);
  });
  delays.sort((a, b) => a - b);
  if (delays.length === 0) return { count: 0, p99: null, max: null };
  const p99 = delays[Math.min(delays.length - 1, Math.ceil(0.99 * delays.length) - 1)]!;
  return { count: delays.length, p99: Math.round(p99), max: Math.round(delays[delays.length - 1]!) };
}

const USAGE = `Usage: npm run chaos -- --scenario NAME|all [--seconds N] [--seed S] [--dir DIR]

Scenarios:
${Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(8)} ${s.summary}`).join('\n')}

  --seconds N   fault and load time per scenario (default 60)
  --seed S      seed of every random choice and delay (default: random, printed)
  --dir DIR     where histories and verdicts go (default: a new temporary directory)`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { scenario: { type: 'string' }, seconds: { type: 'string' }, seed: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 64;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seconds = Number(values.seconds ?? 60);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const names = values.scenario === 'all' ? Object.keys(SCENARIOS) : [values.scenario ?? ''];
  const bad = !Number.isInteger(seconds) || seconds < 1 || seconds > 86_400 ? `--seconds: expected an integer from 1 to 86400, got ${JSON.stringify(values.seconds)}`
    : !Number.isSafeInteger(seed) || seed < 0 ? `--seed: expected a non-negative integer, got ${JSON.stringify(values.seed)}`
      : names.find((n) => SCENARIOS[n] === undefined) !== undefined ? `--scenario: expected one of ${Object.keys(SCENARIOS).join(', ')}, all; got ${JSON.stringify(values.scenario)}`
        : undefined;
  if (bad !== undefined) {
    process.stderr.write(`${bad}\n${USAGE}\n`);
    return 64;
  }
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
  process.stderr.write(`chaos: seed ${seed}, ${seconds} s per scenario, histories in ${dir}\n`);
  const reports: ScenarioReport[] = [];
  for (const name of names) {
    const report = await runScenario(name, seconds, seed, dir);
    reports.push(report);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    for (const check of report.checks) process.stderr.write(`  ${check.ok ? 'ok  ' : check.gating ? 'FAIL' : 'miss'} ${check.name}: ${check.detail}\n`);
    process.stderr.write(`${report.ok ? 'PASS' : 'FAIL'} ${report.summary}\n`);
  }
  const accepted = reports.reduce((sum, r) => sum + r.verdict.accepted, 0);
  const lost = reports.reduce((sum, r) => sum + r.verdict.lost.count, 0);
  const passed = reports.every((r) => r.ok);
  process.stderr.write(`chaos ${passed ? 'PASS' : 'FAIL'}: ${reports.length} scenario(s), seed ${seed}, ${accepted.toLocaleString('en-US')} tasks accepted, ${lost} lost\n`);
  return passed ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; }, (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}

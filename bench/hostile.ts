// npm run fuzz:live -- --seconds 60        100 connections of random and mutated frames
// npm run bench:slow-peers -- --seconds 60  1,000 byte-a-second tricklers + clients that stop reading
//
// A keyed manager and one worker node in their own processes, legitimate no-op load from this
// process, the attack from a child process. The legitimate p99 is measured before, during and
// after the attack in the same run, so the ratio compares like with like on a noisy machine.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type Client } from '../src/index.js';
import { generateKey, parseKey } from '../src/protocol/auth.js';
import { fuzz, stopReading, trickle, type AttackStats } from '../test/helpers/hostile.js';
import { SLUICE_BIN } from '../test/helpers/processes.js';

const NOOP_TASKS = fileURLToPath(new URL('../../bench/fixtures/noop-tasks.js', import.meta.url));
type Tasks = { noop: () => Promise<null> };

export interface HostileOptions {
  scenario: 'fuzz' | 'slow';
  /** Length of the attack. */
  seconds: number;
  /** Legitimate load alone, before and again after the attack. */
  baselineSeconds: number;
  seed: number;
  /** Concurrent legitimate tasks. */
  lanes: number;
  connections: number;
  /** Pause between one fuzz connection's frames, and before it reconnects. */
  intervalMs: number;
  tricklers: number;
  stalled: number;
  /**
   * Linux: run the attacker on its own CPU (the last) and everything else on the others, so the
   * figures show what the attack costs the manager, not the attacker's own CPU on a shared box.
   */
  pin?: boolean;
}

export interface PhaseFigures { tasks: number; tasksPerSecond: number; p50Ms: number; p99Ms: number }

export interface HostileResult {
  options: HostileOptions;
  baseline: PhaseFigures;
  attack: PhaseFigures;
  /** attack p99 ÷ baseline p99. */
  p99Ratio: number;
  legitimateErrors: number;
  attackStats: AttackStats;
  rssMiB: { start: number; max: number; end: number };
  managerAlive: boolean;
  /** A client connected after the attack and ran a task. */
  servesAfter: boolean;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Logs go nowhere: under attack the manager still formats them, as it would in production. */
function sluice(args: string[]): ChildProcess {
  return spawn(process.execPath, [SLUICE_BIN, ...args, '--log-format', 'json', '--log-level', 'info'], { stdio: 'ignore' });
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

function figures(latencies: number[], seconds: number): PhaseFigures {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { tasks: sorted.length, tasksPerSecond: sorted.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

export async function runHostile(options: HostileOptions): Promise<HostileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hostile-'));
  const keyFile = join(dir, 'sluice.key');
  const keyText = generateKey();
  writeFileSync(keyFile, `${keyText}\n`);
  const port = await freePort();
  // No per-address limit: every attacker shares 127.0.0.1, and the point is to reach the decoder.
  const manager = sluice(['manager', '--port', String(port), '--key-file', keyFile, '--max-handshake-failures', '0', '--max-queue', '100000']);
  const worker = sluice(['worker', '--manager', `127.0.0.1:${port}`, '--tasks', NOOP_TASKS, '--capacity', '64', '--threads', '1', '--key-file', keyFile]);
  let client: Client<Tasks> | undefined;
  let attacker: ChildProcess | undefined;
  try {
    client = await connectWhenUp(port, keyFile);
    await Promise.all(Array.from({ length: 2_000 }, () => client!.run('noop', undefined))); // warm-up
    const rss = { start: rssMiB(manager.pid!), max: 0, end: 0 };
    const sampler = setInterval(() => (rss.max = Math.max(rss.max, rssMiB(manager.pid!))), 500);

    type Phase = 'before' | 'attack' | 'after';
    let phase: Phase = 'before';
    let stop = false;
    let legitimateErrors = 0;
    const latencies: Record<Phase, number[]> = { before: [], attack: [], after: [] };
    const c = client;
    const lane = async (): Promise<void> => {
      for (let i = 0; !stop && i < 10_000_000; i++) {
        const started = performance.now();
        const during = phase;
        try {
          await c.run('noop', undefined);
          if (phase === during) latencies[during].push(performance.now() - started);
        } catch {
          legitimateErrors++;
        }
      }
    };
    const lanes = Array.from({ length: options.lanes }, lane);
    await sleep(options.baselineSeconds * 1_000);
    phase = 'attack';
    const attackStarted = performance.now();
    const attackArgs = [fileURLToPath(import.meta.url), 'attack', JSON.stringify({ ...options, port, keyText, untilMs: Date.now() + options.seconds * 1_000 })];
    attacker = options.pin === true
      ? spawn('taskset', ['-c', String(availableParallelism() - 1), process.execPath, ...attackArgs], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
      : fork(attackArgs[0] as string, attackArgs.slice(1), { stdio: 'inherit' });
    const attackStats = await new Promise<AttackStats>((resolve) => attacker!.once('message', (m) => resolve(m as AttackStats)));
    const attackSeconds = (performance.now() - attackStarted) / 1_000;
    phase = 'after';
    await sleep(options.baselineSeconds * 1_000);
    stop = true;
    await Promise.all(lanes);
    clearInterval(sampler);
    rss.end = rssMiB(manager.pid!);
    rss.max = Math.max(rss.max, rss.end);
    const managerAlive = manager.exitCode === null && manager.signalCode === null;
    const fresh = await connect<Tasks>({ manager: `127.0.0.1:${port}`, keyFile, connectTimeoutMs: 5_000 }).catch(() => undefined);
    const servesAfter = fresh !== undefined && (await fresh.run('noop', undefined).then(() => true, () => false));
    await fresh?.close();
    const baseline = figures([...latencies.before, ...latencies.after], 2 * options.baselineSeconds);
    const attack = figures(latencies.attack, attackSeconds);
    return { options, baseline, attack, p99Ratio: attack.p99Ms / baseline.p99Ms, legitimateErrors, attackStats, rssMiB: rss, managerAlive, servesAfter };
  } finally {
    attacker?.kill('SIGKILL');
    await client?.close();
    for (const p of [worker, manager]) p.kill('SIGKILL');
  }
}

async function connectWhenUp(port: number, keyFile: string): Promise<Client<Tasks>> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 200; i++) {
    try {
      const client = await connect<Tasks>({ manager: `127.0.0.1:${port}`, keyFile, connectTimeoutMs: 2_000 });
      // Busy (no workers yet) is retried by the client until the worker node has joined.
      await client.run('noop', undefined, { timeoutMs: 20_000 });
      return client;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  throw new Error('the manager did not come up');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function attack(config: HostileOptions & { port: number; keyText: string; untilMs: number }): Promise<AttackStats> {
  const key = parseKey(config.keyText);
  if (config.scenario === 'fuzz') return fuzz({ port: config.port, key, connections: config.connections, untilMs: config.untilMs, seed: config.seed, intervalMs: config.intervalMs });
  const [t, s] = await Promise.all([
    trickle({ port: config.port, count: config.tricklers, untilMs: config.untilMs }),
    stopReading({ port: config.port, key, count: config.stalled, burst: 20_000, untilMs: config.untilMs }),
  ]);
  return { connections: t.connections + s.connections, frames: t.frames + s.frames, closedByServer: t.closedByServer + s.closedByServer };
}

if (process.argv[2] === 'attack') {
  const stats = await attack(JSON.parse(process.argv[3] as string) as HostileOptions & { port: number; keyText: string; untilMs: number });
  process.send?.(stats, () => process.exit(0));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'fuzz' },
      seconds: { type: 'string', default: '60' },
      baseline: { type: 'string' },
      seed: { type: 'string' },
      lanes: { type: 'string', default: '32' },
      connections: { type: 'string', default: '100' },
      interval: { type: 'string', default: '100' },
      tricklers: { type: 'string', default: '1000' },
      stalled: { type: 'string', default: '20' },
      pin: { type: 'boolean', default: false },
    },
  });
  if (values.pin && process.env['SLUICE_BENCH_PINNED'] !== '1') {
    // Re-run this process (and so the manager, worker and client) on all CPUs but the last.
    const cpus = availableParallelism();
    const child = spawn('taskset', ['-c', cpus > 2 ? `0-${cpus - 2}` : '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, SLUICE_BENCH_PINNED: '1' } });
    child.once('exit', (code) => process.exit(code ?? 1));
    await new Promise(() => {});
  }
  const seconds = Number(values.seconds);
  const options: HostileOptions = {
    scenario: values.scenario === 'slow' ? 'slow' : 'fuzz',
    seconds,
    baselineSeconds: values.baseline === undefined ? Math.max(5, Math.round(seconds / 2)) : Number(values.baseline),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed),
    lanes: Number(values.lanes),
    connections: Number(values.connections),
    intervalMs: Number(values.interval),
    tricklers: Number(values.tricklers),
    stalled: Number(values.stalled),
    pin: values.pin === true,
  };
  const r = await runHostile(options);
  const ms = (n: number): string => `${n.toFixed(2)} ms`;
  process.stdout.write(`
| ${options.scenario} (seed ${options.seed}; ${options.scenario === 'fuzz' ? `${options.connections} connections, a frame or a reconnect every ${options.intervalMs} ms each` : `${options.tricklers} tricklers, ${options.stalled} stalled readers`}; attack ${seconds} s, legitimate load alone ${options.baselineSeconds} s before and after${options.pin === true ? '; attacker on its own CPU' : ''}) | alone | under attack |
| --- | --- | --- |
| legitimate no-op tasks/s (${options.lanes} in flight) | ${Math.round(r.baseline.tasksPerSecond)} | ${Math.round(r.attack.tasksPerSecond)} |
| legitimate p50 | ${ms(r.baseline.p50Ms)} | ${ms(r.attack.p50Ms)} |
| legitimate p99 | ${ms(r.baseline.p99Ms)} | ${ms(r.attack.p99Ms)} (×${r.p99Ratio.toFixed(2)}) |
| legitimate errors | ${r.legitimateErrors} | |
| attack connections / frames / closed by the manager | | ${r.attackStats.connections} / ${r.attackStats.frames} / ${r.attackStats.closedByServer} |
| manager RSS start → max → end | ${r.rssMiB.start.toFixed(1)} → ${r.rssMiB.max.toFixed(1)} → ${r.rssMiB.end.toFixed(1)} MiB | |
| manager alive, serves a new client after | ${r.managerAlive && r.servesAfter ? 'yes' : 'NO'} | |
`);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(r.managerAlive && r.servesAfter && r.legitimateErrors === 0 ? 0 : 1);
}

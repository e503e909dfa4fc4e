// npm run fuzz:live -- --seconds 60        100 connections of random and mutated frames
// npm run bench:slow-peers -- --seconds 60  1,000 byte-a-second tricklers + clients that stop reading
//
// A keyed manager and one worker node in their own processes, legitimate no-op load from this
// process, the attack from a child process. The legitimate p99 is measured before, during and
// after the attack in the same run, so the ratio compares like with like on a noisy machine.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import hdr from 'hdr-histogram-js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type Client } from '../src/index.js';
import { generateKey, parseKey } from '../src/protocol/auth.js';
import { fuzz, stopReading, trickle, type AttackStats } from '../test/helpers/hostile.js';
import { SLUICE_BIN } from '../test/helpers/processes.js';
import { PROFILE_ARGS } from './compare/children.js';

const NOOP_TASKS = fileURLToPath(new URL('../../bench/fixtures/noop-tasks.js', import.meta.url));
type Tasks = { noop: () => Promise<null> };

export interface HostileOptions {
  scenario: 'fuzz' | 'slow';
  /** Length of the attack. */
  seconds: number;
  /** Legitimate load alone, before and again after the attack. */
  baselineSeconds: number;
  seed: number;
  /** Concurrent legitimate tasks, each submitted when the last one answered (closed loop; used when `rate` is 0). */
  lanes: number;
  /**
   * Legitimate tasks a second, sent on schedule whatever the answers (open loop), each timed from
   * its intended send. 0: closed loop with `lanes` instead, which saturates the machine.
   */
  rate?: number;
  connections: number;
  /** Pause between one fuzz connection's frames, and before it reconnects. */
  intervalMs: number;
  tricklers: number;
  /** Authenticated clients that submit `burst` tasks each, then stop reading (they connect before the tricklers). */
  stalled: number;
  /** @default 1000 */
  burst?: number;
  /**
   * Linux: run the attacker on its own CPU (the last) and everything else on the others, so the
   * figures show what the attack costs the manager, not the attacker's own CPU on a shared box.
   */
  pin?: boolean;
  /**
   * `low` (the default): the attack generator runs at the lowest CPU priority (nice 19). It stands
   * in for attackers on other machines: on a machine of two cores, an attacker at equal priority
   * takes CPU from the manager, the worker and the legitimate client alike, and the figures would
   * show what the attacker's own work costs rather than what the attack costs the manager. The
   * attack volume it reached is reported either way. `normal`: equal priority.
   */
  attackerPriority?: 'low' | 'normal';
}

export interface Newcomers { tried: number; served: number; slowestMs: number }

export interface PhaseFigures { tasks: number; tasksPerSecond: number; p50Ms: number; p99Ms: number }

export interface HostileResult {
  options: HostileOptions;
  baseline: PhaseFigures;
  attack: PhaseFigures;
  /** attack p99 ÷ baseline p99. */
  p99Ratio: number;
  legitimateErrors: number;
  attackStats: AttackStats;
  /**
   * Manager RSS: after the warm-up, the highest of the legitimate load alone before the attack,
   * the highest while attacked, and at the end. The attack's own memory is `attackMax` against
   * `beforeMax`: the legitimate load alone already sizes the heap.
   */
  rssMiB: { start: number; beforeMax: number; attackMax: number; end: number };
  managerAlive: boolean;
  /** A client connected after the attack and ran a task. */
  servesAfter: boolean;
  /** Once a second during the attack a new client connects and runs a task: how many tried, got in and were answered, and the slowest (ms). */
  newcomers: Newcomers;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Logs go nowhere: under attack the manager still formats them, as it would in production.
 * BENCH_CPU_PROF=DIR: the manager and the worker write CPU profiles there.
 */
function sluice(args: string[]): ChildProcess {
  return spawn(process.execPath, [...PROFILE_ARGS, SLUICE_BIN, ...args, '--log-format', 'json', '--log-level', 'info'], { stdio: 'ignore' });
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/** Latencies in µs, at 3 significant digits: recording allocates nothing, so the measuring process's own GC stays out of the figures. */
const histogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

function figures(latencies: hdr.Histogram, seconds: number): PhaseFigures {
  const at = (p: number): number => (latencies.totalCount === 0 ? Number.NaN : latencies.getValueAtPercentile(p) / 1_000);
  return { tasks: latencies.totalCount, tasksPerSecond: latencies.totalCount / seconds, p50Ms: at(50), p99Ms: at(99) };
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
  let prober: ChildProcess | undefined;
  try {
    client = await connectWhenUp(port, keyFile);
    await Promise.all(Array.from({ length: 2_000 }, () => client!.run('noop', undefined))); // warm-up
    const rss = { start: rssMiB(manager.pid!), beforeMax: 0, attackMax: 0, end: 0 };
    const sampler = setInterval(() => {
      const now = rssMiB(manager.pid!);
      if (phase === 'before') rss.beforeMax = Math.max(rss.beforeMax, now);
      else if (phase === 'attack') rss.attackMax = Math.max(rss.attackMax, now);
    }, 250);

    type Phase = 'before' | 'attack' | 'after';
    let phase: Phase = 'before';
    let stop = false;
    let legitimateErrors = 0;
    const latencies: Record<Phase, hdr.Histogram> = { before: histogram(), attack: histogram(), after: histogram() };
    const c = client;
    const lane = async (): Promise<void> => {
      for (let i = 0; !stop && i < 10_000_000; i++) {
        const started = performance.now();
        const during = phase;
        try {
          await c.run('noop', undefined);
          if (phase === during) latencies[during].recordValue(Math.round((performance.now() - started) * 1_000));
        } catch {
          legitimateErrors++;
        }
      }
    };
    // Open loop: every 1 ms, send what the schedule says is due; latency counts from the intended
    // send, so a manager (or a machine) that falls behind shows as latency.
    const steady = async (rate: number): Promise<void> => {
      const started = performance.now();
      let sent = 0;
      const limit = rate * (options.seconds + 2 * options.baselineSeconds + 60);
      while (!stop && sent < limit) {
        // Send k is due at started + k / rate: the first at once.
        const due = Math.floor(((performance.now() - started) * rate) / 1_000) + 1;
        for (; sent < due && !stop; sent++) {
          const intended = started + (sent * 1_000) / rate;
          const during = phase;
          inFlight++;
          c.run('noop', undefined).then(
            () => { if (phase === during) latencies[during].recordValue(Math.round((performance.now() - intended) * 1_000)); },
            () => { legitimateErrors++; },
          ).finally(() => inFlight--);
        }
        await sleep(1);
      }
      // The last sends get their answers before the figures are read (bounded: 5 s).
      for (let i = 0; i < 5_000 && inFlight > 0; i++) await sleep(1);
    };
    let inFlight = 0;
    const rate = options.rate ?? 0;
    const lanes = rate > 0 ? [steady(rate)] : Array.from({ length: options.lanes }, lane);
    await sleep(options.baselineSeconds * 1_000);
    phase = 'attack';
    const attackStarted = performance.now();
    const attackArgs = [fileURLToPath(import.meta.url), 'attack', JSON.stringify({ ...options, port, keyText, untilMs: Date.now() + options.seconds * 1_000 })];
    attacker = options.pin === true
      ? spawn('taskset', ['-c', String(availableParallelism() - 1), process.execPath, ...attackArgs], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
      : fork(attackArgs[0] as string, attackArgs.slice(1), { stdio: 'inherit' });
    if (options.attackerPriority !== 'normal' && attacker.pid !== undefined) setPriority(attacker.pid, 19);
    const attackDone = new Promise<AttackStats>((resolve) => attacker!.once('message', (m) => resolve(m as AttackStats)));
    // New clients from a process of their own: a handshake's crypto in this process would stall
    // the legitimate load generator once a second and show up in its p99.
    prober = fork(fileURLToPath(import.meta.url), ['probe', JSON.stringify({ port, keyFile, untilMs: Date.now() + options.seconds * 1_000 })], { stdio: 'inherit' });
    const probed = new Promise<Newcomers>((resolve) => {
      prober!.once('message', (m) => resolve(m as Newcomers));
      prober!.once('exit', () => resolve({ tried: 0, served: 0, slowestMs: 0 }));
    });
    const attackStats = await attackDone;
    const newcomers = await probed;
    const attackSeconds = (performance.now() - attackStarted) / 1_000;
    phase = 'after';
    await sleep(options.baselineSeconds * 1_000);
    stop = true;
    await Promise.all(lanes);
    clearInterval(sampler);
    rss.end = rssMiB(manager.pid!);
    const managerAlive = manager.exitCode === null && manager.signalCode === null;
    const fresh = await connect<Tasks>({ manager: `127.0.0.1:${port}`, keyFile, connectTimeoutMs: 5_000 }).catch(() => undefined);
    const servesAfter = fresh !== undefined && (await fresh.run('noop', undefined).then(() => true, () => false));
    await fresh?.close();
    latencies.before.add(latencies.after);
    const baseline = figures(latencies.before, 2 * options.baselineSeconds);
    const attack = figures(latencies.attack, attackSeconds);
    return { options, baseline, attack, p99Ratio: attack.p99Ms / baseline.p99Ms, legitimateErrors, attackStats, rssMiB: rss, managerAlive, servesAfter, newcomers };
  } finally {
    attacker?.kill('SIGKILL');
    prober?.kill('SIGKILL');
    await client?.close();
    // SIGTERM first: a clean exit writes the CPU profiles (BENCH_CPU_PROF).
    for (const p of [worker, manager]) p.kill(PROFILE_ARGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
    if (PROFILE_ARGS.length > 0) await Promise.all([worker, manager].map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
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
  // Stalled readers are clients that were already in when the tricklers came.
  let authenticated = 0;
  let allIn!: () => void;
  const readersIn = new Promise<void>((resolve) => (allIn = resolve));
  const onAuthenticated = (): void => {
    if (++authenticated === config.stalled) allIn();
  };
  const stalled = stopReading({ port: config.port, key, count: config.stalled, burst: config.burst ?? 1_000, untilMs: config.untilMs, onAuthenticated });
  if (config.stalled > 0) await Promise.race([readersIn, sleep(5_000)]);
  const [t, s] = await Promise.all([trickle({ port: config.port, count: config.tricklers, untilMs: config.untilMs }), stalled]);
  return { connections: t.connections + s.connections, frames: t.frames + s.frames, closedByServer: t.closedByServer + s.closedByServer };
}

/** Once a second until `untilMs`, a new client connects, runs a task and leaves. */
async function probeNewcomers(config: { port: number; keyFile: string; untilMs: number }): Promise<Newcomers> {
  const newcomers: Newcomers = { tried: 0, served: 0, slowestMs: 0 };
  await sleep(1_000); // once the attack is under way
  for (let i = 0; Date.now() < config.untilMs - 1_000 && i < 10_000; i++) {
    const started = performance.now();
    newcomers.tried++;
    const fresh = await connect<Tasks>({ manager: `127.0.0.1:${config.port}`, keyFile: config.keyFile, connectTimeoutMs: 5_000 }).catch(() => undefined);
    if (fresh !== undefined && (await fresh.run('noop', undefined, { timeoutMs: 5_000 }).then(() => true, () => false))) newcomers.served++;
    newcomers.slowestMs = Math.max(newcomers.slowestMs, performance.now() - started);
    await fresh?.close();
    await sleep(Math.max(0, 1_000 - (performance.now() - started)));
  }
  return newcomers;
}

if (process.argv[2] === 'probe') {
  const newcomers = await probeNewcomers(JSON.parse(process.argv[3] as string) as { port: number; keyFile: string; untilMs: number });
  process.send?.(newcomers, () => process.exit(0));
} else if (process.argv[2] === 'attack') {
  const stats = await attack(JSON.parse(process.argv[3] as string) as HostileOptions & { port: number; keyText: string; untilMs: number });
  process.send?.(stats, () => process.exit(0));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  /** A bad command line: its message and exit 64, no stack. */
  const usage = (message: string): never => {
    process.stderr.write(`bench/hostile: ${message}\n`);
    process.exit(64);
  };
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          scenario: { type: 'string', default: 'fuzz' },
          seconds: { type: 'string', default: '60' },
          baseline: { type: 'string' },
          seed: { type: 'string' },
          lanes: { type: 'string', default: '32' },
          rate: { type: 'string', default: '0' },
          connections: { type: 'string', default: '100' },
          interval: { type: 'string', default: '100' },
          tricklers: { type: 'string', default: '1000' },
          stalled: { type: 'string', default: '20' },
          burst: { type: 'string', default: '1000' },
          pin: { type: 'boolean', default: false },
          'attacker-priority': { type: 'string', default: 'low' },
        },
      });
    } catch (error) {
      return usage((error as Error).message);
    }
  })();
  if (values.pin && process.env['SLUICE_BENCH_PINNED'] !== '1') {
    // Re-run this process (and so the manager, worker and client) on all CPUs but the last.
    const cpus = availableParallelism();
    const child = spawn('taskset', ['-c', cpus > 2 ? `0-${cpus - 2}` : '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, SLUICE_BENCH_PINNED: '1' } });
    child.once('exit', (code) => process.exit(code ?? 1));
    await new Promise(() => {});
  }
  /** A whole number from `min`, or a clear refusal naming the flag. */
  const count = (name: string, min = 0): number => {
    const text = values[name as keyof typeof values];
    const n = Number(text);
    if (typeof text !== 'string' || !Number.isSafeInteger(n) || n < min) usage(`Expected --${name} to be a whole number from ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
  const seconds = count('seconds', 1);
  const options: HostileOptions = {
    scenario: values.scenario === 'slow' ? 'slow' : 'fuzz',
    seconds,
    baselineSeconds: values.baseline === undefined ? Math.max(5, Math.round(seconds / 2)) : count('baseline', 1),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : count('seed'),
    lanes: count('lanes', 1),
    rate: count('rate'),
    connections: count('connections'),
    intervalMs: count('interval', 1),
    tricklers: count('tricklers'),
    stalled: count('stalled'),
    burst: count('burst', 1),
    pin: values.pin === true,
    attackerPriority: values['attacker-priority'] === 'normal' ? 'normal' : 'low',
  };
  if (values['attacker-priority'] !== 'low' && values['attacker-priority'] !== 'normal') {
    usage(`Expected --attacker-priority to be low or normal, got ${JSON.stringify(values['attacker-priority'])}`);
  }
  const r = await runHostile(options);
  const ms = (n: number): string => `${n.toFixed(2)} ms`;
  process.stdout.write(`
| ${options.scenario} (seed ${options.seed}; ${options.scenario === 'fuzz' ? `${options.connections} connections, a frame or a reconnect every ${options.intervalMs} ms each` : `${options.tricklers} tricklers, ${options.stalled} stalled readers of ${options.burst} tasks each`}; attack ${seconds} s, legitimate load alone ${options.baselineSeconds} s before and after${options.pin === true ? '; attacker on its own CPU' : ''}${options.attackerPriority === 'normal' ? '; attacker at normal priority' : '; attacker at nice 19'}) | alone | under attack |
| --- | --- | --- |
| legitimate no-op tasks/s (${(options.rate ?? 0) > 0 ? `${options.rate}/s on schedule` : `${options.lanes} in flight`}) | ${Math.round(r.baseline.tasksPerSecond)} | ${Math.round(r.attack.tasksPerSecond)} |
| legitimate p50 | ${ms(r.baseline.p50Ms)} | ${ms(r.attack.p50Ms)} |
| legitimate p99 | ${ms(r.baseline.p99Ms)} | ${ms(r.attack.p99Ms)} (×${r.p99Ratio.toFixed(2)}) |
| legitimate errors | ${r.legitimateErrors} | |
| attack connections / frames / closed by the manager | | ${r.attackStats.connections} / ${r.attackStats.frames} / ${r.attackStats.closedByServer} |
| manager RSS: after warm-up → highest alone → highest under attack → end | ${r.rssMiB.start.toFixed(1)} → ${r.rssMiB.beforeMax.toFixed(1)} → ${r.rssMiB.attackMax.toFixed(1)} → ${r.rssMiB.end.toFixed(1)} MiB | |
| new clients while attacked: answered / tried (slowest) | | ${r.newcomers.served} / ${r.newcomers.tried} (${r.newcomers.slowestMs.toFixed(0)} ms) |
| manager alive, serves a new client after | ${r.managerAlive && r.servesAfter ? 'yes' : 'NO'} | |
`);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(r.managerAlive && r.servesAfter && r.legitimateErrors === 0 ? 0 : 1);
}

// Hostile peers beside legitimate load (command line: bench/hostile-cli.ts).
//
// A keyed manager and one worker node in their own processes, legitimate no-op load from this
// process, the attack from a child process. The legitimate p99 is measured alone and attacked in
// alternating phases of the same run, so the ratio compares like with like on a noisy machine.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import hdr from 'hdr-histogram-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect, type Client } from '../src/index.js';
import { generateKey, parseKey } from '../src/protocol/auth.js';
import { fuzz, stopReading, trickle, type AttackStats } from '../test/helpers/hostile.js';
import { PROFILE_ARGS } from './compare/children.js';
import { cpuMs, freePort, ownCpuMs, rssMiB, sluice } from './hostile-processes.js';

const NOOP_TASKS = fileURLToPath(new URL('../../bench/fixtures/noop-tasks.js', import.meta.url));
type Tasks = { noop: () => Promise<null> };

export interface HostileOptions {
  scenario: 'fuzz' | 'slow';
  /** Length of the attack, all rounds together. */
  seconds: number;
  /** Legitimate load alone before each round of attack, and again after the last. */
  baselineSeconds: number;
  /**
   * Rounds of attack, alternating with the load alone (each round a fresh attacker, its seed
   * `seed + round`). More rounds spread the machine's own drift over both sides. @default 1
   */
  rounds?: number;
  seed: number;
  /** Concurrent legitimate tasks, each submitted when the last one answered (closed loop; used when `rate` is 0). */
  lanes: number;
  /**
   * Legitimate tasks a second, sent on schedule whatever the answers (open loop), each timed from
   * its intended send. 0: closed loop with `lanes` instead, which saturates the machine.
   */
  rate?: number;
  connections: number;
  /** The fuzz's attackers: false, only peers without the key; true (the default), two in five authenticate first. */
  fuzzWithKey?: boolean;
  /**
   * The fuzz's key holders send only valid frames and leave where they would have sent a broken
   * one: the same authenticated traffic without the bad input (a comparison, not an attack).
   */
  honestKeyHolders?: boolean;
  /** Pause between one fuzz connection's frames, and before it reconnects. */
  intervalMs: number;
  tricklers: number;
  /** Authenticated clients that submit `burst` tasks each, then stop reading (they connect before the tricklers). */
  stalled: number;
  /** @default 1000 */
  burst?: number;
  /**
   * Linux: the attacker and the decoy manager on the last CPU, everything else on the others
   * (the command line re-runs itself there): the load's CPUs see the attack only through the
   * manager it hits, as near to attacker and server on separate machines as one machine comes.
   */
  pin?: boolean;
  /**
   * Each round also attacks a decoy manager (no workers, no clients) for as long, while the
   * legitimate load runs on the real one as always. What the legitimate p99 loses then is what
   * the attack costs the machine — the attacker, the kernel, a manager's work on other cores —
   * and the real attack beside it shows what it costs beyond that through the manager serving
   * the load. On a machine where attacker and server share the cores, that is the figure that
   * speaks of the manager.
   */
  control?: boolean;
  /**
   * `low` (the default): the attack generator runs at the lowest CPU priority (nice 19). It stands
   * in for attackers on other machines: on a machine of two cores, an attacker at equal priority
   * takes CPU from the manager, the worker and the legitimate client alike, and the figures would
   * show what the attacker's own work costs rather than what the attack costs the manager. The
   * attack volume it reached is reported either way. `idle`: the idle scheduling class (chrt).
   * `normal`: equal priority.
   */
  attackerPriority?: 'idle' | 'low' | 'normal';
}

export interface CpuShare { manager: number; worker: number; load: number; attacker: number; decoy: number }

export interface Newcomers { tried: number; served: number; slowestMs: number }

export interface PhaseFigures { tasks: number; tasksPerSecond: number; p50Ms: number; p99Ms: number }

export interface HostileResult {
  options: HostileOptions;
  baseline: PhaseFigures;
  attack: PhaseFigures;
  /** attack p99 ÷ baseline p99, each over its phases pooled. */
  p99Ratio: number;
  /** With `control`: the legitimate figures while the attack went to the decoy. */
  control?: PhaseFigures;
  /** control p99 ÷ baseline p99: what the attack costs the machine. */
  controlRatio?: number;
  /** attack p99 ÷ control p99: what the attack costs beyond that, through the manager it hits. */
  p99RatioToControl?: number;
  /** Each phase in order (alone between every two others): its length and legitimate p99. */
  phases: { kind: 'alone' | 'control' | 'attack'; seconds: number; p99Ms: number }[];
  /** CPU ms per second of each process (the load generator is this process) per kind of phase. */
  cpu: { alone: CpuShare; attack: CpuShare; control?: CpuShare };
  legitimateErrors: number;
  attackStats: AttackStats;
  /**
   * Manager RSS: after the warm-up, the highest while it was not attacked (the load alone, or
   * the control), the highest while attacked, and at the end. The attack's own memory is
   * `attackMax` against `unattackedMax`: the legitimate load alone already sizes the heap.
   */
  rssMiB: { start: number; unattackedMax: number; attackMax: number; end: number };
  managerAlive: boolean;
  /** A client connected after the attack and ran a task. */
  servesAfter: boolean;
  /** Once a second during the attack a new client connects and runs a task: how many tried, got in and were answered, and the slowest (ms). */
  newcomers: Newcomers;
}

/** Latencies in µs, at 3 significant digits: recording allocates nothing, so the measuring process's own GC stays out of the figures. */
const histogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

function figures(latencies: hdr.Histogram, seconds: number): PhaseFigures {
  const at = (p: number): number => (latencies.totalCount === 0 ? Number.NaN : latencies.getValueAtPercentile(p) / 1_000);
  return { tasks: latencies.totalCount, tasksPerSecond: latencies.totalCount / seconds, p50Ms: at(50), p99Ms: at(99) };
}

export async function runHostile(options: HostileOptions): Promise<HostileResult> {
  const rounds = options.rounds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hostile-'));
  const keyFile = join(dir, 'sluice.key');
  const keyText = generateKey();
  writeFileSync(keyFile, `${keyText}\n`);
  const port = await freePort();
  // No per-address limit: every attacker shares 127.0.0.1, and the point is to reach the decoder.
  const manager = sluice(['manager', '--port', String(port), '--key-file', keyFile, '--max-handshake-failures', '0', '--max-queue', '100000']);
  const worker = sluice(['worker', '--manager', `127.0.0.1:${port}`, '--tasks', NOOP_TASKS, '--capacity', '64', '--threads', '1', '--key-file', keyFile]);
  const decoyPort = options.control === true ? await freePort() : port;
  const attackerCpu = options.pin === true ? ['taskset', '-c', String(availableParallelism() - 1)] : [];
  const decoy = options.control === true ? sluice(['manager', '--port', String(decoyPort), '--key-file', keyFile, '--max-handshake-failures', '0', '--max-queue', '100000'], attackerCpu) : undefined;
  let client: Client<Tasks> | undefined;
  let attacker: ChildProcess | undefined;
  let prober: ChildProcess | undefined;
  // Set on every way out: a lane whose client is closed under it would spin on rejections.
  let stop = false;
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    client = await connectWhenUp(port, keyFile);
    await Promise.all(Array.from({ length: 2_000 }, () => client!.run('noop', undefined))); // warm-up
    const rss = { start: rssMiB(manager.pid!), unattackedMax: 0, attackMax: 0, end: 0 };
    let attacked = false;
    sampler = setInterval(() => {
      const now = rssMiB(manager.pid!);
      if (attacked) rss.attackMax = Math.max(rss.attackMax, now);
      else rss.unattackedMax = Math.max(rss.unattackedMax, now);
    }, 250);

    // Phases alternate, alone and attacked (or the control), and end alone: the machine's own
    // drift over the run falls on every side instead of on one.
    const phases: Phase[] = [];
    let current!: Phase;
    let legitimateErrors = 0;
    const c = client;
    const lane = async (): Promise<void> => {
      for (let i = 0; !stop && i < 10_000_000; i++) {
        const started = performance.now();
        const during = current;
        try {
          await c.run('noop', undefined);
          if (current === during) during.latencies.recordValue(Math.round((performance.now() - started) * 1_000));
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
      const kinds = options.control === true ? 2 : 1;
      const limit = rate * (kinds * options.seconds + (kinds * rounds + 1) * options.baselineSeconds + 60);
      while (!stop && sent < limit) {
        // Send k is due at started + k / rate: the first at once.
        const due = Math.floor(((performance.now() - started) * rate) / 1_000) + 1;
        for (; sent < due && !stop; sent++) {
          const intended = started + (sent * 1_000) / rate;
          const during = current;
          inFlight++;
          c.run('noop', undefined).then(
            () => { if (current === during) during.latencies.recordValue(Math.round((performance.now() - intended) * 1_000)); },
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
    const cpu = (): CpuMs => ({ manager: cpuMs(manager.pid!), worker: cpuMs(worker.pid!), load: ownCpuMs(), decoy: decoy === undefined ? 0 : cpuMs(decoy.pid!) });
    const begin = (kind: PhaseKind): Phase => {
      const phase: Phase = { kind, latencies: histogram(), startedMs: performance.now(), seconds: 0, cpuAtStart: cpu(), cpu: { manager: 0, worker: 0, load: 0, attacker: 0, decoy: 0 } };
      phases.push(phase);
      current = phase;
      return phase;
    };
    const end = (phase: Phase, attackerCpuMs = 0): void => {
      const now = cpu();
      phase.seconds = (performance.now() - phase.startedMs) / 1_000;
      phase.cpu = { manager: now.manager - phase.cpuAtStart.manager, worker: now.worker - phase.cpuAtStart.worker, load: now.load - phase.cpuAtStart.load, attacker: attackerCpuMs, decoy: now.decoy - phase.cpuAtStart.decoy };
    };
    /** One phase of attack, on the real manager or (`control`) on the decoy; new clients probe the real one throughout. */
    const attackPhase = async (kind: 'attack' | 'control', round: number): Promise<void> => {
      end(current);
      const phase = begin(kind);
      attacked = kind === 'attack';
      const untilMs = Date.now() + (options.seconds / rounds) * 1_000;
      const target = kind === 'attack' ? port : decoyPort;
      const attackArgs = [fileURLToPath(import.meta.url), 'attack', JSON.stringify({ ...options, seed: options.seed + round, port: target, keyText, untilMs })];
      // Wrappers that place the attacker: on its own CPU, and in the idle scheduling class.
      const placement = [...attackerCpu, ...(options.attackerPriority === 'idle' ? ['chrt', '--idle', '0'] : [])];
      attacker = placement.length > 0
        ? spawn(placement[0] as string, [...placement.slice(1), process.execPath, ...attackArgs], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
        : fork(attackArgs[0] as string, attackArgs.slice(1), { stdio: 'inherit' });
      const attackDone = reportOf(attacker, placement[0] ?? 'the attack process');
      // New clients from a process of their own: a handshake's crypto in this process would stall
      // the legitimate load generator once a second and show up in its p99.
      prober = fork(fileURLToPath(import.meta.url), ['probe', JSON.stringify({ port, keyFile, untilMs })], { stdio: 'inherit' });
      const probed = new Promise<Newcomers>((resolve) => {
        prober!.once('message', (m) => resolve(m as Newcomers));
        prober!.once('exit', () => resolve({ tried: 0, served: 0, slowestMs: 0 }));
      });
      const report = await attackDone;
      const seen = await probed;
      end(phase, report.cpuMs);
      attacked = false;
      begin('alone');
      if (kind === 'control') return;
      attackStats.connections += report.stats.connections;
      attackStats.frames += report.stats.frames;
      attackStats.closedByServer += report.stats.closedByServer;
      newcomers.tried += seen.tried;
      newcomers.served += seen.served;
      newcomers.slowestMs = Math.max(newcomers.slowestMs, seen.slowestMs);
    };
    begin('alone');
    const lanes = rate > 0 ? [steady(rate)] : Array.from({ length: options.lanes }, lane);
    const attackStats: AttackStats = { connections: 0, frames: 0, closedByServer: 0 };
    const newcomers: Newcomers = { tried: 0, served: 0, slowestMs: 0 };
    for (let round = 0; round < rounds; round++) {
      // With a control, its phase and the real attack take turns going first.
      const order: ('attack' | 'control')[] = options.control !== true ? ['attack'] : round % 2 === 0 ? ['control', 'attack'] : ['attack', 'control'];
      for (const kind of order) {
        await sleep(options.baselineSeconds * 1_000);
        await attackPhase(kind, round);
      }
    }
    await sleep(options.baselineSeconds * 1_000);
    end(current);
    // Answers still on their way belong to no phase.
    current = { kind: 'alone', latencies: histogram(), startedMs: 0, seconds: 0, cpuAtStart: cpu(), cpu: { manager: 0, worker: 0, load: 0, attacker: 0, decoy: 0 } };
    stop = true;
    await Promise.all(lanes);
    clearInterval(sampler);
    rss.end = rssMiB(manager.pid!);
    const managerAlive = manager.exitCode === null && manager.signalCode === null;
    const fresh = await connect<Tasks>({ manager: `127.0.0.1:${port}`, keyFile, connectTimeoutMs: 5_000 }).catch(() => undefined);
    const servesAfter = fresh !== undefined && (await fresh.run('noop', undefined).then(() => true, () => false));
    await fresh?.close();
    const of = (kind: PhaseKind): Phase[] => phases.filter((p) => p.kind === kind);
    const baseline = pooled(of('alone'));
    const attack = pooled(of('attack'));
    const control = options.control === true ? pooled(of('control')) : undefined;
    return {
      options,
      baseline,
      attack,
      p99Ratio: attack.p99Ms / baseline.p99Ms,
      ...(control === undefined ? {} : { control, controlRatio: control.p99Ms / baseline.p99Ms, p99RatioToControl: attack.p99Ms / control.p99Ms }),
      phases: phases.map((p) => ({ kind: p.kind, seconds: p.seconds, p99Ms: p99Of(p.latencies) })),
      cpu: { alone: cpuPerSecond(of('alone')), attack: cpuPerSecond(of('attack')), ...(control === undefined ? {} : { control: cpuPerSecond(of('control')) }) },
      legitimateErrors,
      attackStats,
      rssMiB: rss,
      managerAlive,
      servesAfter,
      newcomers,
    };
  } finally {
    stop = true;
    clearInterval(sampler);
    attacker?.kill('SIGKILL');
    prober?.kill('SIGKILL');
    await client?.close();
    decoy?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    // SIGTERM first: a clean exit writes the CPU profiles (BENCH_CPU_PROF).
    for (const p of [worker, manager]) p.kill(PROFILE_ARGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
    if (PROFILE_ARGS.length > 0) await Promise.all([worker, manager].map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
  }
}

interface CpuMs { manager: number; worker: number; load: number; decoy: number }
type PhaseKind = 'alone' | 'control' | 'attack';

interface Phase {
  kind: PhaseKind;
  latencies: hdr.Histogram;
  startedMs: number;
  seconds: number;
  cpuAtStart: CpuMs;
  /** CPU milliseconds spent during the phase. */
  cpu: CpuMs & { attacker: number };
}

/** What the attack process sends back: its counts and its own CPU time (user + system, ms). */
interface AttackReport { stats: AttackStats; cpuMs: number }

/**
 * The attack process's report; rejects, rather than waiting for ever, if it cannot start (no
 * `chrt` or `taskset` here) or exits without reporting.
 */
function reportOf(attacker: ChildProcess, command: string): Promise<AttackReport> {
  return new Promise((resolve, reject) => {
    attacker.once('message', (m) => resolve(m as AttackReport));
    attacker.once('error', (error) => reject(new Error(`Could not start the attacker through ${command}: ${error.message}`)));
    attacker.once('close', (code, signal) => reject(new Error(`The attacker exited (${signal ?? `code ${code}`}) before reporting`)));
  });
}

function p99Of(latencies: hdr.Histogram): number {
  return latencies.totalCount === 0 ? Number.NaN : latencies.getValueAtPercentile(99) / 1_000;
}

function pooled(phases: Phase[]): PhaseFigures {
  const all = histogram();
  let seconds = 0;
  for (const p of phases) {
    all.add(p.latencies);
    seconds += p.seconds;
  }
  return figures(all, seconds);
}

/** CPU ms per wall-clock second, per process, over a kind of phase. */
function cpuPerSecond(phases: Phase[]): CpuShare {
  const seconds = phases.reduce((sum, p) => sum + p.seconds, 0);
  const per = (pick: (p: Phase) => number): number => phases.reduce((sum, p) => sum + pick(p), 0) / seconds;
  return { manager: per((p) => p.cpu.manager), worker: per((p) => p.cpu.worker), load: per((p) => p.cpu.load), attacker: per((p) => p.cpu.attacker), decoy: per((p) => p.cpu.decoy) };
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
  if (config.scenario === 'fuzz') return fuzz({ port: config.port, key, connections: config.connections, untilMs: config.untilMs, seed: config.seed, intervalMs: config.intervalMs, withKey: config.fuzzWithKey !== false, honestKeyHolders: config.honestKeyHolders === true });
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
  const config = JSON.parse(process.argv[3] as string) as HostileOptions & { port: number; keyText: string; untilMs: number };
  // Lowered here, once on its CPU: lowered from outside, a wrapper (taskset) could be starved
  // at nice 19 on the busy CPUs before it moved the attacker off them.
  if ((config.attackerPriority ?? 'low') === 'low') setPriority(19);
  const stats = await attack(config);
  const report: AttackReport = { stats, cpuMs: ownCpuMs() };
  process.send?.(report, () => process.exit(0));
}

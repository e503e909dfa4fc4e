// npm run bench:core — the runtime's raw speed with client, manager and one worker node as three
// processes on this machine: end-to-end no-op tasks/s (pipelined), busy replies/s from one
// manager, and the manager's memory while it rejects. Figures are printed as a table and as JSON.
// BENCH_OVERHEAD_ROUNDS=N (default 0) adds the cost of measuring: N interleaved rounds each of
// the no-op throughput with the manager's timing histograms on and off (`--no-timings`).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connect, BusyError } from '../src/index.js';
import { generateKey } from '../src/protocol/auth.js';
import { SluiceProcess } from '../test/helpers/processes.js';
import { Measures } from '../src/manager/measures.js';

const NOOP_TASKS = fileURLToPath(new URL('../../bench/fixtures/noop-tasks.js', import.meta.url));
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const window = Number(process.env['BENCH_WINDOW'] ?? 2_000);
const busyClients = Number(process.env['BENCH_BUSY_CLIENTS'] ?? 2);
/**
 * BENCH_KEY=1 runs every link with a shared key, so the figures include authenticating each
 * write batch. The key file is made once and handed to the load processes through the env.
 */
const keyFile = process.env['BENCH_KEY'] === '1' ? (process.env['BENCH_KEY_FILE'] ??= makeKeyFile()) : undefined;
const keyFlags = keyFile === undefined ? [] : ['--key-file', keyFile];
const connectKey = keyFile === undefined ? {} : { keyFile };

function makeKeyFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-bench-')), 'sluice.key');
  writeFileSync(file, `${generateKey()}\n`);
  return file;
}
const overheadRounds = Number(process.env['BENCH_OVERHEAD_ROUNDS'] ?? 0);

type Tasks = { noop: () => Promise<null> };

/** CPU seconds (user + system) a process has used so far; Linux clock ticks are 1/100 s. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function startManager(flags: string[]): Promise<{ proc: SluiceProcess; port: number }> {
  const proc = new SluiceProcess(['manager', '--port', '0', ...keyFlags, ...flags], { SLUICE_LOG_LEVEL: 'info' });
  const line = await proc.waitForLog((l) => l.msg === 'manager listening');
  return { proc, port: line['port'] as number };
}

/**
 * Keeps `window` tasks in flight for `seconds`; returns completed tasks per second and the
 * manager's CPU time per task (µs), which is what measuring adds to.
 */
async function throughput(managerFlags: string[] = []): Promise<{ tasksPerSecond: number; completed: number; managerCpuUsPerTask: number }> {
  const { proc: manager, port } = await startManager(['--max-queue', String(window * 2), ...managerFlags]);
  const worker = new SluiceProcess(['worker', '--manager', `127.0.0.1:${port}`, '--tasks', NOOP_TASKS, '--capacity', '64', '--threads', '1', ...keyFlags]);
  await manager.waitForLog((l) => l.msg === 'worker joined', 20_000);
  const client = await connect<Tasks>({ manager: `127.0.0.1:${port}`, maxInFlight: window, ...connectKey });
  try {
    // Warm-up: let the JIT and the pool settle before measuring.
    await Promise.all(Array.from({ length: 5_000 }, () => client.run('noop', undefined)));
    let completed = 0;
    let stop = false;
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (!stop) {
        await client.run('noop', undefined);
        completed++;
      }
    };
    const cpuBefore = cpuSeconds(manager.pid);
    const lanes = Array.from({ length: window }, lane);
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    stop = true;
    const elapsed = (performance.now() - started) / 1_000;
    const measured = completed;
    const managerCpuUsPerTask = ((cpuSeconds(manager.pid) - cpuBefore) * 1e6) / measured;
    await Promise.all(lanes);
    return { tasksPerSecond: measured / elapsed, completed: measured, managerCpuUsPerTask };
  } finally {
    await client.close();
    await worker.stop();
    await manager.stop();
  }
}

/**
 * One load process for the busy measurement: keeps `window` submissions in flight against a full
 * queue and reports, over IPC, how many busy answers it got between the parent's marks.
 */
async function busyLoad(port: number): Promise<void> {
  const client = await connect<Tasks>({ manager: `127.0.0.1:${port}`, retry: false, maxInFlight: window, ...connectKey });
  let busy = 0;
  let stop = false;
  const lane = async (): Promise<void> => {
    while (!stop) {
      try {
        await client.run('noop', undefined);
      } catch (error) {
        if (!(error instanceof BusyError)) throw error;
        busy++;
      }
    }
  };
  const lanes = Array.from({ length: window }, lane);
  process.on('message', (message: string) => {
    if (message === 'mark') process.send?.(busy);
    if (message === 'stop') {
      stop = true;
      void Promise.all(lanes).then(() => client.close()).then(() => process.exit(0));
    }
  });
  process.send?.('ready');
}

/** Asks every load process for its count at the same moment. */
async function mark(loads: ChildProcess[]): Promise<number> {
  const counts = await Promise.all(loads.map((load) => new Promise<number>((resolve) => {
    load.once('message', (count) => resolve(count as number));
    load.send('mark');
  })));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * A manager with a one-task queue and no workers: every further submission is answered busy.
 * Several client processes load it, so the figure is the manager's, not one client's.
 */
async function busyReplies(): Promise<{ busyPerSecond: number; managerCpuShare: number; rssStartMiB: number; rssEndMiB: number; rssSeries: number[] }> {
  const { proc: manager, port } = await startManager(['--max-queue', '1']);
  const filler = await connect<Tasks>({ manager: `127.0.0.1:${port}`, retry: false, ...connectKey });
  const loads: ChildProcess[] = [];
  try {
    void filler.run('noop', undefined).catch(() => {}); // fills the queue
    for (let i = 0; i < busyClients; i++) {
      const load = fork(fileURLToPath(import.meta.url), ['busy-load', String(port)], { stdio: 'inherit' });
      loads.push(load);
      await new Promise((resolve) => load.once('message', resolve));
    }
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const rssStartMiB = rssMiB(manager.pid);
    const before = await mark(loads);
    const cpuBefore = cpuSeconds(manager.pid);
    const started = performance.now();
    const rssSeries: number[] = [];
    for (let second = 0; second < seconds; second++) {
      await new Promise((r) => setTimeout(r, 1_000));
      rssSeries.push(rssMiB(manager.pid));
    }
    const measured = (await mark(loads)) - before;
    const elapsed = (performance.now() - started) / 1_000;
    const managerCpuShare = (cpuSeconds(manager.pid) - cpuBefore) / elapsed;
    const rssEndMiB = rssMiB(manager.pid);
    return { busyPerSecond: measured / elapsed, managerCpuShare, rssStartMiB, rssEndMiB, rssSeries };
  } finally {
    for (const load of loads) load.send('stop');
    await Promise.all(loads.map((load) => new Promise((resolve) => load.once('exit', resolve))));
    await filler.close();
    await manager.stop();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Interleaved rounds with timing histograms on and off, so drift in the machine's load hits both. */
async function measuringCost(rounds: number): Promise<{ on: number[]; off: number[]; onCpuUs: number[]; offCpuUs: number[] }> {
  const result = { on: [] as number[], off: [] as number[], onCpuUs: [] as number[], offCpuUs: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const on = await throughput();
    const off = await throughput(['--no-timings']);
    result.on.push(on.tasksPerSecond);
    result.onCpuUs.push(on.managerCpuUsPerTask);
    result.off.push(off.tasksPerSecond);
    result.offCpuUs.push(off.managerCpuUsPerTask);
    process.stderr.write(`round ${round + 1}: on ${Math.round(on.tasksPerSecond)}/s ${on.managerCpuUsPerTask.toFixed(1)} µs; off ${Math.round(off.tasksPerSecond)}/s ${off.managerCpuUsPerTask.toFixed(1)} µs\n`);
  }
  return result;
}

/**
 * What the manager's hot path adds per task, in isolation: the name lookup and the two timing
 * records (wait at dispatch, service at the outcome), in ns; the best of five runs of 1M.
 */
function recordingNsPerTask(): number {
  const measures = new Measures();
  const runs = 1_000_000;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < runs; i++) {
      const m = measures.forTask('noop');
      m.wait.record((i % 97) * 0.013);
      m.service.record((i % 89) * 0.021);
    }
    best = Math.min(best, ((performance.now() - started) * 1e6) / runs);
  }
  measures.destroy();
  return best;
}

if (process.argv[2] === 'busy-load') {
  await busyLoad(Number(process.argv[3]));
} else if (overheadRounds > 0) {
  const recordNs = recordingNsPerTask();
  const c = await measuringCost(overheadRounds);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const range = (xs: number[], f: (n: number) => string): string => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const us = (n: number): string => n.toFixed(1);
  process.stdout.write(`
| timing histograms (${overheadRounds} interleaved rounds of ${seconds} s) | no-op tasks/s, median (range) | manager CPU µs per task, median (range) |
| --- | --- | --- |
| on (default) | ${fmt(median(c.on))} (${range(c.on, fmt)}) | ${us(median(c.onCpuUs))} (${range(c.onCpuUs, us)}) |
| off (\`--no-timings\`) | ${fmt(median(c.off))} (${range(c.off, fmt)}) | ${us(median(c.offCpuUs))} (${range(c.offCpuUs, us)}) |
| cost of measuring | ${((1 - median(c.on) / median(c.off)) * 100).toFixed(1)}% of throughput | ${((median(c.onCpuUs) / median(c.offCpuUs) - 1) * 100).toFixed(1)}% of manager CPU |

Recording alone (name lookup and two histogram records per task, in-process loop): ${recordNs.toFixed(0)} ns per task, ${((recordNs / 1_000 / median(c.offCpuUs)) * 100).toFixed(1)}% of the manager's CPU time per task.
`);
  process.stdout.write(`${JSON.stringify({ ...c, recordNs })}\n`);
  process.exit(0);
} else {
  const t = await throughput();
  const b = await busyReplies();
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  process.stdout.write(`
| measure (client, manager and worker node in their own processes; ${seconds} s each${keyFile === undefined ? '' : '; shared key'}) | result |
| --- | --- |
| end-to-end no-op tasks/s (pipelined, ${window} in flight) | ${fmt(t.tasksPerSecond)} |
| busy replies/s from one manager (${busyClients} client processes) | ${fmt(b.busyPerSecond)} |
| manager CPU while answering busy (share of one core) | ${Math.round(b.managerCpuShare * 100)}% |
| busy replies/s per manager CPU-second | ${fmt(b.busyPerSecond / b.managerCpuShare)} |
| manager RSS while rejecting (start → end; min–max of the per-second samples) | ${b.rssStartMiB.toFixed(1)} → ${b.rssEndMiB.toFixed(1)} MiB; ${Math.min(...b.rssSeries).toFixed(1)}–${Math.max(...b.rssSeries).toFixed(1)} MiB |
`);
  process.stdout.write(`${JSON.stringify({ ...t, ...b })}\n`);
  process.exit(0);
}

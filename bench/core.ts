// npm run bench:core — the runtime's raw speed with client, manager and one worker node as three
// processes on this machine: end-to-end no-op tasks/s (pipelined), busy replies/s from one
// manager, and the manager's memory while it rejects. Figures are printed as a table and as JSON.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connect, BusyError } from '../src/index.js';
import { SluiceProcess } from '../test/helpers/processes.js';

const NOOP_TASKS = fileURLToPath(new URL('../../bench/fixtures/noop-tasks.js', import.meta.url));
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const window = Number(process.env['BENCH_WINDOW'] ?? 2_000);

type Tasks = { noop: () => Promise<null> };

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function startManager(flags: string[]): Promise<{ proc: SluiceProcess; port: number }> {
  const proc = new SluiceProcess(['manager', '--port', '0', ...flags], { SLUICE_LOG_LEVEL: 'info' });
  const line = await proc.waitForLog((l) => l.msg === 'manager listening');
  return { proc, port: line['port'] as number };
}

/** Keeps `window` tasks in flight for `seconds`; returns completed tasks per second. */
async function throughput(): Promise<{ tasksPerSecond: number; completed: number }> {
  const { proc: manager, port } = await startManager(['--max-queue', String(window * 2)]);
  const worker = new SluiceProcess(['worker', '--manager', `127.0.0.1:${port}`, '--tasks', NOOP_TASKS, '--capacity', '64', '--threads', '1']);
  await manager.waitForLog((l) => l.msg === 'worker joined', 20_000);
  const client = await connect<Tasks>({ manager: `127.0.0.1:${port}`, maxInFlight: window });
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
    const lanes = Array.from({ length: window }, lane);
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    stop = true;
    const elapsed = (performance.now() - started) / 1_000;
    const measured = completed;
    await Promise.all(lanes);
    return { tasksPerSecond: measured / elapsed, completed: measured };
  } finally {
    await client.close();
    await worker.stop();
    await manager.stop();
  }
}

/** A manager with a one-task queue and no workers: every further submission is answered busy. */
async function busyReplies(): Promise<{ busyPerSecond: number; rssStartMiB: number; rssEndMiB: number }> {
  const { proc: manager, port } = await startManager(['--max-queue', '1']);
  const client = await connect<Tasks>({ manager: `127.0.0.1:${port}`, retry: false, maxInFlight: window });
  try {
    void client.run('noop', undefined).catch(() => {}); // fills the queue
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
    // Warm-up, then measure.
    const warm = Array.from({ length: window }, lane);
    await new Promise((r) => setTimeout(r, 1_000));
    const rssStartMiB = rssMiB(manager.pid);
    const before = busy;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const elapsed = (performance.now() - started) / 1_000;
    const measured = busy - before;
    const rssEndMiB = rssMiB(manager.pid);
    stop = true;
    await Promise.all(warm);
    return { busyPerSecond: measured / elapsed, rssStartMiB, rssEndMiB };
  } finally {
    await client.close();
    await manager.stop();
  }
}

const t = await throughput();
const b = await busyReplies();
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
process.stdout.write(`
| measure (3 processes: client, manager, worker node; ${seconds} s each) | result |
| --- | --- |
| end-to-end no-op tasks/s (pipelined, ${window} in flight) | ${fmt(t.tasksPerSecond)} |
| busy replies/s from one manager | ${fmt(b.busyPerSecond)} |
| manager RSS while rejecting (start → end) | ${b.rssStartMiB.toFixed(1)} → ${b.rssEndMiB.toFixed(1)} MiB |
`);
process.stdout.write(`${JSON.stringify({ ...t, ...b })}\n`);
process.exit(0);

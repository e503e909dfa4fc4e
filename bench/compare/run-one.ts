// One measurement: deploy a system, start its worker and a load generator in their own processes,
// sample the server's queue depth and memory every second while the load runs, tear down.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LoadPlan, LoadResult } from './load.js';
import { sleep, type RunConfig, type Sample, type System } from './system.js';

const ROLES = fileURLToPath(new URL('./roles.js', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface Measurement {
  result: LoadResult;
  /** Server samples, one a second from the load's start. */
  samples: Sample[];
}

function child(args: string[]): ChildProcess {
  return fork(ROLES, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function end(process: ChildProcess | undefined): Promise<void> {
  if (process === undefined || process.exitCode !== null || process.signalCode !== null) return;
  process.kill('SIGKILL');
  await once(process, 'exit');
}

/** Resolves with the first IPC message matching, rejecting if the process exits first. */
function message<T>(process: ChildProcess, match: (m: unknown) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!match(m)) return;
      process.off('exit', onExit);
      process.off('message', onMessage);
      resolve(m as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`${process.spawnargs.slice(2, 4).join(' ')} exited with ${code}`));
    process.on('message', onMessage);
    process.once('exit', onExit);
  });
}

export async function measure(system: System, config: RunConfig, plan: LoadPlan): Promise<Measurement> {
  const deployment = await system.setUp(config);
  let worker: ChildProcess | undefined;
  let load: ChildProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const endpoint = JSON.stringify(deployment.endpoint);
    worker = child(['worker', system.name, endpoint, JSON.stringify(config)]);
    await message(worker, (m) => m === 'ready');
    const readyBy = Date.now() + READY_TIMEOUT_MS;
    while (!(await deployment.ready())) {
      if (Date.now() > readyBy) throw new Error(`${system.name}: the worker did not attach within ${READY_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    load = child(['load', system.name, endpoint, JSON.stringify(config), JSON.stringify(plan)]);
    const samples: Sample[] = [];
    const finished = message<{ result: LoadResult }>(load, (m) => typeof m === 'object' && m !== null && 'result' in m);
    await message(load, (m) => m === 'started');
    // Samples are taken one at a time; a slow answer (a server under load) delays the next one.
    let sampling = Promise.resolve();
    sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        samples.push(await deployment.sample().catch(() => ({ depth: Number.NaN, rssMiB: Number.NaN })));
      });
    }, 1_000);
    const { result } = await finished;
    clearInterval(sampler);
    await sampling;
    return { result, samples };
  } finally {
    clearInterval(sampler);
    await end(load);
    await end(worker);
    await deployment.tearDown();
  }
}

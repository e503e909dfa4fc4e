// One measurement: deploy a system, start its worker and a load generator in their own processes,
// sample the server's queue depth and memory every second while the load runs, tear down.
import type { ChildProcess } from 'node:child_process';
import { child, end, message } from './children.js';
import type { LoadPlan, LoadResult } from './load.js';
import { sleep, type RunConfig, type Sample, type System } from './system.js';

const READY_TIMEOUT_MS = 20_000;

export interface Measurement {
  result: LoadResult;
  /** Server samples, one a second from the load's start. */
  samples: Sample[];
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

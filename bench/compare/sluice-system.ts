// sluice: a manager (its own process, --max-latency and the default --max-queue) and one worker
// node with all the slots, started through the library exactly as the CLI starts them.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BusyError, connect, startManager, startWorker } from '../../src/index.js';
import { rssMiB } from './proc.js';
import { child as fork, end, message } from './children.js';
import type { Deployment, Endpoint, Producer, RunConfig, System } from './system.js';

const TASKS = fileURLToPath(new URL('../../../bench/fixtures/compare-tasks.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

type Tasks = { noop: () => Promise<null>; wait10: () => Promise<null> };

interface ManagerReport { queued: number; slots: number }

function ask(child: ChildProcess): Promise<ManagerReport> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as ManagerReport));
    child.send('sample');
  });
}

export const sluice: System = {
  name: 'sluice',
  version: async () => VERSION,

  async setUp(config: RunConfig): Promise<Deployment> {
    const child = fork(['sluice-manager', String(config.maxLatencyMs)]);
    const { port } = await message<{ port: number }>(child, (m) => typeof m === 'object' && m !== null && 'port' in m);
    return {
      endpoint: { port, pid: child.pid! },
      ready: async () => (await ask(child)).slots >= config.slots,
      sample: async () => ({ depth: (await ask(child)).queued, rssMiB: rssMiB(child.pid!) }),
      tearDown: () => end(child),
    };
  },

  async startWorker(endpoint: Endpoint, config: RunConfig) {
    const node = await startWorker({ manager: `127.0.0.1:${endpoint['port']}`, tasks: TASKS, capacity: config.slots, threads: 1 });
    return { close: () => node.close() };
  },

  async openProducer(endpoint: Endpoint, config: RunConfig): Promise<Producer> {
    const client = await connect<Tasks>({ manager: `127.0.0.1:${endpoint['port']}`, retry: false, maxInFlight: 1_000_000 });
    return {
      submit: () => client.run(config.task, undefined).then(
        () => 'completed' as const,
        (error: unknown) => {
          if (error instanceof BusyError) return 'rejected' as const;
          throw error;
        },
      ),
      close: () => client.close(),
    };
  },
};

/** The manager process of a sluice deployment: listens, then answers 'sample' over IPC. */
export async function serveManager(maxLatencyMs: number): Promise<void> {
  const manager = await startManager({ port: 0, maxLatencyMs });
  process.on('message', () => {
    const s = manager.snapshot();
    process.send!({ queued: s.queued, slots: s.slots } satisfies ManagerReport);
  });
  process.send!({ port: manager.address.port });
}

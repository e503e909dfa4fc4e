import { resolve } from 'node:path';
import { startWorker, type WorkerOptions } from '../../worker/index.js';
import type { Logger } from '../../core/logger.js';
import { UsageError, choiceFlag, helpFlag, integerFlag, keyFlags, keyFromFlags, logFlags, parseFlags, requiredString, stringFlag, tlsFromFlags, type FlagSpec, type FlagValues } from '../flags.js';
import { createCliLogger } from '../logger.js';
import { untilShutdown } from '../shutdown.js';

/** Flags of the worker pool, shared by `worker` and `dev`. */
export const poolFlags: FlagSpec = {
  tasks: { type: 'string' },
  capacity: { type: 'string' },
  prefetch: { type: 'string' },
  threads: { type: 'string' },
  isolation: { type: 'string' },
  'drain-timeout': { type: 'string' },
  'task-timeout': { type: 'string' },
  'max-heap': { type: 'string' },
};

export const poolFlagsHelp = `  --tasks FILE           task module (default export from defineTasks); required
  --capacity N           slots: tasks run at once on this node (default: number of CPUs)
  --prefetch N           tasks held beyond capacity while every slot is busy, each started the moment
                         a slot frees, hiding the manager round trip (default 1; 0 = none)
  --threads N            threads (or processes) in the pool (default: min(capacity, CPUs))
  --isolation MODE       thread|process|none (default thread; none runs handlers on the node's own
                         event loop: no hop per task, no isolation — for handlers that only await I/O)
  --drain-timeout MS     on SIGTERM, time to finish running tasks before handing them back (default 30000)
  --task-timeout MS      execution limit for tasks without a deadline (default 300000)
  --max-heap MB          heap limit of each thread or process; a task past it crashes its thread, not the node`;

export const workerUsage = `Usage: sluice worker --manager HOST:PORT --tasks FILE [options]

Runs a worker node: connects to a manager and runs the tasks its module registers.
SIGTERM drains: stops taking tasks, finishes or hands back what runs, then exits.

Options:
  --manager HOST:PORT    manager address; env SLUICE_MANAGER
  --key-file FILE        shared key; env SLUICE_KEY_FILE
  --tls-ca FILE          CA (PEM) the manager's certificate must chain to (enables TLS)
  --tls-cert FILE        client certificate (PEM), for managers that require one
  --tls-key FILE         client key (PEM)
  --name NAME            node name in the manager's logs and status
${poolFlagsHelp}
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT    json|pretty (default: pretty on a terminal)`;

export function poolOptionsFromFlags(values: FlagValues): Pick<WorkerOptions, 'tasks' | 'capacity' | 'prefetch' | 'threads' | 'isolation' | 'drainTimeoutMs' | 'taskTimeoutMs' | 'maxOldGenerationSizeMb'> {
  const tasks = requiredString(values, 'tasks', 'the path of a task module');
  return {
    tasks: resolve(tasks),
    capacity: integerFlag(values, 'capacity', 1, 100_000),
    prefetch: integerFlag(values, 'prefetch', 0, 100_000),
    threads: integerFlag(values, 'threads', 1, 1024),
    isolation: choiceFlag(values, 'isolation', ['thread', 'process', 'none'] as const),
    drainTimeoutMs: integerFlag(values, 'drain-timeout', 0, 3_600_000),
    taskTimeoutMs: integerFlag(values, 'task-timeout', 1, 86_400_000),
    maxOldGenerationSizeMb: integerFlag(values, 'max-heap', 8, 1_048_576),
  };
}

export async function workerOptionsFromFlags(values: FlagValues, logger: Logger): Promise<WorkerOptions> {
  const tls = await tlsFromFlags(values);
  return {
    ...poolOptionsFromFlags(values),
    manager: requiredString(values, 'manager', 'HOST:PORT of a manager', 'SLUICE_MANAGER'),
    key: await keyFromFlags(values),
    ...(tls === undefined ? {} : { tls }),
    name: stringFlag(values, 'name'),
    logger,
  };
}

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...poolFlags, ...keyFlags, manager: { type: 'string' }, name: { type: 'string' }, ...logFlags, ...helpFlag });
  if (values['help'] === true) {
    process.stdout.write(`${workerUsage}\n`);
    return 0;
  }
  const logger = createCliLogger(values);
  const options = await workerOptionsFromFlags(values, logger);
  if (options.manager === '') throw new UsageError('Missing --manager: expected HOST:PORT of a manager');
  const node = await startWorker(options);
  const signal = await untilShutdown(logger);
  logger.info({ signal }, 'draining');
  await node.drain();
  await node.close();
  return 0;
}

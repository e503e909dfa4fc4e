// The common face every system under test shows the benchmark. Each method runs in the process
// that needs it: setUp/sample/tearDown in the orchestrator, startWorker in a worker process,
// openProducer in a load-generator process; the Endpoint (plain JSON) is what crosses between them.
import { setTimeout as sleep } from 'node:timers/promises';

/** The task bodies: a no-op, and an await of 10 ms (what an I/O-bound task looks like). */
export type TaskKind = 'noop' | 'wait10';

export interface RunConfig {
  /** Tasks run at once over all workers. */
  slots: number;
  /** Queue bound of the count-bounded peers (RabbitMQ x-max-length, JetStream max_msgs). */
  bound: number;
  /** sluice's --max-latency. */
  maxLatencyMs: number;
  task: TaskKind;
}

export type Endpoint = Record<string, string | number>;

export type Outcome = 'completed' | 'rejected';

export interface Producer {
  /** Sends one task and settles when its result is back ('completed') or it was refused. */
  submit(): Promise<Outcome>;
  close(): Promise<void>;
}

export interface Sample {
  /** Tasks waiting in the server's queue (not yet running). */
  depth: number;
  /** The server process's resident memory. */
  rssMiB: number;
  /** What the server says it uses, where it says so (Redis used_memory). */
  reportedMiB?: number;
}

export interface Deployment {
  endpoint: Endpoint;
  sample(): Promise<Sample>;
  /** True once the workers are attached and ready to take tasks. */
  ready(): Promise<boolean>;
  tearDown(): Promise<void>;
}

export interface System {
  readonly name: string;
  /** Server version, or rejects with ServerUnreachableError. */
  version(): Promise<string>;
  setUp(config: RunConfig): Promise<Deployment>;
  startWorker(endpoint: Endpoint, config: RunConfig): Promise<{ close(): Promise<void> }>;
  openProducer(endpoint: Endpoint, config: RunConfig): Promise<Producer>;
}

export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

export async function runTask(kind: TaskKind): Promise<void> {
  if (kind === 'wait10') await sleep(10);
}

/** Resolves after `ms`, bounded: used for the few settle/poll loops of the orchestrator. */
export { sleep };

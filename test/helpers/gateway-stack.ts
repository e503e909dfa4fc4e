// What the gateway's HTTP tests run against: a real Manager in this process, a real worker node
// running test/fixtures/gateway-http-tasks.js in a thread, and real clients — joined by in-process
// links (as `sluice dev` joins them) — with gateways on loopback ports in front. Nothing answers
// in the system's place: the only additions are a recording wrapper that shows what the gateway
// asked the client for, and the fixture's reports of what the handlers did.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { TaskMap } from '../../src/core/tasks.js';
import { connect, type Client, type RunOptions } from '../../src/client/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.js';
import { GatewayCaller, type CallResult } from '../../src/gateway/http-caller.test-helpers.js';
import { startManager, type Manager, type ManagerOptions } from '../../src/manager/index.js';
import { startWorker, type WorkerNode } from '../../src/worker/index.js';

export const TASKS = fileURLToPath(new URL('../../../test/fixtures/gateway-http-tasks.js', import.meta.url));
/** Spelled the same in the fixture. */
const EVENTS = 'sluice-test:gateway-task-events';
const RELEASES = 'sluice-test:gateway-task-releases';

/** Polls `condition` every 5 ms until it holds; fails after `ms`. */
export async function until(condition: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface TaskEvent {
  event: 'start' | 'end' | 'aborted';
  tag: string | undefined;
  /** The task id the handler saw (`ctx.taskId`). */
  id: string;
  attempt: number;
}

/** What the fixture's handlers reported, heard in this thread; `release` ends a `hold`. */
export class TaskEvents {
  readonly seen: TaskEvent[] = [];
  readonly #events = new BroadcastChannel(EVENTS);
  readonly #releases = new BroadcastChannel(RELEASES);

  constructor() {
    this.#events.onmessage = (message: MessageEvent) => this.seen.push(message.data as TaskEvent);
  }

  of(tag: string, event?: TaskEvent['event']): TaskEvent[] {
    return this.seen.filter((e) => e.tag === tag && (event === undefined || e.event === event));
  }

  async until(tag: string, event: TaskEvent['event'], count = 1): Promise<void> {
    await until(() => this.of(tag, event).length >= count, 5_000, `${count} × ${event} of ${tag}`);
  }

  /** Lets the `hold` tagged `tag` return `result`, once it has started. */
  async release(tag: string, result?: unknown): Promise<void> {
    await this.until(tag, 'start');
    this.#releases.postMessage({ tag, result });
  }

  close(): void {
    this.#events.close();
    this.#releases.close();
  }
}

export interface RecordedCall {
  method: 'run' | 'submit';
  name: string;
  args: unknown;
  options: RunOptions | undefined;
}

/** A real client whose `run`/`submit`/`close` calls are recorded on their way through. */
export type RecordingClient = Client<TaskMap> & { readonly calls: readonly RecordedCall[]; readonly closes: number };

export function recording(client: Client<TaskMap>): RecordingClient {
  const calls: RecordedCall[] = [];
  let closes = 0;
  return new Proxy(client, {
    get(target, property) {
      switch (property) {
        case 'calls':
          return calls;
        case 'closes':
          return closes;
        case 'run':
        case 'submit':
          return (name: string, args: unknown, options?: RunOptions) => {
            calls.push({ method: property, name, args, options });
            return target[property](name, args, options);
          };
        case 'close':
          return () => {
            closes++;
            return target.close();
          };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as RecordingClient;
}

export interface StackOptions {
  manager?: ManagerOptions;
  /** The worker node's slots. @default 1 */
  capacity?: number;
  /** Start no worker node (a manager nobody serves). */
  noWorker?: boolean;
}

export interface Front {
  gateway: Gateway;
  caller: GatewayCaller;
}

/**
 * One manager, one worker node, one shared client, and any number of gateways and extra clients,
 * all closed by `close()` — which then asserts that every (route, status) any caller saw is
 * declared in the OpenAPI document.
 */
export class GatewayStack {
  readonly events = new TaskEvents();
  readonly #fronts: Front[] = [];
  readonly #clients: Client<TaskMap>[] = [];

  private constructor(
    readonly manager: Manager,
    readonly worker: WorkerNode | undefined,
    readonly client: RecordingClient,
  ) {}

  static async start(options: StackOptions = {}): Promise<GatewayStack> {
    const manager = await startManager({ port: 0, ...options.manager });
    let worker: WorkerNode | undefined;
    if (options.noWorker !== true) {
      // No prefetch: the tests count slots + queue exactly, and a held task would be one more place.
      worker = await startWorker({ manager, tasks: TASKS, capacity: options.capacity ?? 1, threads: 1, prefetch: 0 });
      await until(() => manager.snapshot().workers.length === 1, 10_000, 'the worker joined');
    }
    const stack = new GatewayStack(manager, worker, recording(await connect({ manager, reconnect: { baseMs: 10, maxMs: 50 } })));
    stack.#clients.push(stack.client);
    return stack;
  }

  /** Another real client of the same manager (closed by `close()` unless closed before). */
  async connect(): Promise<RecordingClient> {
    const client = recording(await connect({ manager: this.manager }));
    this.#clients.push(client);
    return client;
  }

  /** A gateway in front of `options.client` (default: the shared client), and a caller for it. */
  async front(options: Partial<GatewayOptions> = {}, headers: Record<string, string> = {}): Promise<Front> {
    const gateway = await startGateway({ port: 0, client: this.client, ...options });
    const caller = new GatewayCaller(`http://127.0.0.1:${gateway.address.port}`, headers);
    const front = { gateway, caller };
    this.#fronts.push(front);
    return front;
  }

  /** Submits the gateway made through the shared client since `from` (an earlier `calls.length`). */
  submitsSince(from: number): RecordedCall[] {
    return this.client.calls.slice(from);
  }

  /** Resolves once the manager holds no task, queued or running. */
  async idle(): Promise<void> {
    await until(() => {
      const s = this.manager.snapshot();
      return s.queued === 0 && s.running === 0;
    }, 5_000, 'the manager is idle');
  }

  async close(): Promise<void> {
    const undeclared: string[] = [];
    for (const { gateway, caller } of this.#fronts) {
      undeclared.push(...caller.undeclared());
      await caller.close();
      await gateway.close();
    }
    for (const client of this.#clients) await client.close();
    await this.worker?.close();
    await this.manager.close();
    this.events.close();
    assert.deepEqual(undeclared, [], 'every (route, status) seen is declared in openapi.json');
  }
}

/** Polls GET `location` until the job's state is `state`; returns the last answer. */
export async function jobInState(caller: GatewayCaller, location: string, state: string): Promise<CallResult> {
  let last: CallResult | undefined;
  await pollAsync(async () => {
    last = await caller.call('GET', location);
    return last.json?.state === state;
  }, `job ${location} ${state}`);
  return last as CallResult;
}

/** Like `until`, for a condition that takes an HTTP round trip; polls every 10 ms, at most `ms`. */
export async function pollAsync(condition: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

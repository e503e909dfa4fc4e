// A stand-in sluice client for the gateway's HTTP-layer tests: answers are scripted per task
// name, and every call's options and cancellation are recorded. The errors carry the same `code`s
// and fields as src/client/errors.ts, which is all the gateway reads.
import { EventEmitter } from 'node:events';
import type { TaskMap } from '../core/tasks.js';
import type { Client, ClientEvents, RunOptions, TaskHandle } from '../client/index.js';

export interface FakeCall {
  name: string;
  args: unknown;
  options: RunOptions;
  /** Set when the call was cancelled through its handle or its signal (caller left, DELETE, shutdown). */
  aborted: unknown;
  settled: boolean;
  /** Resolve or reject by hand (tasks named `hold`). */
  resolve(value: unknown): void;
  reject(error: unknown): void;
  started: boolean;
}

export function clientError(code: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`fake ${code}`), { code, ...fields });
}

/**
 * Scripted answers by task name:
 *   noop → null; echo → args; slow → args after `args.ms`; hold → waits for `resolve`/`reject` by hand;
 *   busy → busy (retryAfterMs = args?.retryAfterMs ?? 1500, reason = args?.reason ?? 'full');
 *   boom → task_failed TypeError; unknown → task_failed UnknownTaskError; lost → worker_lost;
 *   expire → expired; bigint → a result JSON cannot encode; throw → a non-client error.
 */
export class FakeClient extends EventEmitter<ClientEvents> implements Client<TaskMap> {
  readonly calls: FakeCall[] = [];
  connected = true;
  closed = false;
  /** Keep every call in `calls` (off for benchmarks, where they would pile up). */
  readonly #record: boolean;

  constructor(options: { record?: boolean } = {}) {
    super();
    this.#record = options.record ?? true;
  }

  get inFlight(): number {
    return this.calls.filter((c) => !c.settled).length;
  }

  get waiting(): number {
    return 0;
  }

  run(name: string, args: unknown, options: RunOptions = {}): Promise<never> {
    return this.#start(name, args, options).promise as Promise<never>;
  }

  submit(name: string, args: unknown, options: RunOptions = {}): Promise<TaskHandle<never>> {
    const { call, promise } = this.#start(name, args, options);
    promise.catch(() => {});
    const handle: TaskHandle<never> = {
      id: options.id ?? 'fake-id',
      result: promise as Promise<never>,
      cancel: async () => {
        if (call.settled) return;
        call.aborted = 'cancelled';
        call.reject(clientError('cancelled'));
      },
      get started() {
        return call.started;
      },
      get attempt() {
        return call.started ? 1 : 0;
      },
    };
    return Promise.resolve(handle);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(name: string, args: unknown, options: RunOptions): { call: FakeCall; promise: Promise<unknown> } {
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call: FakeCall = {
      name,
      args,
      options,
      aborted: undefined,
      settled: false,
      started: false,
      resolve: (v) => {
        if (call.settled) return;
        call.settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve(v);
      },
      reject: (e) => {
        if (call.settled) return;
        call.settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    };
    const onAbort = (): void => {
      call.aborted = options.signal?.reason;
      call.reject(options.signal?.reason);
    };
    if (this.#record) this.calls.push(call);
    options.signal?.addEventListener('abort', onAbort);
    const a = args as { ms?: number; retryAfterMs?: number; reason?: string } | undefined;
    switch (name) {
      case 'noop':
        call.resolve(null);
        break;
      case 'echo':
        call.resolve(args);
        break;
      case 'slow':
        call.started = true;
        setTimeout(() => call.resolve(args), a?.ms ?? 50);
        break;
      case 'hold':
        break;
      case 'busy':
        call.reject(clientError('busy', { retryAfterMs: a?.retryAfterMs ?? 1500, reason: a?.reason ?? 'full', attempts: 1 }));
        break;
      case 'boom':
        call.reject(clientError('task_failed', { remoteName: 'TypeError', remoteMessage: 'bad input', remoteStack: 'TypeError: bad input\n    at boom (tasks.js:1:1)' }));
        break;
      case 'unknown':
        call.reject(clientError('task_failed', { remoteName: 'UnknownTaskError', remoteMessage: 'No worker registers a task named "unknown"' }));
        break;
      case 'lost':
        call.reject(clientError('worker_lost', { attempts: 3 }));
        break;
      case 'expire':
        call.reject(clientError('expired'));
        break;
      case 'bigint':
        call.resolve({ n: 1n });
        break;
      case 'throw':
        call.reject(new RangeError('a bug'));
        break;
      default:
        call.reject(clientError('task_failed', { remoteName: 'UnknownTaskError', remoteMessage: `No worker registers a task named ${JSON.stringify(name)}` }));
    }
    return { call, promise };
  }
}

// Shared by the pool tests: fixture paths, request builder and a start handshake over shared memory.
import { fileURLToPath } from 'node:url';
import type { ExecutionRequest } from './types.js';

const FIXTURES = new URL('../../../../test/fixtures/pool/', import.meta.url);
export const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
export const TASKS = fixture('tasks.js');

let nextToken = 1;
export function request(name: string, args: unknown = null, extra: Partial<ExecutionRequest> = {}): ExecutionRequest {
  const token = nextToken++;
  return { token, id: `task-${token}`, name, args, attempt: 1, ...extra };
}

/** An Int32Array the handler `startedThen` sets to 1 once it runs. */
export function startFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };

/** Resolves once the handler holding `flag` has started; rejects after timeoutMs. */
export async function started(flag: Int32Array, timeoutMs = 5_000): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const result = waitAsync(flag, 0, 0, timeoutMs);
  const outcome = result.async ? await result.value : result.value;
  if (outcome === 'timed-out') throw new Error(`handler did not start within ${timeoutMs} ms`);
}

let channelCounter = 0;
/**
 * For args that cross a socket (node tests): `startedThen` with `{ channel: name }` announces
 * itself on a BroadcastChannel, which reaches this thread from the pool's threads.
 */
export function startChannel(timeoutMs = 5_000): { name: string; started: Promise<void> } {
  const name = `sluice-test-start-${process.pid}-${++channelCounter}`;
  const channel = new BroadcastChannel(name);
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.close();
      reject(new Error(`handler did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    channel.onmessage = () => {
      clearTimeout(timer);
      channel.close();
      resolve();
    };
  });
  return { name, started };
}

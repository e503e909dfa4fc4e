import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../core/errors.js';
import type { TaskMap } from '../core/tasks.js';
import { parseKey } from '../protocol/auth.js';
import { openHistory } from '../protocol/history-file.js';
import type { Client } from './client-api.js';
import { ReconnectingClient } from './client.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';

/** Smallest shared key accepted, as the protocol's `parseKey` enforces for text keys. */
const MIN_KEY_BYTES = 32;

/**
 * Connects to a manager and resolves with a client once authenticated. Retries for
 * `connectTimeoutMs`, then rejects with ConnectError; rejects at once with AuthError when the
 * manager refuses the key, with InvalidArgumentError for bad options, with `signal.reason` when
 * `signal` aborts. After that the client reconnects on its own until `close()`.
 *
 * @example
 * const client = await connect<typeof tasks>({ manager: '10.0.0.5:7400', keyFile: 'sluice.key' });
 */
export async function connect<T extends TaskMap = TaskMap>(options: ClientOptions): Promise<Client<T>> {
  const resolved = resolveClientOptions(options);
  resolved.signal?.throwIfAborted();
  const key = await loadKey(resolved);
  const client = new ReconnectingClient<T>(resolved, key, openHistory(resolved.history));
  return client.start();
}

async function loadKey(options: ResolvedClientOptions): Promise<Buffer | undefined> {
  const { key, keyFile } = options;
  if (keyFile !== undefined) {
    let text: string;
    try {
      text = await readFile(keyFile, { encoding: 'utf8', ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (error) {
      options.signal?.throwIfAborted();
      throw new InvalidArgumentError(`Cannot read \`keyFile\` ${JSON.stringify(keyFile)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    try {
      return parseKey(text);
    } catch (error) {
      throw new InvalidArgumentError(`Invalid \`keyFile\` ${JSON.stringify(keyFile)}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (typeof key === 'string') {
    try {
      return parseKey(key);
    } catch (error) {
      throw new InvalidArgumentError(`Invalid \`key\`: ${(error as Error).message}`, { cause: error });
    }
  }
  if (key !== undefined && key.length < MIN_KEY_BYTES) {
    throw new InvalidArgumentError(`Expected \`key\` to hold at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
  }
  return key === undefined ? undefined : Buffer.from(key);
}

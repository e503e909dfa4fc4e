// A fake manager for client tests: the real protocol server over real sockets, with the
// answers scripted per test (busy N times, never answer, drop the link...).
import { createServer, type ProtocolServer, type ServerConnection } from '../protocol/server.js';
import type { Cancel, ClientMessage, ManagerToClient, Submit, WorkerMessage } from '../protocol/messages.js';

export type Reply = (message: ManagerToClient) => void;
/** Decides what to do with one submit; `reply` answers on the connection it came on. */
export type Script = (submit: Submit, reply: Reply, context: { connection: ServerConnection; connectionIndex: number }) => void;

export interface Received {
  message: Submit | Cancel;
  /** Index of the connection it came on, 0 for the first one accepted. */
  connectionIndex: number;
  /** performance.now() when it arrived. */
  at: number;
}

export const echo: Script = (submit, reply) => reply({ type: 'completed', id: submit.id, result: submit.args });
export const silent: Script = () => {};

/** Answers `busy` `times` times per id, then completes (echo). */
export function busyThen(times: number, retryAfterMs: number, reason: 'full' | 'latency' = 'full'): Script {
  const seen = new Map<string, number>();
  return (submit, reply) => {
    const n = seen.get(submit.id) ?? 0;
    seen.set(submit.id, n + 1);
    if (n < times) reply({ type: 'busy', id: submit.id, reason, retryAfterMs });
    else reply({ type: 'completed', id: submit.id, result: submit.args });
  };
}

export class ScriptedManager {
  script: Script;
  readonly received: Received[] = [];
  readonly connections = new Set<ServerConnection>();
  #key: Buffer | undefined;
  #server: ProtocolServer | undefined;
  #port = 0;
  #accepted = 0;
  readonly #waiters = new Set<() => void>();

  private constructor(script: Script, key: Buffer | undefined) {
    this.script = script;
    this.#key = key;
  }

  static async start(options: { script?: Script; key?: Buffer } = {}): Promise<ScriptedManager> {
    const manager = new ScriptedManager(options.script ?? echo, options.key);
    await manager.resume();
    return manager;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Connections accepted since start (across pause/resume). */
  get accepted(): number {
    return this.#accepted;
  }

  submits(): Submit[] {
    return this.received.filter((r) => r.message.type === 'submit').map((r) => r.message as Submit);
  }

  cancels(): Cancel[] {
    return this.received.filter((r) => r.message.type === 'cancel').map((r) => r.message as Cancel);
  }

  /** Resolves when `predicate` holds, re-checked on every event; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`ScriptedManager: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Destroys every open connection (the server keeps listening). */
  dropConnections(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /** Stops listening and destroys every connection; `resume()` listens again on the same port. */
  async pause(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.close();
    this.connections.clear();
  }

  /** Listens (again) on the same port; `key` replaces the shared key from then on. */
  async resume(options: { key?: Buffer } = {}): Promise<void> {
    if (options.key !== undefined) this.#key = options.key;
    const server = createServer(
      { host: '127.0.0.1', port: this.#port, ...(this.#key === undefined ? {} : { key: this.#key }), managerId: 'scripted' },
      (connection) => this.#accept(connection),
    );
    const { port } = await server.listen();
    this.#port = port;
    this.#server = server;
  }

  async close(): Promise<void> {
    await this.pause();
    this.#notify();
  }

  #accept(connection: ServerConnection): void {
    const connectionIndex = this.#accepted++;
    this.connections.add(connection);
    const reply: Reply = (message) => {
      if (!connection.isClosed) connection.send(message);
    };
    connection.on('message', (message: ClientMessage | WorkerMessage) => {
      if (message.type !== 'submit' && message.type !== 'cancel') return;
      this.received.push({ message, connectionIndex, at: performance.now() });
      if (message.type === 'submit') this.script(message, reply, { connection, connectionIndex });
      this.#notify();
    });
    connection.on('close', () => {
      this.connections.delete(connection);
      this.#notify();
    });
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

// A scripted manager for the worker node tests: the real protocol server, with every message a
// worker sends recorded, and helpers to wait for one, send dispatches and drop the link.
import { createServer, type ProtocolServer, type ServerConnection } from '../protocol/index.js';
import type { ManagerToWorker, WorkerMessage } from '../protocol/messages.js';

interface Received { connection: ServerConnection; message: WorkerMessage }

export class ScriptedManager {
  readonly received: Received[] = [];
  readonly connections: ServerConnection[] = [];
  #server: ProtocolServer | undefined;
  #consumed = new Set<Received>();
  #waiters = new Set<() => void>();
  port = 0;

  async start(port = 0): Promise<this> {
    this.#server = createServer({ host: '127.0.0.1', port, heartbeatMs: 200 }, (connection) => {
      this.connections.push(connection);
      connection.on('message', (message) => {
        this.received.push({ connection, message: message as WorkerMessage });
        for (const wake of this.#waiters) wake();
      });
      connection.on('close', () => {
        for (const wake of this.#waiters) wake();
      });
    });
    ({ port: this.port } = await this.#server.listen());
    return this;
  }

  get latest(): ServerConnection {
    const connection = this.connections.at(-1);
    if (connection === undefined) throw new Error('no worker connected');
    return connection;
  }

  send(message: ManagerToWorker, connection = this.latest): void {
    connection.send(message);
  }

  /** The first not yet consumed message matching `match`; rejects after timeoutMs. */
  async next<T extends WorkerMessage>(match: (m: WorkerMessage) => m is T, timeoutMs?: number): Promise<T>;
  async next(match: (m: WorkerMessage) => boolean, timeoutMs?: number): Promise<WorkerMessage>;
  async next(match: (m: WorkerMessage) => boolean, timeoutMs = 5_000): Promise<WorkerMessage> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((r) => !this.#consumed.has(r) && match(r.message));
      if (found !== undefined) {
        this.#consumed.add(found);
        return found.message;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for a message; received: ${JSON.stringify(this.received.map((r) => r.message))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.#waiters;
        waiters.add(done);
      });
    }
  }

  /** Resolves when `connection` has closed; rejects after timeoutMs. */
  async closed(connection: ServerConnection, timeoutMs = 5_000): Promise<void> {
    if (connection.isClosed) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection did not close')), timeoutMs);
      connection.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }
}

export const outcomeFor = (token: number) => (m: WorkerMessage): m is Extract<WorkerMessage, { type: 'outcome' }> =>
  m.type === 'outcome' && m.token === token;
export const isRegister = (m: WorkerMessage): m is Extract<WorkerMessage, { type: 'register' }> => m.type === 'register';
export const isCapacity = (m: WorkerMessage): m is Extract<WorkerMessage, { type: 'capacity' }> => m.type === 'capacity';

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { childLogger, type Logger } from '../core/logger.js';
import { createServer, type ProtocolServer } from '../protocol/server.js';
import { FailureLog } from './failure-log.js';
import { ConnectError } from '../protocol/errors.js';
import { LocalLink, type LocalManager, type ManagerSideLink, type PeerLink } from '../protocol/link.js';
import type { Alert, ClientMessage, ManagerToClient, ManagerToWorker, Role, Status, WorkerMessage } from '../protocol/messages.js';
import type { StatusSnapshot } from '../protocol/status.js';
import { Dispatcher } from './dispatcher.js';
import { WorkerLink, type ClientLink } from './links.js';
import { resolveManagerOptions, type ManagerOptions, type ResolvedManagerOptions } from './options.js';
import type { ManagerStats } from './stats.js';
import { StatusWatch } from './watch.js';
import { createManagerRegistry } from './metrics.js';
import type { Registry } from 'prom-client';
import type { LiveFigures } from './status.js';
import { IdTable } from '../core/id-table.js';

export interface WorkerSnapshot {
  nodeId: string;
  remoteAddress: string;
  capacity: number;
  running: number;
  recentServiceMs: number | undefined;
  connectedAt: number;
}

export interface ManagerSnapshot {
  managerId: string;
  queued: number;
  queuedByPriority: number[];
  running: number;
  bound: number;
  boundReason: 'max_queue' | 'latency';
  slots: number;
  workers: WorkerSnapshot[];
  clients: number;
  /** Handshakes failed since start (wrong key, garbage, timeouts, version). */
  failedHandshakes: number;
  /** Connections closed unread because their IP was over its handshake failure limit. */
  refusedConnections: number;
  stats: ManagerStats;
}

/**
 * A running manager: one port for clients and workers, and in-process links for roles in the
 * same process (`connectLocal`). Start it with `startManager()`.
 */
export class Manager implements LocalManager {
  readonly managerId: string;
  readonly options: ResolvedManagerOptions;
  readonly #dispatcher: Dispatcher;
  readonly #server: ProtocolServer;
  readonly #failureLog: FailureLog;
  readonly #logger: Logger;
  readonly #clients = new Set<ClientLink>();
  readonly #localLinks = new Set<ManagerSideLink>();
  readonly #watchers = new Set<ClientLink>();
  readonly #watch: StatusWatch;
  readonly #startedAt = performance.now();
  /** The manager's Prometheus metrics; read only when scraped. */
  readonly metricsRegistry: Registry;
  #address: { host: string; port: number } | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedManagerOptions) {
    this.options = options;
    this.managerId = options.managerId ?? randomUUID();
    this.#logger = childLogger(options.logger, { role: 'manager' });
    this.#dispatcher = new Dispatcher({
      maxQueue: options.maxQueue,
      maxLatencyMs: options.maxLatencyMs,
      maxAttempts: options.maxAttempts,
      measureTimes: options.measureTimes,
      logger: this.#logger,
      now: () => performance.now(),
    });
    this.#server = createServer(
      {
        host: options.host,
        port: options.port,
        key: options.key,
        tls: options.tls,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
        heartbeatMs: options.heartbeatMs,
        maxFrameBytes: options.maxFrameBytes,
        maxFailuresPerAddress: options.maxHandshakeFailures,
        managerId: this.managerId,
      },
      (connection) => this.#accept(connection),
    );
    this.#watch = new StatusWatch({
      intervalMs: options.statusIntervalMs,
      fill: options.fill,
      drift: options.drift,
      logger: this.#logger,
      stats: this.#dispatcher.stats,
      measures: this.#dispatcher.measures,
      live: () => this.#liveFigures(),
      broadcast: (message) => this.#broadcast(message),
      watched: () => this.#watchers.size > 0,
    });
    this.metricsRegistry = createManagerRegistry({ live: () => this.#liveFigures(), measures: this.#dispatcher.measures, watch: this.#watch });
    const failureLog = new FailureLog(this.#logger);
    this.#failureLog = failureLog;
    this.#server.on('handshakeFailed', (info) => failureLog.failed(info));
    this.#server.on('addressRefused', (info) => {
      this.#logger.warn(info, 'address refused: too many failed handshakes');
    });
  }

  /** Where the manager listens; defined once `startManager()` resolved. */
  get address(): { host: string; port: number } {
    if (this.#address === undefined) throw new Error('the manager is not listening yet');
    return this.#address;
  }

  async listen(): Promise<void> {
    this.#address = await this.#server.listen();
    this.#watch.start();
    this.#logger.info({ host: this.#address.host, port: this.#address.port, managerId: this.managerId, auth: this.options.key !== undefined, tls: this.options.tls !== undefined }, 'manager listening');
  }

  get stats(): ManagerStats {
    return this.#dispatcher.stats;
  }

  /**
   * The status snapshot: queue, capacity and counters as of now; rates, percentiles and alerts
   * as of the last status tick (at most `statusIntervalMs` old).
   */
  status(): StatusSnapshot {
    return this.#watch.snapshot();
  }

  #liveFigures(): LiveFigures {
    const d = this.#dispatcher;
    return {
      time: Date.now(),
      managerId: this.managerId,
      uptimeMs: Math.round(performance.now() - this.#startedAt),
      maxLatencyMs: this.options.maxLatencyMs,
      queuedByPriority: d.queue.sizeByPriority(),
      bound: d.queue.bound,
      boundReason: d.queue.boundReason,
      cap: this.options.maxQueue,
      fillAlertAt: this.options.fill,
      slots: d.slots,
      busy: d.busy,
      workers: d.workers,
      stats: d.stats,
    };
  }

  /** The manager's metrics in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.metricsRegistry.metrics();
  }

  #broadcast(message: Status | Alert): void {
    for (const client of this.#watchers) client.send(message);
  }

  snapshot(): ManagerSnapshot {
    const d = this.#dispatcher;
    return {
      managerId: this.managerId,
      queued: d.queue.size,
      queuedByPriority: d.queue.sizeByPriority(),
      running: d.running,
      bound: d.queue.bound,
      boundReason: d.queue.boundReason,
      slots: d.slots,
      workers: [...d.workers].map((w) => ({
        nodeId: w.nodeId,
        remoteAddress: w.remoteAddress,
        capacity: w.capacity,
        running: w.running.size,
        recentServiceMs: w.recentServiceMs,
        connectedAt: w.connectedAt,
      })),
      clients: this.#clients.size,
      failedHandshakes: this.#server.failedHandshakes,
      refusedConnections: this.#server.refusedConnections,
      stats: d.stats,
    };
  }

  /**
   * Opens an in-process link as a client or worker of this manager: the same messages and
   * semantics as over its port, without framing, encoding or a socket.
   */
  async connectLocal(role: Role, name: string | undefined): Promise<PeerLink> {
    if (this.#closing !== undefined) throw new ConnectError('The manager is closed');
    const [managerEnd, peerEnd] = LocalLink.pair<ClientMessage | WorkerMessage, ManagerToClient | ManagerToWorker>(role, name, this.managerId);
    this.#localLinks.add(managerEnd);
    managerEnd.once('close', () => this.#localLinks.delete(managerEnd));
    this.#accept(managerEnd);
    return peerEnd;
  }

  #accept(connection: ManagerSideLink): void {
    if (connection.role === 'client') this.#acceptClient(connection);
    else this.#acceptWorker(connection);
  }

  #acceptClient(connection: ManagerSideLink): void {
    const dispatcher = this.#dispatcher;
    const client: ClientLink = {
      kind: 'client',
      connectionId: connection.id,
      remoteAddress: connection.remoteAddress,
      tasks: new IdTable(),
      send: (message: ManagerToClient) => {
        if (!connection.isClosed) connection.send(message);
      },
    };
    this.#clients.add(client);
    this.#logger.debug({ connectionId: connection.id, remote: connection.remoteAddress, name: connection.peerName }, 'client connected');
    connection.on('message', (raw) => {
      const message = raw as ClientMessage;
      switch (message.type) {
        case 'submit':
          dispatcher.submit(client, message);
          break;
        case 'cancel':
          dispatcher.cancel(client, message);
          break;
        case 'status_request':
          client.send({ type: 'status', ref: message.ref, snapshot: this.status() });
          break;
        case 'watch':
          if (message.on) this.#watchers.add(client);
          else this.#watchers.delete(client);
          break;
      }
    });
    connection.on('close', (error: Error | undefined) => {
      this.#clients.delete(client);
      this.#watchers.delete(client);
      dispatcher.clientGone(client);
      this.#logger.debug({ connectionId: connection.id, reason: error?.message }, 'client disconnected');
    });
  }

  #acceptWorker(connection: ManagerSideLink): void {
    const dispatcher = this.#dispatcher;
    let worker: WorkerLink | undefined;
    connection.on('message', (raw) => {
      const message = raw as WorkerMessage;
      if (worker === undefined) {
        if (message.type !== 'register') {
          connection.destroy();
          return;
        }
        worker = new WorkerLink(connection.id, message.nodeId, connection.remoteAddress, message.capacity, new Set(message.tasks), (m) => {
          if (!connection.isClosed) connection.send(m);
        }, message.prefetch ?? 0);
        worker.name = connection.peerName;
        this.#logger.info({ nodeId: message.nodeId, remote: connection.remoteAddress, capacity: message.capacity, prefetch: message.prefetch ?? 0, tasks: message.tasks.length }, 'worker joined');
        dispatcher.addWorker(worker);
        return;
      }
      if (message.type === 'outcome') dispatcher.outcome(worker, message);
      else if (message.type === 'capacity') dispatcher.setCapacity(worker, message.capacity);
    });
    connection.on('close', (error: Error | undefined) => {
      if (worker === undefined) return;
      const lost = worker.running.size;
      dispatcher.workerGone(worker);
      this.#logger.info({ nodeId: worker.nodeId, reason: error?.message, requeued: lost }, 'worker left');
    });
  }

  /** Stops accepting, closes every connection (clients and workers reconnect elsewhere or later). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#watch.stop();
      this.#watchers.clear();
      this.#dispatcher.close();
      this.#failureLog.close();
      await Promise.all([this.#server.close(), ...[...this.#localLinks].map((link) => link.close())]);
      this.#logger.info({ managerId: this.managerId }, 'manager closed');
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Validates options, binds the port and resolves once the manager accepts connections. */
export async function startManager(options: ManagerOptions = {}): Promise<Manager> {
  const manager = new Manager(resolveManagerOptions(options));
  await manager.listen();
  return manager;
}

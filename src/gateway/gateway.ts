import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { childLogger } from '../core/logger.js';
import { ApiKeys } from './api-keys.js';
import { BusyGate } from './busy-gate.js';
import { CallList, SHUTDOWN, now, type GatewayContext } from './context.js';
import { errorResponse, type ErrorResponse } from './http-errors.js';
import { Jobs } from './jobs.js';
import { GatewayMetrics, type GatewayGauges } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { AUTO_PENDING_ALLOWANCE, resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { acceptRequestId, MAX_TASK_NAME_LENGTH, pathSegment } from './request-headers.js';
import { PerTurn } from './per-turn.js';
import { AnswerBatch, sendError, sendJson, sendText } from './responses.js';
import { StatusFeed } from './status-feed.js';
import { TaskRoute } from './task-route.js';

/** Longest job id in a path: an Idempotency-Key or a UUID. */
const MAX_JOB_ID_LENGTH = 256;
const TASKS_PREFIX = '/v1/tasks/';
const JOBS_PREFIX = '/v1/jobs/';
const OPENAPI_BODY = JSON.stringify(openApiDocument);
const HEALTHY = '{"status":"ok"}';
const READY = '{"status":"ready"}';

export interface Gateway {
  /** Where the gateway listens (the real port when started with port 0). */
  readonly address: { host: string; port: number };
  /** Synchronous requests waiting for their task now. */
  readonly pending: number;
  /**
   * Stops accepting connections, answers new requests on open ones 503 `unavailable`, gives
   * requests in flight up to `closeGraceMs` (5 s), then cancels their tasks and closes every connection. Cancels
   * unfinished jobs; closes the client when the gateway owns it. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts an HTTP gateway in front of a connected client; resolves once it listens.
 *
 * @example
 * const client = await connect({ manager: '127.0.0.1:7400', keyFile: 'sluice.key' });
 * const gateway = await startGateway({ client, ownClient: true, port: 7401 });
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const gateway = new HttpGateway(resolveGatewayOptions(options));
  await gateway.listen();
  return gateway;
}

/** The node:http server and its routing. Route logic lives in TaskRoute and Jobs. */
class HttpGateway implements Gateway {
  readonly #options: ResolvedGatewayOptions;
  readonly #ctx: GatewayContext;
  readonly #server: Server;
  readonly #jobs: Jobs;
  readonly #tasks: TaskRoute;
  readonly #apiKeys: ApiKeys | undefined;
  readonly #status: StatusFeed;
  readonly #idPrefix = `${randomBytes(4).toString('hex')}-`;
  #idCounter = 0;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #address: { host: string; port: number } | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: ResolvedGatewayOptions) {
    this.#options = options;
    const metrics = new GatewayMetrics(() => this.#gauges(), options.processMetrics);
    this.#ctx = {
      options,
      client: options.client,
      metrics,
      answers: new AnswerBatch(metrics),
      submissions: new PerTurn((call) => call.submit()),
      gate: new BusyGate(),
      logger: childLogger(options.logger, { role: 'gateway' }),
      pending: 0,
      maxPending: options.maxPending,
      closing: false,
      calls: new CallList(),
    };
    this.#jobs = new Jobs(this.#ctx);
    this.#tasks = new TaskRoute(this.#ctx, this.#jobs);
    this.#status = new StatusFeed(this.#ctx, options.autoMaxPending ? (snapshot) => {
      // What the manager can hold (its queue cap and its slots), and room for the status being
      // up to a second old: the gateway's own bound then refuses only what the manager would.
      this.#ctx.maxPending = snapshot.queue.cap + snapshot.capacity.slots + AUTO_PENDING_ALLOWANCE;
    } : undefined);
    this.#apiKeys = options.apiKeys === undefined ? undefined : new ApiKeys(options.apiKeys);
    this.#server = createServer({
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // node:http enforces the two timeouts above only when it checks, every this many ms.
      connectionsCheckingInterval: Math.min(1_000, Math.max(25, Math.floor(Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 4))),
      noDelay: true,
    }, this.#onRequest);
    this.#server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    this.#server.maxConnections = options.maxConnections;
  }

  get address(): { host: string; port: number } {
    if (this.#address === undefined) throw new Error('the gateway is not listening yet');
    return this.#address;
  }

  get pending(): number {
    return this.#ctx.pending;
  }

  async listen(): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(this.#options.port, this.#options.host);
    });
    // A server error after listening (e.g. EMFILE on accept) must not crash the process.
    server.on('error', (error) => this.#ctx.logger.error({ err: error }, 'gateway server error'));
    const info = server.address() as AddressInfo;
    this.#address = { host: info.address, port: info.port };
    this.#status.start();
    // Finished jobs past their TTL are also dropped when touched; this frees them when idle.
    const every = Math.min(60_000, Math.max(1_000, this.#options.jobTtlMs));
    this.#sweepTimer = setInterval(() => this.#jobs.store.sweep(now()), every);
    this.#sweepTimer.unref();
    this.#ctx.logger.info({ host: info.address, port: info.port, auth: this.#apiKeys !== undefined, maxPending: this.#options.maxPending }, 'gateway listening');
  }

  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = this.#ctx;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const reqId = acceptRequestId(req.headers['x-request-id'] as string | undefined) ?? this.#idPrefix + (++this.#idCounter).toString(36);
    if (ctx.closing) {
      sendError(res, ctx.metrics, { ...errorResponse('unavailable', 'The gateway is shutting down'), retryAfterSeconds: 1 }, reqId, true);
      return;
    }
    if (path.startsWith('/v1/')) {
      this.#api(req, res, reqId, path);
      return;
    }
    const method = req.method;
    switch (path) {
      case '/healthz':
      case '/readyz':
      case '/metrics':
        if (method !== 'GET' && method !== 'HEAD') return this.#methodNotAllowed(req, res, reqId, 'GET');
        if (!this.#options.publicHealth && !isLoopback(req.socket.remoteAddress)) {
          return sendError(res, ctx.metrics, errorResponse('forbidden', `${path} is served on loopback only`), reqId, hasBody(req));
        }
        return this.#health(res, reqId, path);
      case '/openapi.json':
        if (method !== 'GET' && method !== 'HEAD') return this.#methodNotAllowed(req, res, reqId, 'GET');
        return sendText(res, ctx.metrics, 200, 'application/json; charset=utf-8', OPENAPI_BODY, reqId);
      default:
        if (!this.#options.assets.has(path)) return this.#notFound(req, res, reqId);
        if (method !== 'GET' && method !== 'HEAD') return this.#methodNotAllowed(req, res, reqId, 'GET');
        return this.#options.assets.serve(req, res, ctx.metrics, path, reqId);
    }
  };

  #api(req: IncomingMessage, res: ServerResponse, reqId: string, path: string): void {
    const ctx = this.#ctx;
    let owner = '';
    if (this.#apiKeys !== undefined) {
      const tag = this.#apiKeys.check(req.headers.authorization);
      if (tag === undefined) {
        const error = errorResponse('unauthorized', 'Missing or wrong API key: send `Authorization: Bearer <key>`');
        return sendError(res, ctx.metrics, error, reqId, hasBody(req), ['www-authenticate', 'Bearer realm="sluice"']);
      }
      owner = `${tag}:`;
    }
    const method = req.method;
    if (path.startsWith(TASKS_PREFIX)) {
      const name = pathSegment(path, TASKS_PREFIX.length, MAX_TASK_NAME_LENGTH);
      if (name === undefined) return this.#notFound(req, res, reqId);
      if (method !== 'POST') return this.#methodNotAllowed(req, res, reqId, 'POST');
      try {
        this.#tasks.post(req, res, reqId, owner, name);
      } catch (error) {
        this.#internal(res, reqId, error);
      }
      return;
    }
    if (path === '/v1/status' || path === '/v1/status/stream') {
      if (method !== 'GET' && method !== 'HEAD') return this.#methodNotAllowed(req, res, reqId, 'GET');
      if (path === '/v1/status') return this.#status.get(res, reqId);
      return this.#status.stream(req, res, reqId);
    }
    if (path.startsWith(JOBS_PREFIX)) {
      const id = pathSegment(path, JOBS_PREFIX.length, MAX_JOB_ID_LENGTH);
      if (id === undefined) return this.#notFound(req, res, reqId);
      if (method === 'GET') return this.#jobs.get(res, reqId, owner + id);
      if (method === 'DELETE') return this.#jobs.delete(res, reqId, owner + id);
      return this.#methodNotAllowed(req, res, reqId, 'GET, DELETE');
    }
    this.#notFound(req, res, reqId);
  }

  #health(res: ServerResponse, reqId: string, path: string): void {
    const ctx = this.#ctx;
    if (path === '/healthz') return sendJson(res, ctx.metrics, 200, HEALTHY, reqId);
    if (path === '/readyz') {
      if (this.#ready()) return sendJson(res, ctx.metrics, 200, READY, reqId);
      return sendError(res, ctx.metrics, errorResponse('not_ready', 'Not connected to a manager that has workers'), reqId);
    }
    void this.#metrics(res, reqId);
  }

  async #metrics(res: ServerResponse, reqId: string): Promise<void> {
    const ctx = this.#ctx;
    let text: string;
    try {
      text = await ctx.metrics.render();
    } catch (error) {
      return this.#internal(res, reqId, error);
    }
    const extra = this.#options.extraMetrics;
    if (extra !== undefined) {
      try {
        text += `\n${await extra()}`;
      } catch (error) {
        ctx.logger.warn({ err: error }, 'extraMetrics failed');
      }
    }
    sendText(res, ctx.metrics, 200, 'text/plain; version=0.0.4; charset=utf-8', text, reqId);
  }

  #gauges(): GatewayGauges {
    const ctx = this.#ctx;
    const store = this.#jobs.store;
    return {
      pending: ctx.pending, maxPending: ctx.maxPending, jobs: store.size, unfinishedJobs: store.unfinished,
      jobsEvicted: store.evicted, statusStreams: this.#status.streams, ready: this.#ready(),
    };
  }

  #ready(): boolean {
    const readiness = this.#options.readiness;
    if (readiness === undefined) return this.#ctx.client.connected && (this.#status.fresh?.capacity.workers ?? 0) > 0;
    try {
      return readiness();
    } catch {
      return false;
    }
  }

  #notFound(req: IncomingMessage, res: ServerResponse, reqId: string): void {
    sendError(res, this.#ctx.metrics, errorResponse('not_found', `No route for ${req.method ?? ''} ${(req.url ?? '').slice(0, 200)}`), reqId, hasBody(req));
  }

  #methodNotAllowed(req: IncomingMessage, res: ServerResponse, reqId: string, allow: string): void {
    const error = errorResponse('method_not_allowed', `${req.method ?? ''} is not allowed here; allowed: ${allow}`);
    sendError(res, this.#ctx.metrics, error, reqId, hasBody(req), ['allow', allow]);
  }

  /** A bug in the gateway: logged, answered 500, never crashes the process. */
  #internal(res: ServerResponse, reqId: string, error: unknown): void {
    this.#ctx.logger.error({ err: error, reqId }, 'gateway request failed');
    const answer: ErrorResponse = errorResponse('internal', 'Internal error');
    sendError(res, this.#ctx.metrics, answer, reqId, true);
  }

  async #close(): Promise<void> {
    const ctx = this.#ctx;
    ctx.closing = true;
    this.#status.close();
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    const server = this.#server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Requests in flight get a grace period, polled cheaply; then their tasks are cancelled.
    const deadline = now() + this.#options.closeGraceMs;
    while (ctx.pending > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const call of ctx.calls.toArray()) call.cancel(SHUTDOWN);
    ctx.submissions.flush();
    this.#jobs.abortAll(SHUTDOWN);
    // Let the aborted calls settle and write their 503 before the sockets go.
    await new Promise((r) => setImmediate(r));
    ctx.answers.flush();
    server.closeAllConnections();
    await closed;
    if (this.#options.ownClient) await this.#options.client.close();
    ctx.logger.info({}, 'gateway closed');
  }
}

/** Whether a request carries a body (which an early refusal leaves unread). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

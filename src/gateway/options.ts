import { InvalidArgumentError, describeValue } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { TaskMap } from '../core/tasks.js';
import type { Client } from '../client/index.js';
import { StaticAssets, type StaticAsset } from './static-assets.js';

export interface GatewayOptions {
  /**
   * An already-connected sluice client; the gateway submits every task through it. The gateway
   * closes it on `close()` only when `ownClient` is true.
   */
  client: Client<TaskMap>;
  /** Close `client` when the gateway closes (the CLI's standalone gateway owns its client). @default false */
  ownClient?: boolean;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 7401 — `0` picks a free port (see `gateway.address`). */
  port?: number;
  /**
   * When given, every `/v1` route needs `Authorization: Bearer <key>` matching one of these
   * (compared in constant time). Jobs and idempotency keys are scoped to the key that made them.
   * @example ['3f1c…', 'a9e0…']
   */
  apiKeys?: readonly string[];
  /**
   * Synchronous requests waiting for their task at once. Past it the gateway answers 503 `busy`
   * without touching the manager.
   * @default the manager's queue cap plus its worker slots plus 1000, from its status (10000 until known)
   */
  maxPending?: number;
  /** Async job results: at most `maxJobs` kept, each for `ttlMs` after it finished; then 404. */
  jobs?: {
    /** @default 10000 */
    maxJobs?: number;
    /** @default 600000 (10 minutes) */
    ttlMs?: number;
  };
  /** Largest request body; past it 413. @default 1048576 (1 MiB) */
  bodyLimitBytes?: number;
  /**
   * Deadline for synchronous requests without `Sluice-Timeout-Ms`: the task is refused or
   * answered 504 once it passes. Async jobs without the header have no deadline.
   * @default 60000
   */
  defaultTimeoutMs?: number;
  /** Include the handler's stack in 500 `task_failed` bodies. @default false */
  exposeStacks?: boolean;
  /** Serve /healthz, /readyz and /metrics to non-loopback addresses too. @default false */
  publicHealth?: boolean;
  /** Time allowed to receive a request's headers (slowloris defence). @default 10000 */
  headersTimeoutMs?: number;
  /** Time allowed to receive a whole request, headers and body; not the wait for the answer. @default 30000 */
  requestTimeoutMs?: number;
  /** Idle time before a keep-alive connection is closed. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Requests served on one connection before it is closed (0 = no limit). @default 10000 */
  maxRequestsPerSocket?: number;
  /** Open connections at once; more are refused by the server. @default 10000 */
  maxConnections?: number;
  /** How long `close()` lets requests in flight finish before cancelling their tasks. @default 5000 */
  closeGraceMs?: number;
  /**
   * Whether /readyz answers 200.
   * @default connected to a manager whose latest status (at most 2.5 s old) counts a worker
   */
  readiness?: () => boolean;
  /**
   * Also export this process's metrics at /metrics (CPU, memory, event-loop lag, GC, handles;
   * prom-client's defaults, prefixed `sluice_`). The CLI turns it on: one gateway per process.
   * @default false
   */
  processMetrics?: boolean;
  /** Text appended to /metrics (Prometheus exposition format), e.g. the embedding manager's metrics. */
  extraMetrics?: () => string | Promise<string>;
  /**
   * Files served at fixed paths outside `/v1` without an API key, e.g. the dashboard page at `/`
   * (the CLI passes `loadDashboardAssets()`). GET and HEAD only; revalidated by ETag.
   * @default none
   */
  assets?: readonly StaticAsset[];
  /** Per-request child loggers carry `reqId`. @default a silent logger */
  logger?: Logger;
}

export interface ResolvedGatewayOptions {
  readonly client: Client<TaskMap>;
  readonly ownClient: boolean;
  readonly host: string;
  readonly port: number;
  readonly apiKeys: readonly string[] | undefined;
  readonly maxPending: number;
  /** `maxPending` was not given: it follows the manager's capacity. */
  readonly autoMaxPending: boolean;
  readonly maxJobs: number;
  readonly jobTtlMs: number;
  readonly bodyLimitBytes: number;
  readonly defaultTimeoutMs: number;
  readonly exposeStacks: boolean;
  readonly publicHealth: boolean;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxRequestsPerSocket: number;
  readonly maxConnections: number;
  readonly closeGraceMs: number;
  readonly readiness: (() => boolean) | undefined;
  readonly processMetrics: boolean;
  readonly extraMetrics: (() => string | Promise<string>) | undefined;
  readonly assets: StaticAssets;
  readonly logger: Logger;
}

export const DEFAULT_GATEWAY_HOST = '127.0.0.1';
export const DEFAULT_GATEWAY_PORT = 7401;
export const DEFAULT_MAX_PENDING = 10_000;
/** Added to the manager's queue cap and slots when `maxPending` follows its capacity. */
export const AUTO_PENDING_ALLOWANCE = 1_000;
export const DEFAULT_MAX_JOBS = 10_000;
export const DEFAULT_JOB_TTL_MS = 600_000;
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_REQUESTS_PER_SOCKET = 10_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** setTimeout's ceiling; also the largest `Sluice-Timeout-Ms` accepted. */
export const MAX_TIMEOUT_MS = 2_147_483_647;
/** Shortest API key accepted: a guessable key is no key. */
export const MIN_API_KEY_LENGTH = 16;

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
}

function integer(option: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function boolean(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(option, 'a boolean', value);
  return value;
}

function fn<F>(option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(option, 'a function', value);
  return value as F;
}

function apiKeys(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) fail('apiKeys', 'a non-empty array of strings', value);
  for (const [i, key] of value.entries()) {
    // Visible ASCII only: the key travels in a header, and a stray newline from a key file is a bug.
    if (typeof key !== 'string' || key.length < MIN_API_KEY_LENGTH || key.length > 4096 || !/^[\x21-\x7e]+$/.test(key)) {
      fail(`apiKeys[${i}]`, `a string of ${MIN_API_KEY_LENGTH}–4096 visible ASCII characters`, typeof key === 'string' ? `${key.length} characters` : key);
    }
  }
  return Object.freeze([...(value as string[])]);
}

function staticAssets(value: unknown): StaticAssets {
  if (value === undefined) return new StaticAssets([]);
  if (!Array.isArray(value)) fail('assets', 'an array of { path, contentType, body }', value);
  return new StaticAssets(value as StaticAsset[]);
}

/** Validates every option and fills in defaults; throws InvalidArgumentError naming the option. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object such as { client }', options);
  const client = options.client;
  if (typeof client !== 'object' || client === null || typeof client.run !== 'function' || typeof client.submit !== 'function') {
    fail('client', 'a connected sluice client (from `connect()`)', client);
  }
  const host = options.host ?? DEFAULT_GATEWAY_HOST;
  if (typeof host !== 'string' || host.length === 0) fail('host', 'a host name or address', host);
  const jobs = options.jobs ?? {};
  if (typeof jobs !== 'object' || jobs === null) fail('jobs', '{ maxJobs, ttlMs }', options.jobs);
  const logger = options.logger ?? silentLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.error !== 'function') fail('logger', 'a pino-style logger', options.logger);
  const headersTimeoutMs = integer('headersTimeoutMs', options.headersTimeoutMs, 1, MAX_TIMEOUT_MS, DEFAULT_HEADERS_TIMEOUT_MS);
  const requestTimeoutMs = integer('requestTimeoutMs', options.requestTimeoutMs, 1, MAX_TIMEOUT_MS, Math.max(DEFAULT_REQUEST_TIMEOUT_MS, headersTimeoutMs));
  // node:http refuses a headers timeout longer than the whole-request timeout.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new InvalidArgumentError(`Expected \`headersTimeoutMs\` (${headersTimeoutMs}) to be at most \`requestTimeoutMs\` (${requestTimeoutMs})`);
  }
  return Object.freeze({
    client,
    ownClient: boolean('ownClient', options.ownClient),
    host,
    port: integer('port', options.port, 0, 65535, DEFAULT_GATEWAY_PORT),
    apiKeys: apiKeys(options.apiKeys),
    maxPending: integer('maxPending', options.maxPending, 1, 10_000_000, DEFAULT_MAX_PENDING),
    autoMaxPending: options.maxPending === undefined,
    maxJobs: integer('jobs.maxJobs', jobs.maxJobs, 1, 10_000_000, DEFAULT_MAX_JOBS),
    jobTtlMs: integer('jobs.ttlMs', jobs.ttlMs, 1, MAX_TIMEOUT_MS, DEFAULT_JOB_TTL_MS),
    bodyLimitBytes: integer('bodyLimitBytes', options.bodyLimitBytes, 1, 1024 * 1024 * 1024, DEFAULT_BODY_LIMIT_BYTES),
    defaultTimeoutMs: integer('defaultTimeoutMs', options.defaultTimeoutMs, 1, MAX_TIMEOUT_MS, DEFAULT_SYNC_TIMEOUT_MS),
    exposeStacks: boolean('exposeStacks', options.exposeStacks),
    publicHealth: boolean('publicHealth', options.publicHealth),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: integer('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 1, MAX_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    maxRequestsPerSocket: integer('maxRequestsPerSocket', options.maxRequestsPerSocket, 0, 1_000_000_000, DEFAULT_MAX_REQUESTS_PER_SOCKET),
    maxConnections: integer('maxConnections', options.maxConnections, 1, 10_000_000, DEFAULT_MAX_CONNECTIONS),
    closeGraceMs: integer('closeGraceMs', options.closeGraceMs, 0, MAX_TIMEOUT_MS, DEFAULT_CLOSE_GRACE_MS),
    readiness: fn<() => boolean>('readiness', options.readiness),
    processMetrics: boolean('processMetrics', options.processMetrics),
    extraMetrics: fn<() => string | Promise<string>>('extraMetrics', options.extraMetrics),
    assets: staticAssets(options.assets),
    logger,
  });
}

import { InvalidArgumentError, describeValue } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { DEFAULT_DRIFT, resolveFillThresholds, type DriftSettings, type FillThresholds } from '../core/watch/alarms.js';

export const DEFAULT_MANAGER_HOST = '127.0.0.1';
export const DEFAULT_MANAGER_PORT = 7400;
export const DEFAULT_MAX_QUEUE = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_HEARTBEAT_MS = 1_000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_HANDSHAKE_FAILURES = 30;
export const DEFAULT_STATUS_INTERVAL_MS = 1_000;

export interface ManagerTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** When given, peers must present a certificate signed by this CA. */
  ca?: Buffer;
}

export interface ManagerOptions {
  /**
   * Address to listen on. Without a `key` only loopback addresses are allowed.
   * @default '127.0.0.1'
   */
  host?: string;
  /** @default 7400 — `0` picks a free port (see `manager.address`). */
  port?: number;
  /** Shared key (≥ 32 bytes) every client and worker must prove knowledge of. */
  key?: Buffer;
  tls?: ManagerTlsOptions;
  /**
   * Hard cap on queued tasks; past it (and past the latency bound) submissions are answered `busy`.
   * @default 10000
   */
  maxQueue?: number;
  /**
   * Target queueing latency. When set, the admitted queue length follows Little's law:
   * `maxLatencyMs × slots ÷ service time`, with service time measured per task name.
   * @example 500
   */
  maxLatencyMs?: number;
  /**
   * Executions of one task when workers are lost mid-task, before it fails with `worker_lost`.
   * @default 3
   */
  maxAttempts?: number;
  /** Keep-alive interval; a peer silent for 3 intervals is considered gone. @default 1000 */
  heartbeatMs?: number;
  /** @default 5000 */
  handshakeTimeoutMs?: number;
  /** Largest frame accepted, in bytes. @default 16 MiB */
  maxFrameBytes?: number;
  /**
   * Failed handshakes one IP address may cause per minute; past it the address is refused, unread,
   * for the rest of that minute. 0 turns the limit off. @default 30
   */
  maxHandshakeFailures?: number;
  /** @default a silent logger */
  logger?: Logger;
  /** Names this manager in welcomes and logs. @default a random id */
  managerId?: string;
  /**
   * When alerts are raised. Fill alerts: the queue's fill ratio (queued ÷ admission bound) at or
   * above `fillWarning`/`fillCritical`, cleared once it falls `fillHysteresis` below. Service-time
   * alerts: a task's recent p90 service time above `serviceTimeFactor ×` its norm (a moving
   * average over the last minutes).
   * @default { fillWarning: 0.7, fillCritical: 0.9, fillHysteresis: 0.1, serviceTimeFactor: 2 }
   */
  alerts?: { fillWarning?: number; fillCritical?: number; fillHysteresis?: number; serviceTimeFactor?: number };
  /** How often status is computed and pushed to watchers, alerts checked and windows moved. @default 1000 */
  statusIntervalMs?: number;
  /**
   * Record wait and service times in histograms (percentiles, Prometheus histograms, service-time
   * alerts). Counters are kept either way; turning this off exists to measure what it costs.
   * @default true
   */
  measureTimes?: boolean;
}

export interface ResolvedManagerOptions {
  readonly host: string;
  readonly port: number;
  readonly key: Buffer | undefined;
  readonly tls: ManagerTlsOptions | undefined;
  readonly maxQueue: number;
  readonly maxLatencyMs: number | undefined;
  readonly maxAttempts: number;
  readonly heartbeatMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly maxHandshakeFailures: number;
  readonly logger: Logger;
  readonly managerId: string | undefined;
  readonly fill: FillThresholds;
  readonly drift: DriftSettings;
  readonly statusIntervalMs: number;
  readonly measureTimes: boolean;
}

function integer(name: string, value: unknown, min: number, max: number, fallback: number): number;
function integer(name: string, value: unknown, min: number, max: number, fallback: undefined): number | undefined;
function integer(name: string, value: unknown, min: number, max: number, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Validates every option and fills in defaults; throws InvalidArgumentError naming the option. */
export function resolveManagerOptions(options: ManagerOptions = {}): ResolvedManagerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`Expected manager options to be an object, got ${describeValue(options)}`);
  }
  const host = options.host ?? DEFAULT_MANAGER_HOST;
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidArgumentError(`Expected \`host\` to be a host name or address, got ${describeValue(host)}`);
  }
  if (options.key !== undefined && !(options.key instanceof Uint8Array)) {
    throw new InvalidArgumentError(`Expected \`key\` to be a Buffer (use parseKey() or a key file), got ${describeValue(options.key)}`);
  }
  const alerts = options.alerts ?? {};
  if (typeof alerts !== 'object' || alerts === null) throw new InvalidArgumentError(`Expected \`alerts\` to be an object, got ${describeValue(alerts)}`);
  const factor = alerts.serviceTimeFactor ?? DEFAULT_DRIFT.factor;
  if (typeof factor !== 'number' || !(factor > 1 && factor <= 1_000)) {
    throw new InvalidArgumentError(`Expected \`alerts.serviceTimeFactor\` to be a number above 1, got ${describeValue(factor)}`);
  }
  if (options.measureTimes !== undefined && typeof options.measureTimes !== 'boolean') {
    throw new InvalidArgumentError(`Expected \`measureTimes\` to be a boolean, got ${describeValue(options.measureTimes)}`);
  }
  return Object.freeze({
    host,
    port: integer('port', options.port, 0, 65535, DEFAULT_MANAGER_PORT),
    key: options.key,
    tls: options.tls,
    maxQueue: integer('maxQueue', options.maxQueue, 1, 10_000_000, DEFAULT_MAX_QUEUE),
    maxLatencyMs: integer('maxLatencyMs', options.maxLatencyMs, 1, 3_600_000, undefined),
    maxAttempts: integer('maxAttempts', options.maxAttempts, 1, 100, DEFAULT_MAX_ATTEMPTS),
    heartbeatMs: integer('heartbeatMs', options.heartbeatMs, 50, 60_000, DEFAULT_HEARTBEAT_MS),
    handshakeTimeoutMs: integer('handshakeTimeoutMs', options.handshakeTimeoutMs, 100, 60_000, DEFAULT_HANDSHAKE_TIMEOUT_MS),
    maxFrameBytes: integer('maxFrameBytes', options.maxFrameBytes, 1024, 1024 * 1024 * 1024, DEFAULT_MAX_FRAME_BYTES),
    maxHandshakeFailures: integer('maxHandshakeFailures', options.maxHandshakeFailures, 0, 1_000_000, DEFAULT_MAX_HANDSHAKE_FAILURES),
    logger: options.logger ?? silentLogger,
    managerId: options.managerId,
    fill: resolveFillThresholds({ warning: alerts.fillWarning, critical: alerts.fillCritical, hysteresis: alerts.fillHysteresis }),
    // Clears halfway between the norm and the raise level, as the default (2× raises, 1.5× clears).
    drift: Object.freeze({ ...DEFAULT_DRIFT, factor, clearFactor: 1 + (factor - 1) * 0.5 }),
    statusIntervalMs: integer('statusIntervalMs', options.statusIntervalMs, 10, 60_000, DEFAULT_STATUS_INTERVAL_MS),
    measureTimes: options.measureTimes ?? true,
  });
}

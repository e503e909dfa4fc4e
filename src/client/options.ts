import { InvalidArgumentError, describeValue } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { parsePriority, type Priority, type PriorityName } from '../core/priority.js';
import type { DialOptions } from '../protocol/dial.js';
import { parseAddress } from '../protocol/dial.js';
import { isLocalManager, type LocalManager } from '../protocol/link.js';

/** How `busy` answers are retried: delay = max(retryAfterMs, random(0, min(maxMs, baseMs·2ⁿ))). */
export interface RetryOptions {
  /**
   * First backoff ceiling in ms; doubles with every retry.
   * @default 25
   */
  baseMs?: number;
  /**
   * Largest backoff ceiling in ms (the manager's hint may still ask for longer).
   * @default 5000
   */
  maxMs?: number;
  /**
   * `busy` answers retried before the task is rejected with `BusyError`.
   * @default 50
   */
  maxRetries?: number;
}

export interface ClientOptions {
  /**
   * The manager: `"host:port"` (`"[::1]:7400"` for IPv6), `{ host, port }`, or a `Manager` started
   * in this process, reached through an in-process link. @example '10.0.0.5:7400'
   */
  manager: string | { host: string; port: number } | LocalManager;
  /** Shared key: raw bytes (≥ 32), or its text form (hex or base64) as a string. Exclusive with `keyFile`. */
  key?: Buffer | string;
  /** A file holding the shared key as hex or base64 (what `sluice keygen` prints). @example 'sluice.key' */
  keyFile?: string;
  /** Encrypt the link; the manager's certificate must chain to `ca`. */
  tls?: DialOptions['tls'];
  /** Shown in the manager's logs. */
  name?: string;
  /**
   * Unanswered tasks held at once (sent, waiting to be sent, or sleeping before a retry). Past it
   * `run()`/`submit()` wait for a slot, honouring their `signal`.
   * @default 10000
   */
  maxInFlight?: number;
  /** Retry policy for `busy` answers; `false` rejects the first `busy` with `BusyError`. @default { baseMs: 25, maxMs: 5000, maxRetries: 50 } */
  retry?: RetryOptions | false;
  /** Deadline (ms from the call) for tasks that give no `timeoutMs`. @default undefined (none) */
  timeoutMs?: number;
  /** How long `connect()` keeps trying before it rejects with `ConnectError`. @default 10000 */
  connectTimeoutMs?: number;
  /** Backoff between reconnection attempts (full jitter). @default { baseMs: 50, maxMs: 2000 } */
  reconnect?: { baseMs?: number; maxMs?: number };
  /** Aborts `connect()` (it rejects with `signal.reason`); has no effect once connected. */
  signal?: AbortSignal;
  /** Where connection trouble is reported (pino-compatible). @default silent */
  logger?: Logger;
  /**
   * Appends this client's history (each task accepted and each answer, as NDJSON) to this file,
   * for checking a run with `npm run chaos:check`. `{pid}` becomes the process id.
   * @default $SLUICE_HISTORY, else off
   */
  history?: string;
}

export interface RunOptions {
  /** `'high' | 'normal' | 'low'` or 0–9. @default 'normal' (5) */
  priority?: Priority | PriorityName;
  /** Deadline in ms from the call; the task is worthless after it. @default the client's `timeoutMs` */
  timeoutMs?: number;
  /** Abort: before the task is sent nothing is sent; after, a `cancel` is sent. Rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Overrides the client's retry policy for this task (missing fields from the client's). */
  retry?: RetryOptions | false;
  /** Executions to try if workers are lost mid-task (1–100). @default the manager's */
  maxAttempts?: number;
  /** Task id (≤ 256 chars); submitting an id that is queued or running attaches to it. @default a random UUID */
  id?: string;
  /** Ask the manager for a `started` notice, shown by the submit handle's `started`/`attempt`. @default false */
  notifyStart?: boolean;
}

export interface ResolvedRetry {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxRetries: number;
}

export interface ResolvedClientOptions {
  readonly host: string;
  readonly port: number;
  /** Set when the manager lives in this process: `host` and `port` are then unused. */
  readonly local: LocalManager | undefined;
  readonly key: Buffer | string | undefined;
  readonly keyFile: string | undefined;
  readonly tls: DialOptions['tls'] | undefined;
  readonly name: string | undefined;
  readonly maxInFlight: number;
  readonly retry: ResolvedRetry | false;
  readonly timeoutMs: number | undefined;
  readonly connectTimeoutMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger;
  readonly history: string | undefined;
}

export const DEFAULT_MAX_IN_FLIGHT = 10_000;
export const DEFAULT_RETRY: ResolvedRetry = Object.freeze({ baseMs: 25, maxMs: 5_000, maxRetries: 50 });
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RECONNECT_BASE_MS = 50;
export const DEFAULT_RECONNECT_MAX_MS = 2_000;
export const MAX_TASK_ID_LENGTH = 256;
export const MAX_TASK_NAME_LENGTH = 256;
/** setTimeout's ceiling; longer delays would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
}

function number(option: string, value: unknown, min: number, max: number, integer: boolean, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    fail(option, `${integer ? 'an integer' : 'a finite number'} from ${min} to ${max}`, value);
  }
  return value;
}

function timeout(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    fail(option, `a positive finite number of milliseconds (at most ${MAX_TIMER_MS})`, value);
  }
  return value;
}

function signalOption(option: string, value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  fail(option, 'an AbortSignal', value);
}

/** Fills missing fields of `value` from `base`; `false` stays `false`. */
export function resolveRetry(value: unknown, base: ResolvedRetry, option = 'retry'): ResolvedRetry | false {
  if (value === undefined) return base;
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(option, '`false` or { baseMs, maxMs, maxRetries }', value);
  const v = value as RetryOptions;
  const baseMs = number(`${option}.baseMs`, v.baseMs, 0, MAX_TIMER_MS, false, base.baseMs);
  const maxMs = number(`${option}.maxMs`, v.maxMs, 0, MAX_TIMER_MS, false, Math.max(base.maxMs, baseMs));
  if (maxMs < baseMs) throw new InvalidArgumentError(`Expected \`${option}.maxMs\` (${maxMs}) to be at least \`${option}.baseMs\` (${baseMs})`);
  const maxRetries = number(`${option}.maxRetries`, v.maxRetries, 0, 1_000_000, true, base.maxRetries);
  return Object.freeze({ baseMs, maxMs, maxRetries });
}

/** Validates everything a caller can get wrong, naming the option; throws InvalidArgumentError. */
export function resolveClientOptions(options: unknown): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object such as { manager: "127.0.0.1:7400" }', options);
  const o = options as ClientOptions;
  let host: string;
  let port: number;
  let local: LocalManager | undefined;
  if (isLocalManager(o.manager)) {
    local = o.manager;
    host = 'in-process';
    port = 0;
  } else if (typeof o.manager === 'string') {
    ({ host, port } = parseAddress(o.manager, 'manager'));
  } else if (typeof o.manager === 'object' && o.manager !== null) {
    if (typeof o.manager.host !== 'string' || o.manager.host.length === 0) fail('manager.host', 'a host name or address', o.manager.host);
    host = o.manager.host;
    port = number('manager.port', o.manager.port, 1, 65535, true, Number.NaN);
    if (Number.isNaN(port)) fail('manager.port', 'an integer from 1 to 65535', o.manager.port);
  } else {
    fail('manager', 'a "host:port" string, { host, port } or a Manager in this process', o.manager);
  }
  if (o.key !== undefined && o.keyFile !== undefined) {
    throw new InvalidArgumentError('Options `key` and `keyFile` are mutually exclusive: give the key or the file holding it');
  }
  if (o.key !== undefined && typeof o.key !== 'string' && !(o.key instanceof Uint8Array)) fail('key', 'a Buffer or a hex/base64 string', o.key);
  if (o.keyFile !== undefined && (typeof o.keyFile !== 'string' || o.keyFile.length === 0)) fail('keyFile', 'a file path', o.keyFile);
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) fail('tls', 'an object such as { ca }', o.tls);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > MAX_TASK_NAME_LENGTH)) {
    fail('name', `a non-empty string of at most ${MAX_TASK_NAME_LENGTH} characters`, o.name);
  }
  const reconnect = o.reconnect ?? {};
  if (typeof reconnect !== 'object' || reconnect === null) fail('reconnect', '{ baseMs, maxMs }', o.reconnect);
  const reconnectBaseMs = number('reconnect.baseMs', reconnect.baseMs, 1, MAX_TIMER_MS, false, DEFAULT_RECONNECT_BASE_MS);
  const reconnectMaxMs = number('reconnect.maxMs', reconnect.maxMs, 1, MAX_TIMER_MS, false, Math.max(DEFAULT_RECONNECT_MAX_MS, reconnectBaseMs));
  if (reconnectMaxMs < reconnectBaseMs) {
    throw new InvalidArgumentError(`Expected \`reconnect.maxMs\` (${reconnectMaxMs}) to be at least \`reconnect.baseMs\` (${reconnectBaseMs})`);
  }
  const logger = o.logger ?? silentLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') fail('logger', 'a pino-style logger', o.logger);
  if (o.history !== undefined && (typeof o.history !== 'string' || o.history.length === 0)) fail('history', 'a file path', o.history);
  return Object.freeze({
    host,
    port,
    local,
    key: o.key,
    keyFile: o.keyFile,
    tls: o.tls,
    name: o.name,
    maxInFlight: number('maxInFlight', o.maxInFlight, 1, 10_000_000, true, DEFAULT_MAX_IN_FLIGHT),
    retry: resolveRetry(o.retry, DEFAULT_RETRY),
    timeoutMs: timeout('timeoutMs', o.timeoutMs),
    connectTimeoutMs: timeout('connectTimeoutMs', o.connectTimeoutMs) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    reconnectBaseMs,
    reconnectMaxMs,
    signal: signalOption('signal', o.signal),
    logger,
    history: o.history,
  });
}

/** What one `run()`/`submit()` resolves to; fields are read once into the pending task. */
export interface ResolvedRun {
  id: string | undefined;
  priority: Priority;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  retry: ResolvedRetry | false;
  maxAttempts: number | undefined;
  notifyStart: boolean;
}

export function validateTaskName(name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TASK_NAME_LENGTH) {
    fail('name', `a non-empty task name of at most ${MAX_TASK_NAME_LENGTH} characters`, name);
  }
}

/** Validates one call's options against the client's defaults; throws InvalidArgumentError. */
export function resolveRunOptions(options: unknown, client: ResolvedClientOptions): ResolvedRun {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail('options', 'an object', options);
  const o = options as RunOptions;
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > MAX_TASK_ID_LENGTH)) {
    fail('id', `a non-empty string of at most ${MAX_TASK_ID_LENGTH} characters`, o.id);
  }
  const base = client.retry === false ? DEFAULT_RETRY : client.retry;
  const maxAttempts = o.maxAttempts === undefined ? undefined : number('maxAttempts', o.maxAttempts, 1, 100, true, 1);
  if (o.notifyStart !== undefined && typeof o.notifyStart !== 'boolean') fail('notifyStart', 'a boolean', o.notifyStart);
  return {
    id: o.id,
    priority: parsePriority(o.priority),
    timeoutMs: timeout('timeoutMs', o.timeoutMs) ?? client.timeoutMs,
    signal: signalOption('signal', o.signal),
    retry: o.retry === undefined ? client.retry : resolveRetry(o.retry, base),
    maxAttempts,
    notifyStart: o.notifyStart === true,
  };
}

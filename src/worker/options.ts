import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, describeValue } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { parseAddress, type DialOptions } from '../protocol/index.js';
import { MAX_PREFETCH } from '../protocol/validate.js';
import { isLocalManager, type LocalManager } from '../protocol/link.js';
import { integerOption, MAX_CAPACITY, MAX_TIMER_MS } from './pool/options.js';
import type { Isolation } from './pool/types.js';

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** One held task hides the round trip at a slot's end; more would only add wait on a busy node. */
export const DEFAULT_PREFETCH = 1;
export const DEFAULT_RECONNECT_BASE_MS = 100;
/**
 * Low, because a node away is capacity idle: after a manager restart the chaos suite saw nodes
 * return up to 5 s late with a 5 s ceiling. Nodes are few, so their reconnects are no storm.
 */
export const DEFAULT_RECONNECT_MAX_MS = 1_000;

export interface WorkerOptions {
  /** Manager address: `"host:port"` (`"[::1]:7400"` for IPv6) or `{ host, port }`. */
  /** `"host:port"`, `{ host, port }`, or a `Manager` in this process (an in-process link). */
  manager: string | { host: string; port: number } | LocalManager;
  /** Shared key (see `parseKey`); required when the manager has one. */
  key?: Buffer | undefined;
  /** TLS towards the manager; omit for plain TCP. */
  tls?: DialOptions['tls'] | undefined;
  /** Path or file: URL of the task module (`export default defineTasks({ ... })`). */
  tasks: string;
  /** Tasks this node runs at once. @default os.availableParallelism() */
  capacity?: number | undefined;
  /**
   * Dispatches the node may hold beyond its capacity while every slot is busy, each starting the
   * moment a slot frees — so a slot does not idle for a manager round trip between two tasks. The
   * manager sends them only when no node has a free slot. 0 = take a task only onto a free slot.
   * @default 1
   */
  prefetch?: number | undefined;
  /** Threads in the pool (thread isolation). @default min(capacity, os.availableParallelism()) */
  threads?: number | undefined;
  /** `thread` (worker threads) or `process` (one child process per slot). @default 'thread' */
  isolation?: Isolation | undefined;
  /** drain(): time to let running tasks finish before handing them back. @default 30000 */
  drainTimeoutMs?: number | undefined;
  /** Execution limit for tasks without a deadline. @default 300000 */
  taskTimeoutMs?: number | undefined;
  /** Time a handler may ignore its abort signal before its thread is terminated. @default 1000 */
  abortGraceMs?: number | undefined;
  /** Heap limit per thread or process, in MB. @default Node's own */
  maxOldGenerationSizeMb?: number | undefined;
  /** Shown in the manager's logs and status. @example 'gpu-box-3' */
  name?: string | undefined;
  /** Stable identity of this node across reconnects. @default a random UUID per start */
  nodeId?: string | undefined;
  /** pino-compatible logger. @default silent */
  logger?: Logger | undefined;
  /** Aborts start-up; once started, aborting it closes the node. */
  signal?: AbortSignal | undefined;
  /**
   * Appends this node's history (each execution attempt's start and end, as NDJSON) to this file,
   * for checking a run with `npm run chaos:check`. `{pid}` becomes the process id.
   * @default $SLUICE_HISTORY, else off
   */
  history?: string | undefined;
  /** Delay between reconnect attempts: full jitter over base·2^attempt, capped at max. @default { baseMs: 100, maxMs: 1000 } */
  reconnect?: { baseMs?: number | undefined; maxMs?: number | undefined } | undefined;
}

export interface ResolvedWorkerOptions {
  readonly host: string;
  readonly port: number;
  readonly key: Buffer | undefined;
  readonly tls: DialOptions['tls'] | undefined;
  readonly tasks: string;
  readonly capacity: number;
  readonly prefetch: number;
  readonly threads: number | undefined;
  readonly isolation: Isolation;
  readonly drainTimeoutMs: number;
  readonly taskTimeoutMs: number | undefined;
  readonly abortGraceMs: number | undefined;
  readonly maxOldGenerationSizeMb: number | undefined;
  readonly name: string | undefined;
  readonly nodeId: string;
  /** Set when the manager lives in this process: `host` and `port` are then unused. */
  readonly local: LocalManager | undefined;
  readonly logger: Logger;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly history: string | undefined;
}

/**
 * Checks what the node itself uses; pool options (threads, timeouts, heap) are checked by
 * `createTaskPool` with the same messages. Throws InvalidArgumentError naming the option.
 */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`Expected worker options to be an object, got ${describeValue(options)}`);
  }
  const local = isLocalManager(options.manager) ? options.manager : undefined;
  const { host, port } = local === undefined ? managerAddress(options.manager) : { host: 'in-process', port: 0 };
  if (options.key !== undefined && !Buffer.isBuffer(options.key)) {
    throw new InvalidArgumentError(`Expected \`key\` to be a Buffer (see parseKey), got ${describeValue(options.key)}`);
  }
  if (typeof options.tasks !== 'string' || options.tasks === '') {
    throw new InvalidArgumentError(`Expected \`tasks\` to be the path of a task module, got ${describeValue(options.tasks)}`);
  }
  const capacity = options.capacity === undefined ? availableParallelism() : integerOption('capacity', options.capacity, 1, MAX_CAPACITY);
  const prefetch = options.prefetch === undefined ? DEFAULT_PREFETCH : integerOption('prefetch', options.prefetch, 0, MAX_PREFETCH);
  const isolation = options.isolation ?? 'thread';
  if (isolation !== 'thread' && isolation !== 'process' && isolation !== 'none') {
    throw new InvalidArgumentError(`Expected \`isolation\` to be "thread", "process" or "none", got ${describeValue(isolation)}`);
  }
  const drainTimeoutMs = options.drainTimeoutMs === undefined ? DEFAULT_DRAIN_TIMEOUT_MS : integerOption('drainTimeoutMs', options.drainTimeoutMs, 0, MAX_TIMER_MS);
  for (const field of ['name', 'nodeId'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 256)) {
      throw new InvalidArgumentError(`Expected \`${field}\` to be a non-empty string of at most 256 characters, got ${describeValue(value)}`);
    }
  }
  const logger = options.logger ?? silentLogger;
  if (typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
    throw new InvalidArgumentError(`Expected \`logger\` to have pino's methods (debug, info, warn, error), got ${describeValue(logger)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(options.signal)}`);
  }
  if (options.history !== undefined && (typeof options.history !== 'string' || options.history === '')) {
    throw new InvalidArgumentError(`Expected \`history\` to be a file path, got ${describeValue(options.history)}`);
  }
  const reconnect = options.reconnect ?? {};
  const reconnectBaseMs = reconnect.baseMs === undefined ? DEFAULT_RECONNECT_BASE_MS : integerOption('reconnect.baseMs', reconnect.baseMs, 1, MAX_TIMER_MS);
  const reconnectMaxMs = reconnect.maxMs === undefined ? Math.max(DEFAULT_RECONNECT_MAX_MS, reconnectBaseMs) : integerOption('reconnect.maxMs', reconnect.maxMs, reconnectBaseMs, MAX_TIMER_MS);
  return Object.freeze({
    host, port, key: options.key, tls: options.tls, tasks: options.tasks, capacity, prefetch, threads: options.threads, isolation,
    drainTimeoutMs, taskTimeoutMs: options.taskTimeoutMs, abortGraceMs: options.abortGraceMs,
    maxOldGenerationSizeMb: options.maxOldGenerationSizeMb, name: options.name, nodeId: options.nodeId ?? randomUUID(),
    local, logger, reconnectBaseMs, reconnectMaxMs, history: options.history,
  });
}

function managerAddress(value: unknown): { host: string; port: number } {
  if (typeof value === 'string') return parseAddress(value, 'manager');
  if (typeof value === 'object' && value !== null) {
    const { host, port } = value as { host?: unknown; port?: unknown };
    if (typeof host !== 'string' || host === '') {
      throw new InvalidArgumentError(`Expected \`manager.host\` to be a host name or IP address, got ${describeValue(host)}`);
    }
    return { host, port: integerOption('manager.port', port, 1, 65_535) };
  }
  throw new InvalidArgumentError(`Expected \`manager\` to be "host:port", { host, port } or a Manager in this process, got ${describeValue(value)}`);
}

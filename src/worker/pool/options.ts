import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, describeValue } from '../../core/errors.js';
import type { Isolation, TaskPoolOptions } from './types.js';

export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
export const DEFAULT_ABORT_GRACE_MS = 1_000;
export const MAX_CAPACITY = 100_000;
export const MAX_THREADS = 1_024;
/** setTimeout's largest delay; longer values would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface ResolvedTaskPoolOptions {
  /** file: URL of the task module, the only thing the threads ever import besides the entry. */
  readonly tasksModule: string;
  readonly capacity: number;
  readonly isolation: Isolation;
  readonly threads: number;
  readonly taskTimeoutMs: number;
  readonly abortGraceMs: number;
  readonly maxOldGenerationSizeMb: number | undefined;
}

export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Validates everything up front and fills in defaults; throws InvalidArgumentError naming the option. */
export function resolveTaskPoolOptions(options: TaskPoolOptions): ResolvedTaskPoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`Expected pool options to be an object, got ${describeValue(options)}`);
  }
  const tasksModule = tasksModuleUrl(options.tasksModule);
  const capacity = integerOption('capacity', options.capacity, 1, MAX_CAPACITY);
  const isolation = options.isolation ?? 'thread';
  if (isolation !== 'thread' && isolation !== 'process' && isolation !== 'none') {
    throw new InvalidArgumentError(`Expected \`isolation\` to be "thread", "process" or "none", got ${describeValue(isolation)}`);
  }
  let threads: number;
  if (isolation === 'none') {
    if (options.threads !== undefined && options.threads !== 1) {
      throw new InvalidArgumentError(`Expected no \`threads\` with isolation "none" (handlers run on the node's own event loop), got ${describeValue(options.threads)}`);
    }
    threads = 1;
  } else if (options.threads === undefined) {
    threads = isolation === 'process' ? capacity : Math.min(capacity, availableParallelism());
  } else {
    threads = integerOption('threads', options.threads, 1, MAX_THREADS);
    if (isolation === 'process' && threads !== capacity) {
      throw new InvalidArgumentError(
        `Expected \`threads\` to equal \`capacity\` (${capacity}) with isolation "process" (each process runs one task at a time), got ${describeValue(threads)}`,
      );
    }
    if (threads > capacity) {
      throw new InvalidArgumentError(`Expected \`threads\` to be at most \`capacity\` (${capacity}), got ${describeValue(threads)}`);
    }
  }
  const taskTimeoutMs = options.taskTimeoutMs === undefined ? DEFAULT_TASK_TIMEOUT_MS : integerOption('taskTimeoutMs', options.taskTimeoutMs, 1, MAX_TIMER_MS);
  const abortGraceMs = options.abortGraceMs === undefined ? DEFAULT_ABORT_GRACE_MS : integerOption('abortGraceMs', options.abortGraceMs, 0, MAX_TIMER_MS);
  const maxOldGenerationSizeMb = options.maxOldGenerationSizeMb === undefined
    ? undefined
    : integerOption('maxOldGenerationSizeMb', options.maxOldGenerationSizeMb, 8, 1_048_576);
  return Object.freeze({ tasksModule, capacity, isolation, threads, taskTimeoutMs, abortGraceMs, maxOldGenerationSizeMb });
}

function tasksModuleUrl(value: unknown): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw new InvalidArgumentError(`Expected \`tasks\` to be a file path or file: URL, got ${JSON.stringify(value.href)}`);
    return value.href;
  }
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(`Expected \`tasks\` to be the path of a task module, got ${describeValue(value)}`);
  }
  if (value.startsWith('file:')) return new URL(value).href;
  return pathToFileURL(resolve(value)).href;
}

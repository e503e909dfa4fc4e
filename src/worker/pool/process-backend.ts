import { fileURLToPath } from 'node:url';
import { Tinypool, type TinypoolChannel } from 'tinypool';
import type { Logger } from '../../core/logger.js';
import { errorSummary, type ExecutionBackend } from './backend.js';
import type { ResolvedTaskPoolOptions } from './options.js';
import { PROCESS_ABORT_TAG, TASKS_MODULE_ENV, type AbortCode, type DescribeOutcome, type EntryOutcome, type TaskPayload } from './wire.js';

const ENTRY = fileURLToPath(new URL('./entry.js', import.meta.url));

type AbortMessage = [typeof PROCESS_ABORT_TAG, number, AbortCode];

/**
 * Child processes via tinypool (`runtime: 'child_process'`), one task per process, `capacity`
 * processes. Each run carries an AbortController: aborting it makes tinypool kill that process
 * (SIGTERM, SIGKILL after 1 s), which is how a handler that ignores its signal is stopped. Before
 * that, the abort reaches the handler's `ctx.signal` through tinypool's per-task `channel` (an IPC
 * message the child's entry listens for). One slot owns one channel object for its whole life;
 * tinypool hands it the sender when it posts the task to a process.
 */
export class ProcessBackend implements ExecutionBackend {
  readonly #pool: Tinypool;
  readonly #channels: TinypoolChannel[] = [];
  readonly #senders: (((message: unknown) => void) | undefined)[] = [];
  readonly #pending: (AbortMessage | undefined)[] = [];
  readonly #controllers: (AbortController | undefined)[] = [];

  constructor(options: ResolvedTaskPoolOptions, logger: Logger) {
    for (let slot = 0; slot < options.capacity; slot++) {
      this.#senders.push(undefined);
      this.#pending.push(undefined);
      this.#controllers.push(undefined);
      this.#channels.push({
        onMessage: (send) => {
          this.#senders[slot] = send;
          const pending = this.#pending[slot];
          if (pending !== undefined) {
            this.#pending[slot] = undefined;
            send(pending);
          }
        },
      });
    }
    this.#pool = new Tinypool({
      filename: ENTRY,
      runtime: 'child_process',
      minThreads: options.capacity,
      maxThreads: options.capacity,
      concurrentTasksPerWorker: 1,
      // tinypool replaces the child's environment with this object: pass ours through.
      env: { ...(process.env as Record<string, string>), [TASKS_MODULE_ENV]: options.tasksModule },
      ...(options.maxOldGenerationSizeMb === undefined
        ? {}
        : { execArgv: [...process.execArgv, `--max-old-space-size=${options.maxOldGenerationSizeMb}`] }),
      serialization: 'advanced',
    });
    this.#pool.on('error', (error: unknown) => logger.warn({ err: error }, 'task pool process failed outside a task'));
  }

  describe(): Promise<DescribeOutcome> {
    return this.#pool.run(null, { name: 'describe' }) as Promise<DescribeOutcome>;
  }

  run(slot: number, payload: TaskPayload): Promise<EntryOutcome> {
    this.#senders[slot] = undefined;
    this.#pending[slot] = undefined;
    const controller = new AbortController();
    this.#controllers[slot] = controller;
    return this.#pool.run(payload, { channel: this.#channels[slot]!, signal: controller.signal }) as Promise<EntryOutcome>;
  }

  sendAbort(slot: number, token: number, code: AbortCode): void {
    const message: AbortMessage = [PROCESS_ABORT_TAG, token, code];
    const send = this.#senders[slot];
    if (send === undefined) this.#pending[slot] = message;
    else send(message);
  }

  terminate(slot: number): boolean {
    this.#controllers[slot]?.abort();
    return true;
  }

  wasStarted(): boolean {
    return true;
  }

  crashError(_slot: number, error: unknown): { name: string; message: string } {
    return errorSummary(error);
  }

  async destroy(): Promise<void> {
    await this.#pool.destroy();
  }
}

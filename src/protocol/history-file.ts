import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from '../core/errors.js';
import type { HistoryEvent, HistoryRecorder } from '../core/history/events.js';

/** Environment variable naming the history file of a client or worker node that was given none. */
export const HISTORY_ENV = 'SLUICE_HISTORY';

/**
 * Appends each event as one `write(2)` of one NDJSON line, unbuffered. Once `write` returns the
 * bytes belong to the kernel, so a `kill -9` of this process loses nothing it recorded (a machine
 * crash could; nothing calls fsync). One line per call also keeps lines whole when several
 * processes append to one file (O_APPEND). The cost is a system call per event, paid only
 * when recording is on.
 */
class AppendOnlyHistory implements HistoryRecorder {
  #fd: number | undefined;

  constructor(readonly path: string) {
    this.#fd = openSync(path, 'a');
  }

  record(event: HistoryEvent): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    try {
      writeSync(fd, `${JSON.stringify(event)}\n`);
    } catch {
      // A history that cannot be written (disk full) stops rather than taking the role down;
      // the checker then reports the gap as lost or unexpected work.
      this.close();
    }
  }

  close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Opens the history a role should record: `path`, else `$SLUICE_HISTORY`, else none (recording
 * off). `{pid}` in the path becomes the process id, so processes sharing one setting get one
 * file each.
 */
export function openHistory(path: string | undefined, env: NodeJS.ProcessEnv = process.env): HistoryRecorder | undefined {
  const chosen = path ?? env[HISTORY_ENV];
  if (chosen === undefined || chosen === '') return undefined;
  try {
    return new AppendOnlyHistory(chosen.replaceAll('{pid}', String(process.pid)));
  } catch (error) {
    throw new InvalidArgumentError(`Cannot open the history file ${JSON.stringify(chosen)} for appending: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across local processes. */
export function historyTime(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

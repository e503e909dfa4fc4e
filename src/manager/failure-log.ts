import type { Logger } from '../core/logger.js';

/** Failed handshakes logged one by one per second; past it they are counted and summarised. */
export const LOGGED_FAILURES_PER_SECOND = 10;

/**
 * Logs failed handshakes without letting an attacker turn them into a flood of log lines: the
 * first few each second are logged in full, the rest as one line per second with their count.
 */
export class FailureLog {
  readonly #logger: Logger;
  #logged = 0;
  #suppressed = 0;
  #window: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  failed(info: { remoteAddress: string; reason: string }): void {
    this.#window ??= this.#startWindow();
    if (this.#logged < LOGGED_FAILURES_PER_SECOND) {
      this.#logged++;
      this.#logger.warn(info, 'handshake failed');
    } else {
      this.#suppressed++;
    }
  }

  #startWindow(): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      if (this.#suppressed > 0) this.#logger.warn({ failures: this.#suppressed }, 'more handshakes failed in the last second than were logged');
      this.#logged = 0;
      this.#suppressed = 0;
      this.#window = undefined;
    }, 1_000);
    timer.unref();
    return timer;
  }

  /** Stops the window timer; what was suppressed is logged now. */
  close(): void {
    if (this.#window === undefined) return;
    clearTimeout(this.#window);
    this.#window = undefined;
    if (this.#suppressed > 0) this.#logger.warn({ failures: this.#suppressed }, 'more handshakes failed in the last second than were logged');
  }
}

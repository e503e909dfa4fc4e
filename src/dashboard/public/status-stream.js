// @ts-check
import { SseParser } from './sse.js';

/**
 * Follows `GET /v1/status/stream` for as long as the page is open: reconnects after any drop
 * with capped, jittered backoff, and treats a stream silent for `stallMs` as dropped (the
 * gateway sends a snapshot every second, so silence means a dead connection a proxy kept open).
 *
 * States: 'connecting' → 'live' → ('reconnecting' → 'live')… ; 'unauthorized' waits for
 * `retryNow()` after the user gives a key.
 *
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'unauthorized'} StreamState
 * @typedef {{
 *   url: string,
 *   headers: () => Record<string, string>,
 *   onEvent: (event: string, data: unknown) => void,
 *   onState: (state: StreamState, detail?: string) => void,
 *   stallMs?: number, baseDelayMs?: number, maxDelayMs?: number,
 * }} StatusStreamOptions
 */
export class StatusStream {
  #options;
  #stopped = false;
  /** @type {AbortController | undefined} */
  #current;
  /** @type {(() => void) | undefined} */
  #wake;

  /** @param {StatusStreamOptions} options */
  constructor(options) {
    this.#options = { stallMs: 5_000, baseDelayMs: 500, maxDelayMs: 10_000, ...options };
  }

  start() {
    void this.#run();
  }

  stop() {
    this.#stopped = true;
    this.#current?.abort();
    this.#wake?.();
  }

  /** Reconnects at once: after a new key, or when the user asks. */
  retryNow() {
    this.#current?.abort();
    this.#wake?.();
  }

  async #run() {
    let failures = 0;
    while (!this.#stopped) {
      const { onState } = this.#options;
      onState(failures === 0 ? 'connecting' : 'reconnecting');
      let outcome;
      try {
        outcome = await this.#follow(() => {
          failures = 0;
          onState('live');
        });
      } catch (error) {
        outcome = { kind: 'dropped', detail: error instanceof Error ? error.message : String(error) };
      }
      if (this.#stopped) return;
      if (outcome.kind === 'unauthorized') {
        onState('unauthorized', outcome.detail);
        await this.#sleep(Infinity);
        failures = 0;
        continue;
      }
      failures++;
      onState('reconnecting', outcome.detail);
      const ceiling = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** Math.min(failures - 1, 10));
      await this.#sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }

  /**
   * One connection, until it ends. `onLive` runs at its first event.
   * @param {() => void} onLive
   * @returns {Promise<{ kind: 'unauthorized' | 'dropped', detail?: string }>}
   */
  async #follow(onLive) {
    const controller = new AbortController();
    this.#current = controller;
    let stall = setTimeout(() => controller.abort(), this.#options.stallMs);
    const resetStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), this.#options.stallMs);
    };
    try {
      const response = await fetch(this.#options.url, {
        headers: { accept: 'text/event-stream', ...this.#options.headers() },
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status === 401) return { kind: 'unauthorized', detail: await errorMessage(response) };
      if (!response.ok || response.body === null) return { kind: 'dropped', detail: `HTTP ${response.status} ${await errorMessage(response)}` };
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let live = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { kind: 'dropped', detail: 'the stream ended' };
        resetStall();
        for (const event of parser.feed(value)) {
          let data;
          try {
            data = JSON.parse(event.data);
          } catch {
            continue;
          }
          if (!live) {
            live = true;
            onLive();
          }
          this.#options.onEvent(event.event, data);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'dropped', detail: this.#stopped ? 'stopped' : 'no data for a while' };
      throw error;
    } finally {
      clearTimeout(stall);
      controller.abort();
    }
  }

  /** @param {number} ms */
  #sleep(ms) {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        resolve(undefined);
      }
      this.#wake = done;
    });
  }
}

/** The gateway's `{"error":{"message"}}`, or the status text. @param {Response} response */
export async function errorMessage(response) {
  try {
    const body = await response.json();
    return String(body?.error?.message ?? response.statusText);
  } catch {
    return response.statusText;
  }
}

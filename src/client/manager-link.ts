import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/logger.js';
import { dial, type DialOptions } from '../protocol/dial.js';
import { AuthError, ConnectError, ProtocolError } from '../protocol/errors.js';
import type { PeerLink } from '../protocol/link.js';
import type { ManagerToClient } from '../protocol/messages.js';
import { jitteredBackoff } from './backoff.js';
import type { ResolvedClientOptions } from './options.js';

/** A TCP connection to the manager, or an in-process link when the manager lives here. */
export type ManagerConnection = PeerLink;

export interface LinkHandlers {
  /** A connection is authenticated and ready; `send` on it from now on. */
  open(connection: ManagerConnection): void;
  message(message: ManagerToClient): void;
  /** The open connection is gone (never called for a deliberate `close()`). */
  lost(error: Error | undefined): void;
  /** A reconnection attempt was refused in a way worth surfacing (a rejected key). */
  trouble(error: Error): void;
}

/** How long `close()` waits for the socket to flush the last cancels before destroying it. */
const CLOSE_FLUSH_MS = 2_000;

/**
 * Keeps one authenticated connection to the manager: the first dial (`start`, bounded by
 * `connectTimeoutMs`), then reconnection forever with exponential backoff and full jitter until
 * `close()`. Knows nothing about tasks.
 *
 * Errors while reconnecting: an AuthError is reported through `trouble` and retried like any other
 * failure, because the key may be being rotated on the manager; the backoff keeps that cheap.
 */
export class ManagerLink {
  readonly #options: ResolvedClientOptions;
  readonly #dialOptions: DialOptions;
  readonly #handlers: LinkHandlers;
  readonly #logger: Logger;
  /** Aborts an in-flight dial on close. */
  readonly #closing = new AbortController();
  #connection: ManagerConnection | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #openedAt = 0;
  #closed: Promise<void> | undefined;

  constructor(options: ResolvedClientOptions, key: Buffer | undefined, handlers: LinkHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#logger = options.logger;
    this.#dialOptions = {
      host: options.host,
      port: options.port,
      role: 'client',
      ...(key === undefined ? {} : { key }),
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    };
  }

  get connection(): ManagerConnection | undefined {
    return this.#connection;
  }

  /** Dials the manager's port, or opens an in-process link to a manager in this process. */
  #open(signal: AbortSignal): Promise<ManagerConnection> {
    const local = this.#options.local;
    if (local !== undefined) return local.connectLocal('client', this.#options.name);
    return dial({ ...this.#dialOptions, signal });
  }

  get address(): string {
    if (this.#options.local !== undefined) return `in-process manager ${this.#options.local.managerId}`;
    return this.#options.host.includes(':') ? `[${this.#options.host}]:${this.#options.port}` : `${this.#options.host}:${this.#options.port}`;
  }

  /**
   * The first connection: retried with backoff for `connectTimeoutMs`. Rejects with AuthError at
   * once (a wrong key will not fix itself), with the signal's reason when aborted, and otherwise
   * with ConnectError carrying the last failure as `cause`.
   */
  async start(): Promise<void> {
    const { connectTimeoutMs, signal } = this.#options;
    const deadline = performance.now() + connectTimeoutMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const remaining = deadline - performance.now();
      const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(remaining)));
      const signals = [this.#closing.signal, timeout];
      if (signal !== undefined) signals.push(signal);
      try {
        this.#attach(await this.#open(AbortSignal.any(signals)));
        return;
      } catch (error) {
        signal?.throwIfAborted();
        if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
        if (error instanceof AuthError) throw error;
        if (error instanceof ProtocolError && error.reason === 'version_mismatch') throw error;
        if (!timeout.aborted) lastError = error;
        const delay = jitteredBackoff(attempt, this.#options.reconnectBaseMs, this.#options.reconnectMaxMs);
        if (timeout.aborted || performance.now() + delay >= deadline) {
          throw new ConnectError(`Could not connect to the manager at ${this.address} within ${connectTimeoutMs} ms`, { cause: lastError ?? error });
        }
        this.#logger.debug({ err: error, attempt, delayMs: Math.round(delay) }, 'sluice client: connect failed, retrying');
        await sleep(delay, signal);
      }
    }
  }

  /** Stops reconnecting and closes the connection after flushing what was sent. Idempotent. */
  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#closing.abort(new ConnectError('The client was closed while connecting'));
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    connection.removeListener('message', this.#handlers.message as (message: unknown) => void);
    connection.removeListener('close', this.#onClose);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flushed = connection.close().catch(() => {});
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_FLUSH_MS);
    });
    await Promise.race([flushed, timedOut]);
    clearTimeout(timer);
    if (!connection.isClosed) connection.destroy();
  }

  #attach(connection: ManagerConnection): void {
    if (this.#closing.signal.aborted) {
      connection.destroy();
      return;
    }
    this.#connection = connection;
    this.#openedAt = performance.now();
    // The connection is shared with worker message types on the wire level; a client connection
    // only ever receives manager-to-client messages (the protocol validates by role).
    connection.on('message', this.#handlers.message as (message: unknown) => void);
    connection.on('close', this.#onClose);
    this.#handlers.open(connection);
  }

  readonly #onClose = (error: Error | undefined): void => {
    const connection = this.#connection;
    if (connection === undefined) return;
    connection.removeListener('message', this.#handlers.message as (message: unknown) => void);
    connection.removeListener('close', this.#onClose);
    this.#connection = undefined;
    // A link that dropped soon after opening keeps growing the backoff, so a manager that accepts
    // and then drops at once is not hammered.
    if (performance.now() - this.#openedAt >= this.#options.reconnectMaxMs) this.#attempt = 0;
    this.#logger.warn({ err: error, manager: this.address }, 'sluice client: connection to the manager lost; reconnecting');
    this.#handlers.lost(error);
    this.#scheduleReconnect();
  };

  #scheduleReconnect(): void {
    if (this.#closing.signal.aborted) return;
    const delay = jitteredBackoff(this.#attempt++, this.#options.reconnectBaseMs, this.#options.reconnectMaxMs);
    this.#reconnectTimer = setTimeout(this.#reconnect, delay);
  }

  readonly #reconnect = (): void => {
    this.#reconnectTimer = undefined;
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#options.connectTimeoutMs)]);
    this.#open(signal).then(
      (connection) => this.#attach(connection),
      (error: unknown) => {
        if (this.#closing.signal.aborted) return;
        const err = error instanceof Error ? error : new Error(String(error));
        if (err instanceof AuthError) {
          this.#logger.error({ err, manager: this.address }, 'sluice client: the manager refused the key; retrying');
          this.#handlers.trouble(err);
        } else {
          this.#logger.debug({ err, manager: this.address, attempt: this.#attempt }, 'sluice client: reconnect failed');
        }
        this.#scheduleReconnect();
      },
    );
  };
}

/** Waits `ms`; rejects with `signal.reason` if it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject((signal as AbortSignal).reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { decodePayload, encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './framing.js';
import type { Role } from './messages.js';
import { maxRecordBody, RECORD_MAC_BYTES, RecordOpener, RecordSealer, type SessionKeys } from './session.js';
import type { Validator } from './validate.js';

/** Heartbeat intervals a peer may stay silent before it is considered gone. */
export const MISSED_HEARTBEATS = 3;
/** Output a peer may leave unread before we give up on it (it stopped reading). */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/**
 * Bytes that count as a sign of life in one heartbeat interval when no whole frame arrived: a
 * peer trickling a frame a few bytes at a time is as good as silent.
 */
export const MIN_PROGRESS_BYTES = 16 * 1024;
/**
 * Heartbeat intervals output may sit unaccepted by the peer (no write completing) before it is
 * closed as a slow consumer, whatever the output cap.
 */
export const STALLED_OUTPUT_HEARTBEATS = 10;
/** How long `close()` waits for the peer to close its side before destroying the socket. */
const CLOSE_TIMEOUT_MS = 2_000;

const PING_FRAME = encodeFrame({ type: 'ping' });

export interface ConnectionInfo {
  /** Unique per process, for logs. */
  readonly id: number;
  /** What the peer authenticated as (server side), or what we authenticated as (dial side). */
  readonly role: Role;
  readonly remoteAddress: string;
  /** The name the peer gave in its handshake (server side only). */
  readonly peerName: string | undefined;
  /** The manager's id from its welcome. */
  readonly managerId: string;
}

export interface ConnectionOptions<In> {
  readonly validate: Validator<In>;
  readonly maxFrameBytes: number;
  readonly heartbeatMs: number;
  readonly maxOutputBytes?: number;
  /** Record keys when the stream is sealed (a key and no TLS); see session.ts. */
  readonly session?: SessionKeys | undefined;
}

export interface ConnectionEvents<In> {
  message: [message: In];
  /** Once, when the socket is gone: undefined for a clean close by either side. */
  close: [error: Error | undefined];
}

let nextConnectionId = 1;
export const newConnectionId = (): number => nextConnectionId++;

/**
 * An authenticated link: frames in, validated messages out as `message` events; messages in,
 * frames out in one write per tick. Keeps the link alive with pings and closes it when the peer
 * is silent for 3 heartbeats, breaks the protocol, or stops reading. Only this class (and the
 * handshakes that create it) touches sockets.
 *
 * Lifecycle: OPEN ──close()──► CLOSING ──peer closes or timeout──► CLOSED
 *              └──────destroy(error) / socket error / protocol error──────┘
 * `isClosed` turns true as soon as close() or destroy() is called: nothing is sent after that.
 */
export class Connection<In, Out> extends EventEmitter<ConnectionEvents<In>> implements ConnectionInfo {
  readonly id: number;
  readonly role: Role;
  readonly remoteAddress: string;
  readonly peerName: string | undefined;
  readonly managerId: string;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #validate: Validator<In>;
  readonly #maxOutputBytes: number;
  readonly #sealer: RecordSealer | undefined;
  readonly #opener: RecordOpener | undefined;
  #outbox: Buffer[] = [];
  #outboxBytes = 0;
  #flushScheduled = false;
  #closed = false;
  #error: Error | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #sentSinceTick = false;
  #receivedSinceTick = false;
  #bytesSinceTick = 0;
  #silentTicks = 0;
  #writesCompleted = 0;
  #writesCompletedAtTick = 0;
  #stalledTicks = 0;
  #closedPromise: Promise<void>;

  constructor(socket: Socket, info: ConnectionInfo, options: ConnectionOptions<In>, leftover?: Buffer) {
    super();
    this.id = info.id;
    this.role = info.role;
    this.remoteAddress = info.remoteAddress;
    this.peerName = info.peerName;
    this.managerId = info.managerId;
    this.#socket = socket;
    this.#validate = options.validate;
    this.#maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const session = options.session;
    this.#sealer = session === undefined ? undefined : new RecordSealer(session.send);
    this.#opener = session === undefined ? undefined : new RecordOpener(session.receive, options.maxFrameBytes);
    this.#decoder = new FrameDecoder(session === undefined ? options.maxFrameBytes : maxRecordBody(options.maxFrameBytes) + RECORD_MAC_BYTES);
    this.#closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.once('close', this.#onSocketClose);
    this.#heartbeat = setInterval(this.#onHeartbeat, options.heartbeatMs);
    this.#heartbeat.unref();
    if (socket.destroyed) {
      this.#closed = true;
      queueMicrotask(() => this.#onSocketClose());
      return;
    }
    // Bytes that arrived with the last handshake frame belong to this stream; deliver them first.
    if (leftover !== undefined && leftover.length > 0) queueMicrotask(() => this.#onData(leftover));
    socket.resume();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes queued in the socket and in this tick's batch: what the peer has not read yet. */
  get pendingOutputBytes(): number {
    return this.#socket.writableLength + this.#outboxBytes;
  }

  /**
   * Queues a message; all messages sent in one tick leave in one write. A no-op once closed.
   * Throws only when `message` cannot be encoded (a caller's value msgpack cannot carry).
   */
  send(message: Out): void {
    if (this.#closed) return;
    this.#enqueue(encodeFrame(message));
  }

  #enqueue(frame: Buffer): void {
    this.#outbox.push(frame);
    this.#outboxBytes += frame.length;
    this.#sentSinceTick = true;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Sealed, a batch costs a MAC: gather all of one event-loop turn's messages into it (a
      // worker's results arrive one per pool message). Unsealed, a tick's worth is enough.
      if (this.#sealer === undefined) process.nextTick(this.#flush);
      else setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#outbox.length === 0 || this.#socket.destroyed) return;
    if (this.#sealer !== undefined) {
      const records = this.#sealer.seal(this.#outbox);
      if (records.length > 1) this.#socket.cork();
      for (const record of records) this.#socket.write(record, this.#onWritten);
      if (records.length > 1) this.#socket.uncork();
    } else {
      this.#socket.write(this.#outbox.length === 1 ? (this.#outbox[0] as Buffer) : Buffer.concat(this.#outbox, this.#outboxBytes), this.#onWritten);
    }
    this.#outbox = [];
    this.#outboxBytes = 0;
    if (this.#socket.writableLength > this.#maxOutputBytes) {
      this.destroy(new ProtocolError('slow_consumer', `The peer left more than ${this.#maxOutputBytes} bytes unread`));
    }
  };

  readonly #onWritten = (): void => {
    this.#writesCompleted++;
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.#socket.destroyed) return;
    this.#bytesSinceTick += chunk.length;
    const error = this.#decoder.push(chunk, this.#opener === undefined ? this.#onFrame : this.#onRecord);
    if (error !== undefined) this.destroy(error);
  };

  readonly #onRecord = (payload: Buffer): boolean => {
    if (this.#socket.destroyed) return false;
    const error = (this.#opener as RecordOpener).open(payload, this.#onFrame);
    if (error !== undefined) {
      this.destroy(error);
      return false;
    }
    return !this.#socket.destroyed;
  };

  readonly #onFrame = (payload: Buffer): boolean => {
    if (this.#socket.destroyed) return false;
    this.#receivedSinceTick = true;
    const decoded = decodePayload(payload);
    const message = decoded instanceof ProtocolError ? decoded : this.#validate(decoded);
    if (message instanceof ProtocolError) {
      this.destroy(message);
      return false;
    }
    if ((message as { type?: unknown }).type === 'ping') return true;
    try {
      this.emit('message', message);
    } catch (error) {
      // A handler bug must not take the process down through the socket's data event.
      this.destroy(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    return true;
  };

  readonly #onHeartbeat = (): void => {
    if (this.#receivedSinceTick || this.#bytesSinceTick >= MIN_PROGRESS_BYTES) this.#silentTicks = 0;
    else if (++this.#silentTicks >= MISSED_HEARTBEATS) {
      this.destroy(new ProtocolError('heartbeat_timeout', `No frame from ${this.remoteAddress} for ${MISSED_HEARTBEATS} heartbeat intervals`));
      return;
    }
    this.#receivedSinceTick = false;
    this.#bytesSinceTick = 0;
    if (this.#socket.writableLength === 0 || this.#writesCompleted !== this.#writesCompletedAtTick) this.#stalledTicks = 0;
    else if (++this.#stalledTicks >= STALLED_OUTPUT_HEARTBEATS) {
      this.destroy(new ProtocolError('slow_consumer', `${this.remoteAddress} accepted none of our output for ${STALLED_OUTPUT_HEARTBEATS} heartbeat intervals`));
      return;
    }
    this.#writesCompletedAtTick = this.#writesCompleted;
    if (!this.#sentSinceTick && !this.#closed) this.#enqueue(PING_FRAME);
    this.#sentSinceTick = false;
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  readonly #onSocketClose = (): void => {
    this.#closed = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.emit('close', this.#error);
  };

  /** Sends what is queued, closes our side and resolves once the socket is closed. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#flush();
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), CLOSE_TIMEOUT_MS);
      timer.unref();
      void this.#closedPromise.then(() => clearTimeout(timer));
    }
    return this.#closedPromise;
  }

  /** Closes at once; `error` is what the `close` event reports. Idempotent. */
  destroy(error?: Error): void {
    this.#closed = true;
    if (error !== undefined) this.#error ??= error;
    this.#socket.destroy();
  }
}

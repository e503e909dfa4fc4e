import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer as createTcpServer, isIPv4, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { InvalidArgumentError } from '../core/errors.js';
import { checkKeyBytes, peerProof, proofMatches, serverProof, type Transcript } from './auth.js';
import { Connection, newConnectionId } from './connection.js';
import { ProtocolError } from './errors.js';
import { DEFAULT_FAILURE_WINDOW_MS, DEFAULT_MAX_FAILURES_PER_ADDRESS, FailureLimiter } from './failure-limiter.js';
import { deriveSessionKeys } from './session.js';
import { formatAddress, helloEncoder, readHandshakeFrame, writeHandshakeFrame } from './handshake.js';
import { SUPPORTED_VERSIONS, type ClientMessage, type ManagerToClient, type ManagerToWorker, type Welcome, type WorkerMessage } from './messages.js';
import { validateAuth, validateClientMessage, validateWorkerMessage } from './validate.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
export const DEFAULT_HEARTBEAT_MS = 1_000;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * Handshakes in progress at once. A newcomer past it closes the oldest one: an honest peer
 * completes its handshake in a round trip, so only peers far slower than that lose their slot,
 * and slow peers cannot lock new clients out. (Measured against 1,000 tricklers: a cap of 1,024
 * that holds them all cost others more p99 than 256 that recycles them, x2.0 against x1.5; held
 * together, they time out and come back together, a thousand at a time.)
 */
export const DEFAULT_MAX_HANDSHAKES = 256;

export type ServerConnection = Connection<ClientMessage | WorkerMessage, ManagerToClient | ManagerToWorker>;

export interface ServerOptions {
  host: string;
  port: number;
  /** Shared key; without one the server only binds to loopback addresses. */
  key?: Buffer | undefined;
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer | undefined } | undefined;
  handshakeTimeoutMs?: number;
  heartbeatMs?: number;
  maxFrameBytes?: number;
  /** Handshakes in progress at once; a newcomer past it closes the oldest. @default 256 */
  maxHandshakes?: number;
  /**
   * Failed handshakes one address (IP) may cause per `failureWindowMs`; past it the address is
   * refused, unread, until its window ends. 0 turns the limit off. @default 30
   */
  maxFailuresPerAddress?: number;
  /** @default 60000 */
  failureWindowMs?: number;
  /** Output a peer may leave unread before it is closed as a slow consumer. @default 64 MiB */
  maxOutputBytes?: number;
  /** Sent in every welcome; names this server in the peers' logs. @default a random UUID */
  managerId?: string | undefined;
}

export interface HandshakeFailure {
  remoteAddress: string;
  reason: string;
}

export interface ProtocolServerEvents {
  /** A peer did not complete the handshake: wrong key, timeout, garbage, wrong version. */
  handshakeFailed: [failure: HandshakeFailure];
  /** An address reached its failure limit; its connections are refused for the rest of the window. */
  addressRefused: [refusal: { address: string; failures: number; windowMs: number }];
}

export interface ProtocolServer extends EventEmitter<ProtocolServerEvents> {
  /** Binds; resolves with the address actually bound (the real port when given 0). */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops listening and destroys every connection, authenticated or not. Idempotent. */
  close(): Promise<void>;
  /** Handshakes failed since start. */
  readonly failedHandshakes: number;
  /** Connections closed unread because their address was over its failure limit. */
  readonly refusedConnections: number;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
  return false;
}

/**
 * The manager's side of every link: accepts TCP (or TLS), runs the handshake, and hands each
 * authenticated peer to `onConnection`. Before a peer has proven the key it receives only the
 * hello, and at most one small frame of its is read.
 */
export function createServer(options: ServerOptions, onConnection: (connection: ServerConnection) => void): ProtocolServer {
  if (options.key !== undefined) checkKeyBytes(options.key, 'key');
  return new HandshakingServer(options, onConnection);
}

class HandshakingServer extends EventEmitter<ProtocolServerEvents> implements ProtocolServer {
  readonly #options: ServerOptions;
  readonly #onConnection: (connection: ServerConnection) => void;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Sockets still in their handshake, oldest first. */
  readonly #handshaking = new Set<Socket>();
  /** Sockets closed to make room for a newer handshake. */
  readonly #evicted = new WeakSet<Socket>();
  readonly #managerId: string;
  readonly #limiter: FailureLimiter;
  readonly #versions: number[] = [...SUPPORTED_VERSIONS];
  readonly #hello: () => { frame: Buffer; nonce: Buffer };
  #failedHandshakes = 0;
  #refusedConnections = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions, onConnection: (connection: ServerConnection) => void) {
    super();
    this.#options = options;
    this.#onConnection = onConnection;
    this.#managerId = options.managerId ?? randomUUID();
    this.#hello = helloEncoder(this.#versions, options.key !== undefined);
    const tls = options.tls;
    this.#server = tls === undefined
      ? createTcpServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket))
      : createTlsServer(
        { cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }), pauseOnConnect: true, noDelay: true, handshakeTimeout: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS },
        (socket) => this.#accept(socket),
      );
    this.#limiter = new FailureLimiter(options.maxFailuresPerAddress ?? DEFAULT_MAX_FAILURES_PER_ADDRESS, options.failureWindowMs ?? DEFAULT_FAILURE_WINDOW_MS, () => performance.now());
    // Before anything else, TLS included, touches the socket.
    this.#server.prependListener('connection', (socket: Socket) => {
      if (!this.#limiter.isRefused(socket.remoteAddress ?? '')) return;
      this.#refusedConnections++;
      socket.destroy();
    });
    // A TLS handshake failure is a failed handshake too; it must not become an unhandled error.
    this.#server.on('tlsClientError', (error: Error, socket: Socket) => this.#failed(socket, `tls: ${error.message}`));
    // Far past the handshake cap (TLS handshakes in progress, which the cap cannot see), node:net
    // closes new connections itself, before it builds a Socket for them.
    this.#server.on('drop', (info?: { remoteAddress?: string; remotePort?: number }) => {
      this.#failedHandshakes++;
      if (this.#closing !== undefined) return;
      this.emit('handshakeFailed', { remoteAddress: formatAddress(info?.remoteAddress, info?.remotePort), reason: 'too many connections in their handshake' });
    });
    this.#updateConnectionLimit();
  }

  get #maxHandshakes(): number {
    return this.#options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
  }

  /**
   * node:net refuses a connection once `maxConnections` are open: the authenticated ones plus
   * twice the handshake cap. Plain TCP handshakes never reach it (the oldest makes room); TLS
   * connections still in the TLS handshake, which the cap cannot see, do.
   */
  #updateConnectionLimit(): void {
    this.#server.maxConnections = this.#sockets.size - this.#handshaking.size + 2 * this.#maxHandshakes;
  }

  get failedHandshakes(): number {
    return this.#failedHandshakes;
  }

  get refusedConnections(): number {
    return this.#refusedConnections;
  }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port, key } = this.#options;
    if (key === undefined && !isLoopback(host)) {
      return Promise.reject(new InvalidArgumentError(`Refusing to listen on ${JSON.stringify(host)} without a key: only loopback addresses may be used unauthenticated (give a key file)`));
    }
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.removeListener('error', onError);
        this.#server.on('error', () => {});
        const address = this.#server.address() as AddressInfo;
        resolve({ host, port: address.port });
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
      this.#handshaking.clear();
    });
    return this.#closing;
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined || socket.destroyed) {
      socket.destroy();
      return;
    }
    const remoteAddress = formatAddress(socket.remoteAddress, socket.remotePort);
    socket.on('error', () => {}); // reported through 'close' by the Connection or the handshake
    if (this.#handshaking.size >= this.#maxHandshakes) {
      const oldest = this.#handshaking.values().next().value as Socket;
      this.#handshaking.delete(oldest);
      this.#evicted.add(oldest);
      oldest.destroy(); // its handshake fails, and reports it
    }
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#updateConnectionLimit();
    });
    this.#handshaking.add(socket);
    this.#updateConnectionLimit();
    this.#handshake(socket, remoteAddress).then(
      (connection) => {
        this.#handshaking.delete(socket);
        this.#updateConnectionLimit();
        if (this.#closing !== undefined) {
          connection.destroy();
          return;
        }
        this.#onConnection(connection);
      },
      (error: unknown) => {
        this.#handshaking.delete(socket);
        this.#updateConnectionLimit();
        // An eviction is held against its address like a timeout: the oldest is the slowest, and a
        // crowd from one address that keeps pushing itself out must still reach its limit.
        const reason = this.#evicted.has(socket) ? `closed to make room: ${this.#maxHandshakes} handshakes in progress, this one the oldest` : error instanceof Error ? error.message : String(error);
        this.#failed(socket, reason);
      },
    );
  }

  async #handshake(socket: Socket, remoteAddress: string): Promise<ServerConnection> {
    const o = this.#options;
    const key = o.key;
    const versions = this.#versions;
    const { frame: hello, nonce: serverNonce } = this.#hello();
    socket.write(hello);
    const frame = await readHandshakeFrame(socket, validateAuth, { timeoutMs: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS });
    const auth = frame.message;
    if (!versions.includes(auth.version)) throw new ProtocolError('version_mismatch', `peer chose version ${auth.version}, offered ${versions.join(',')}`);
    const transcript: Transcript = { version: auth.version, versions, role: auth.role, serverNonce, peerNonce: auth.nonce };
    let mac: Buffer = Buffer.alloc(0);
    if (key !== undefined) {
      if (!proofMatches(peerProof(key, transcript), auth.mac)) throw new Error('wrong key: the peer\'s proof does not match');
      mac = serverProof(key, transcript);
    }
    const heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const welcome: Welcome = { type: 'welcome', mac, managerId: this.#managerId, heartbeatMs };
    writeHandshakeFrame(socket, welcome);
    return new Connection<ClientMessage | WorkerMessage, ManagerToClient | ManagerToWorker>(
      socket,
      { id: newConnectionId(), role: auth.role, remoteAddress, peerName: auth.name, managerId: this.#managerId },
      {
        validate: auth.role === 'client' ? validateClientMessage : validateWorkerMessage,
        maxFrameBytes: o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        heartbeatMs,
        // TLS authenticates the stream itself; without TLS our records do.
        session: key !== undefined && o.tls === undefined ? deriveSessionKeys(key, transcript, 'server') : undefined,
        ...(o.maxOutputBytes === undefined ? {} : { maxOutputBytes: o.maxOutputBytes }),
      },
      frame.leftover,
    );
  }

  #failed(socket: Socket, reason: string): void {
    this.#failedHandshakes++;
    const remoteAddress = formatAddress(socket.remoteAddress, socket.remotePort);
    socket.destroy();
    const address = socket.remoteAddress ?? '';
    // Once an address is refused, its stragglers are not reported one by one.
    if (this.#closing !== undefined || this.#limiter.isRefused(address)) return;
    this.emit('handshakeFailed', { remoteAddress, reason });
    this.#limiter.recordFailure(address);
    if (this.#limiter.isRefused(address)) {
      const limit = this.#options.maxFailuresPerAddress ?? DEFAULT_MAX_FAILURES_PER_ADDRESS;
      this.emit('addressRefused', { address, failures: limit, windowMs: this.#options.failureWindowMs ?? DEFAULT_FAILURE_WINDOW_MS });
    }
  }
}

import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { InvalidArgumentError, describeValue } from '../core/errors.js';
import { checkKeyBytes, newNonce, peerProof, proofMatches, serverProof, type Transcript } from './auth.js';
import { Connection, newConnectionId } from './connection.js';
import { AuthError, ConnectError, ProtocolError } from './errors.js';
import { deriveSessionKeys } from './session.js';
import { formatAddress, readHandshakeFrame, writeHandshakeFrame } from './handshake.js';
import { SUPPORTED_VERSIONS, type Auth, type ClientMessage, type ManagerToClient, type ManagerToWorker, type Role, type WorkerMessage } from './messages.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from './server.js';
import { validateHello, validateManagerToClient, validateManagerToWorker, validateWelcome } from './validate.js';

export interface DialTlsOptions {
  /** CA (PEM) the manager's certificate must chain to; the system's CAs when absent. */
  ca?: Buffer | string | undefined;
  /** Our certificate and key (PEM), for managers that require one (`--tls-ca` on the manager). */
  cert?: Buffer | string | undefined;
  key?: Buffer | string | undefined;
  /** Name to check the certificate against; the host by default. */
  servername?: string | undefined;
}

export interface DialOptions {
  host: string;
  port: number;
  role: Role;
  /** The shared key; required when the manager asks for one, refused when it does not. */
  key?: Buffer | undefined;
  /** Shown in the manager's logs. */
  name?: string | undefined;
  tls?: DialTlsOptions | undefined;
  /** Aborts the dial; the promise rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** @default 5000 */
  handshakeTimeoutMs?: number | undefined;
  /** @default 16 MiB */
  maxFrameBytes?: number | undefined;
}

/** What a client or worker holds: messages from the manager in, its own messages out. */
export type ManagerConnection = Connection<ManagerToClient | ManagerToWorker, ClientMessage | WorkerMessage>;

/**
 * Opens an authenticated connection to a manager: TCP (or TLS), the manager's hello, our proof of
 * the key, the manager's proof. Rejects with AuthError when either side's proof fails (or the
 * two sides disagree on using a key), ProtocolError on a broken or incompatible handshake,
 * ConnectError when the socket cannot be opened, and `signal.reason` when aborted.
 */
export async function dial(options: DialOptions): Promise<ManagerConnection> {
  const { host, port, role, key, signal } = options;
  if (key !== undefined) checkKeyBytes(key, 'key');
  signal?.throwIfAborted();
  const timeout = AbortSignal.timeout(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  const abort = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  const address = formatAddress(host, port);
  const socket = await open(options, abort);
  try {
    const hello = (await readHandshakeFrame(socket, validateHello, { signal: abort })).message;
    const version = Math.max(...hello.versions.filter((v) => SUPPORTED_VERSIONS.includes(v)));
    if (!Number.isFinite(version)) {
      throw new ProtocolError('version_mismatch', `The manager at ${address} speaks protocol versions ${hello.versions.join(', ')}; this sluice speaks ${SUPPORTED_VERSIONS.join(', ')}`);
    }
    if (hello.auth && key === undefined) throw new AuthError(`The manager at ${address} requires a shared key; give a key or key file`);
    if (!hello.auth && key !== undefined) {
      throw new AuthError(`The manager at ${address} does not use a shared key, so it cannot prove itself; refusing to connect with a key configured`);
    }
    const peerNonce = newNonce();
    const transcript: Transcript = { version, versions: hello.versions, role, serverNonce: hello.nonce, peerNonce };
    const auth: Auth = { type: 'auth', version, role, nonce: peerNonce, mac: key === undefined ? Buffer.alloc(0) : peerProof(key, transcript) };
    if (options.name !== undefined) auth.name = options.name;
    writeHandshakeFrame(socket, auth);
    let welcome;
    try {
      welcome = await readHandshakeFrame(socket, validateWelcome, { signal: abort });
    } catch (error) {
      // The manager closes without a word when our proof fails: nothing but its hello is ever
      // sent to a peer that has not proven the key.
      if (error instanceof ProtocolError && error.reason === 'closed_during_handshake' && key !== undefined) {
        throw new AuthError(`The manager at ${address} refused our key`, { cause: error });
      }
      throw error;
    }
    if (key !== undefined && !proofMatches(serverProof(key, transcript), welcome.message.mac)) {
      throw new AuthError(`The manager at ${address} failed to prove it knows the shared key`);
    }
    return new Connection<ManagerToClient | ManagerToWorker, ClientMessage | WorkerMessage>(
      socket,
      { id: newConnectionId(), role, remoteAddress: address, peerName: undefined, managerId: welcome.message.managerId },
      {
        validate: (role === 'client' ? validateManagerToClient : validateManagerToWorker) as (v: unknown) => ManagerToClient | ManagerToWorker | ProtocolError,
        maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        heartbeatMs: welcome.message.heartbeatMs,
        session: key !== undefined && options.tls === undefined ? deriveSessionKeys(key, transcript, 'peer') : undefined,
      },
      welcome.leftover,
    );
  } catch (error) {
    socket.destroy();
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) throw new ConnectError(`The handshake with ${address} did not complete in time`, { cause: error });
    throw error;
  }
}

function open(options: DialOptions, signal: AbortSignal): Promise<Socket> {
  const { host, port, tls } = options;
  return new Promise((resolve, reject) => {
    const socket: Socket = tls === undefined
      ? connectTcp({ host, port, noDelay: true })
      : connectTls({ host, port, ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }), servername: tls.servername ?? host });
    const ready = tls === undefined ? 'connect' : 'secureConnect';
    const cleanup = (): void => {
      socket.removeListener(ready, onReady);
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      socket.setNoDelay(true);
      socket.on('error', () => {}); // reported through 'close' from here on
      resolve(socket);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(new ConnectError(`Cannot connect to ${formatAddress(host, port)}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error }));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(options.signal?.aborted ? options.signal.reason : new ConnectError(`Timed out connecting to ${formatAddress(host, port)}`));
    };
    if (signal.aborted) return onAbort();
    socket.once(ready, onReady);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Parses `host:port` (`[v6]:port` for IPv6). `option` names the setting in the error message.
 */
export function parseAddress(text: string, option: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`Expected \`${option}\` to be "host:port" (e.g. "10.0.0.5:7400", "[::1]:7400"), got ${describeValue(text)}`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

import { EventEmitter } from 'node:events';
import { newConnectionId, type ConnectionEvents, type ConnectionInfo } from './connection.js';
import { ConnectError } from './errors.js';
import type { ClientMessage, ManagerToClient, ManagerToWorker, Role, WorkerMessage } from './messages.js';

/**
 * What the roles need of a link to a peer: an authenticated TCP `Connection`, or a `LocalLink`
 * when both ends live in one process. Messages arrive in the order they were sent, each once;
 * `close` fires once per end.
 */
export interface Link<In, Out> extends EventEmitter<ConnectionEvents<In>>, ConnectionInfo {
  readonly isClosed: boolean;
  send(message: Out): void;
  /** Delivers what was sent, then closes both ends. Idempotent. */
  close(): Promise<void>;
  /** Closes at once; the peer sees the link lost. */
  destroy(error?: Error): void;
}

/** A client's or worker's end of its link to the manager. */
export type PeerLink = Link<ManagerToClient | ManagerToWorker, ClientMessage | WorkerMessage>;
/** The manager's end of a link to a client or worker. */
export type ManagerSideLink = Link<ClientMessage | WorkerMessage, ManagerToClient | ManagerToWorker>;

/**
 * A manager reachable inside this process (`sluice dev`, an embedded gateway): roles open a
 * `LocalLink` to it instead of dialling its port, skipping framing, encoding and the socket.
 */
export interface LocalManager {
  readonly managerId: string;
  /** Rejects with ConnectError once the manager is closing. */
  connectLocal(role: Role, name: string | undefined): Promise<PeerLink>;
}

export function isLocalManager(value: unknown): value is LocalManager {
  return typeof value === 'object' && value !== null && typeof (value as LocalManager).connectLocal === 'function';
}

/**
 * One end of an in-process link. Messages are handed over by reference, after the sender's
 * current call returns (a microtask), in order and in batches — never re-entrantly inside
 * `send()`, so each side sees the same asynchrony as over a socket. The sender must not mutate a
 * message after sending it; the roles build a fresh object per message.
 *
 * There is no peer to authenticate, no frame to validate and no heartbeat: both ends share the
 * process, so one cannot go silent without the other.
 */
export class LocalLink<In, Out> extends EventEmitter<ConnectionEvents<In>> implements Link<In, Out> {
  readonly id: number;
  readonly role: Role;
  readonly remoteAddress = 'in-process';
  readonly peerName: string | undefined;
  readonly managerId: string;
  #peer!: LocalLink<Out, In>;
  #inbox: In[] = [];
  #drainScheduled = false;
  /** No more sends from this end. */
  #closed = false;
  /** `close` was emitted. */
  #ended = false;
  /** The peer ended the link; `close` fires here once the inbox is drained. */
  #peerEnded: { error: Error | undefined } | undefined;
  readonly #endedPromise: Promise<void>;
  #resolveEnded!: () => void;

  private constructor(info: Omit<ConnectionInfo, 'id'>, id: number) {
    super();
    this.id = id;
    this.role = info.role;
    this.peerName = info.peerName;
    this.managerId = info.managerId;
    this.#endedPromise = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /** A connected pair: `[manager's end, peer's end]`, both with the peer's `role` and `name`. */
  static pair<A, B>(role: Role, peerName: string | undefined, managerId: string): [LocalLink<A, B>, LocalLink<B, A>] {
    const id = newConnectionId();
    const info = { role, peerName, managerId, remoteAddress: 'in-process' };
    const a = new LocalLink<A, B>(info, id);
    const b = new LocalLink<B, A>(info, id);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  send(message: Out): void {
    if (this.#closed) return;
    this.#peer.#receive(message);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#peer.#onPeerEnded(undefined);
      this.#onPeerEnded(undefined);
    }
    return this.#endedPromise;
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    this.#peer.#onPeerEnded(new ConnectError('The in-process link was closed by its other end'));
    this.#onPeerEnded(error);
  }

  #receive(message: In): void {
    if (this.#ended) return;
    this.#inbox.push(message);
    this.#scheduleDrain();
  }

  #onPeerEnded(error: Error | undefined): void {
    if (this.#peerEnded !== undefined) return;
    this.#peerEnded = { error };
    this.#closed = true;
    this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#drain);
  }

  readonly #drain = (): void => {
    this.#drainScheduled = false;
    while (this.#inbox.length > 0 && !this.#ended) {
      const batch = this.#inbox;
      this.#inbox = [];
      for (const message of batch) {
        if (this.#ended) return;
        this.emit('message', message);
      }
    }
    if (this.#peerEnded !== undefined && !this.#ended) {
      this.#ended = true;
      this.#inbox = [];
      this.emit('close', this.#peerEnded.error);
      this.#resolveEnded();
    }
  };
}

// A peer on a raw TCP socket, for crafting handshakes and streams by hand in tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { peerProof, type Transcript } from './auth.js';
import { decodePayload, encodeFrame } from './codec.js';
import { FrameDecoder } from './framing.js';
import type { Hello } from './messages.js';
import { deriveSessionKeys, RecordSealer } from './session.js';

export class RawPeer {
  readonly socket: Socket;
  readonly frames: unknown[] = [];
  readonly bytes: Buffer[] = [];
  readonly closed: Promise<unknown>;
  readonly #decoder = new FrameDecoder(1 << 20);
  #waiters: (() => void)[] = [];

  /** `localAddress`: another loopback address (127.0.0.2 …) to connect from, as another host would. */
  constructor(port: number, localAddress?: string) {
    this.socket = connectTcp({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) });
    this.socket.on('error', () => {});
    // Not events.once: that rejects on the ECONNRESET a peer sees when the server destroys it.
    this.closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.on('data', (chunk: Buffer) => {
      this.bytes.push(chunk);
      this.#decoder.push(chunk, (p) => void this.frames.push(decodePayload(p)));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** The `index`th frame received (0 is the hello); rejects after `timeoutMs`. */
  async frame(index: number, timeoutMs = 2_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length <= index) {
      if (Date.now() > deadline) throw new Error('no frame');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames[index];
  }

  send(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  /**
   * Completes the handshake as a client (with `key`, or without one against an open server) and
   * returns what seals our frames from then on: records with a key, bare frames without. A
   * Buffer among the messages is taken as frame bytes already made (broken ones included).
   */
  async authenticate(key: Buffer | undefined, role: 'client' | 'worker' = 'client'): Promise<(messages: unknown[]) => Buffer> {
    const hello = (await this.frame(0)) as Hello;
    const nonce = randomBytes(32);
    const transcript: Transcript = { version: 1, versions: hello.versions, role, serverNonce: hello.nonce, peerNonce: nonce };
    this.send({ type: 'auth', version: 1, role, nonce, mac: key === undefined ? Buffer.alloc(0) : peerProof(key, transcript) });
    assert.equal(((await this.frame(1)) as { type: string }).type, 'welcome');
    const frame = (m: unknown): Buffer => (Buffer.isBuffer(m) ? m : encodeFrame(m));
    if (key === undefined) return (messages) => Buffer.concat(messages.map(frame));
    const sealer = new RecordSealer(deriveSessionKeys(key, transcript, 'peer').send);
    return (messages) => Buffer.concat(sealer.seal(messages.map(frame)));
  }
}

/** `buffer` cut at the given points (taken modulo its length), as a stream of chunks. */
export function splitAt(buffer: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(buffer.subarray(last, p));
    last = p;
  }
  parts.push(buffer.subarray(last));
  return parts;
}

import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { FRAME_HEADER_BYTES, scanFrames } from './framing.js';
import type { Transcript } from './auth.js';

/**
 * After a keyed handshake without TLS, every write batch travels as one sealed record, so a
 * frame injected into the TCP stream, replayed, reordered or dropped closes the connection:
 *
 *   ┌───────────────────────┬──────────────────────────────────┬──────────────────────┐
 *   │ length: uint32 BE     │ body: whole frames, back to back │ MAC: 32 bytes        │
 *   └───────────────────────┴──────────────────────────────────┴──────────────────────┘
 *   MAC = HMAC-SHA256(direction key, sequence: uint64 BE ‖ body)
 *
 * The sequence number is implicit (0, 1, 2 … per direction), so a replayed or reordered record
 * fails its MAC. Direction keys come from HKDF-SHA256 over the shared key, salted with both
 * handshake nonces: fresh per connection, and a record can never be reflected back to its sender.
 * One MAC per batch, not per frame: under load a batch carries hundreds of frames. With TLS, TLS
 * authenticates the stream and records are not used; without a key there is nothing to seal with.
 */
export const RECORD_MAC_BYTES = 32;
/** A sender closes a record past this many body bytes; a single larger frame goes alone. */
export const RECORD_TARGET_BYTES = 64 * 1024;

export interface SessionKeys {
  /** Seals what we send. */
  readonly send: Buffer;
  /** Checks what we receive. */
  readonly receive: Buffer;
}

const LABEL_TO_SERVER = 'sluice/1 records peer->server';
const LABEL_TO_PEER = 'sluice/1 records server->peer';

function directionKey(key: Buffer, t: Transcript, label: string): Buffer {
  const salt = Buffer.concat([t.serverNonce, t.peerNonce]);
  const info = Buffer.from(`${label} v${t.version} ${t.role}`);
  return Buffer.from(hkdfSync('sha256', key, salt, info, 32));
}

/** The two record keys of a session, as seen from `side`. */
export function deriveSessionKeys(key: Buffer, t: Transcript, side: 'server' | 'peer'): SessionKeys {
  const toServer = directionKey(key, t, LABEL_TO_SERVER);
  const toPeer = directionKey(key, t, LABEL_TO_PEER);
  return side === 'server' ? { send: toPeer, receive: toServer } : { send: toServer, receive: toPeer };
}

/** Largest record body a receiver accepts: one maximal frame, or a full batch of small ones. */
export const maxRecordBody = (maxFrameBytes: number): number => Math.max(maxFrameBytes + FRAME_HEADER_BYTES, RECORD_TARGET_BYTES);

const SEQUENCE_BYTES = 8;

function writeSequence(target: Buffer, offset: number, sequence: number): void {
  target.writeUInt32BE(Math.floor(sequence / 0x1_0000_0000), offset);
  target.writeUInt32BE(sequence >>> 0, offset + 4);
}

/** Seals outgoing frames into records, numbering them. */
export class RecordSealer {
  readonly #key: KeyObject;
  #sequence = 0;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /**
   * The frames as records (length prefix included), each up to about RECORD_TARGET_BYTES of
   * body, in order. Frames are copied once, straight into their record.
   */
  seal(frames: readonly Buffer[]): Buffer[] {
    const records: Buffer[] = [];
    let first = 0;
    while (first < frames.length) {
      let end = first;
      let bodyBytes = 0;
      do bodyBytes += (frames[end++] as Buffer).length;
      while (end < frames.length && bodyBytes + (frames[end] as Buffer).length <= RECORD_TARGET_BYTES);
      // The sequence number goes just before the body, so the MAC is computed in one pass; it is
      // not sent (the receiver counts too).
      const buffer = Buffer.allocUnsafe(SEQUENCE_BYTES + FRAME_HEADER_BYTES + bodyBytes + RECORD_MAC_BYTES);
      const bodyStart = SEQUENCE_BYTES + FRAME_HEADER_BYTES;
      let offset = bodyStart;
      for (let i = first; i < end; i++) offset += (frames[i] as Buffer).copy(buffer, offset);
      writeSequence(buffer, FRAME_HEADER_BYTES, this.#sequence++);
      createHmac('sha256', this.#key).update(buffer.subarray(FRAME_HEADER_BYTES, offset)).digest().copy(buffer, offset);
      buffer.writeUInt32BE(bodyBytes + RECORD_MAC_BYTES, SEQUENCE_BYTES);
      records.push(buffer.subarray(SEQUENCE_BYTES));
      first = end;
    }
    return records;
  }
}

/** Checks incoming records in sequence and hands out the frames inside. */
export class RecordOpener {
  readonly #key: KeyObject;
  readonly #maxFrameBytes: number;
  readonly #sequenceBytes = Buffer.alloc(SEQUENCE_BYTES);
  #sequence = 0;

  constructor(key: Buffer, maxFrameBytes: number) {
    this.#key = createSecretKey(key);
    this.#maxFrameBytes = maxFrameBytes;
  }

  /**
   * Verifies one record's payload (body ‖ MAC) and calls `onFrame` with each frame payload in it.
   * Returns an error value when the MAC does not match this position in the stream or the body
   * is not a whole number of frames; the connection must be closed then.
   */
  open(payload: Buffer, onFrame: (frame: Buffer) => boolean | void): ProtocolError | undefined {
    if (payload.length <= RECORD_MAC_BYTES) return new ProtocolError('malformed_frame', `Record of ${payload.length} bytes is too short to carry a frame and its MAC`);
    const body = payload.subarray(0, payload.length - RECORD_MAC_BYTES);
    writeSequence(this.#sequenceBytes, 0, this.#sequence++);
    const expected = createHmac('sha256', this.#key).update(this.#sequenceBytes).update(body).digest();
    if (!timingSafeEqual(expected, payload.subarray(body.length))) {
      return new ProtocolError('bad_record_mac', `Record ${this.#sequence - 1} failed its MAC: injected, replayed, reordered or corrupted`);
    }
    const { offset, error } = scanFrames(body, this.#maxFrameBytes, onFrame);
    if (error !== undefined) return error;
    if (offset !== body.length) return new ProtocolError('malformed_frame', 'Record body ends inside a frame: a record carries whole frames');
    return undefined;
  }
}

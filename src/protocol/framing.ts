import { ProtocolError } from './errors.js';

/**
 * Frames on the wire:
 *
 *   ┌──────────────────────┬───────────────────────────────┐
 *   │ length: uint32 BE    │ payload: `length` bytes        │
 *   └──────────────────────┴───────────────────────────────┘
 *
 * The declared length is checked against the cap before a single byte of the payload is
 * buffered, so a peer cannot make us allocate more than `maxFrameBytes` (plus one chunk).
 */
export const FRAME_HEADER_BYTES = 4;

/** Splits a byte stream into frames. Feed it socket chunks in order; it never throws. */
export class FrameDecoder {
  #maxFrameBytes: number;
  /**
   * Chunks of an incomplete frame carried over, concatenated only once the whole frame is here
   * (a 16 MiB frame arriving in 64 KiB chunks is copied once, not 256 times).
   */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Total bytes (header included) the first buffered frame needs; 0 while its header is incomplete. */
  #needed = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Raises (or lowers) the cap, as after a handshake. */
  set maxFrameBytes(value: number) {
    this.#maxFrameBytes = value;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Calls `onFrame` with each complete payload (a view into the chunk: valid until the callback
   * returns unless copied). Returns an error value on an oversized or zero-length frame; the
   * stream is unusable after that. `onFrame` returns false to stop early (the rest stays
   * buffered and is handed out by `take()`).
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => boolean | void): ProtocolError | undefined {
    let buffer = chunk;
    if (this.#buffered > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#needed === 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
        const head = this.#chunks.length === 1 || (this.#chunks[0] as Buffer).length >= FRAME_HEADER_BYTES
          ? (this.#chunks[0] as Buffer)
          : Buffer.concat(this.#chunks, Math.min(this.#buffered, 16));
        const error = checkLength(head.readUInt32BE(0), this.#maxFrameBytes);
        if (error !== undefined) return error;
        this.#needed = FRAME_HEADER_BYTES + head.readUInt32BE(0);
      }
      if (this.#buffered < this.#needed) return undefined;
      buffer = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
      this.#needed = 0;
    }
    const { offset, error } = scanFrames(buffer, this.#maxFrameBytes, onFrame);
    if (error !== undefined) return error;
    const end = buffer.length;
    if (offset < end) {
      const rest = buffer.subarray(offset);
      this.#chunks = [rest];
      this.#buffered = rest.length;
      // Re-read (and re-check) the header on the next push; it may have stopped early.
      this.#needed = 0;
    }
    return undefined;
  }

  /** Hands out (and forgets) whatever is buffered: the start of the next layer's stream. */
  take(): Buffer | undefined {
    if (this.#buffered === 0) return undefined;
    const rest = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [];
    this.#buffered = 0;
    this.#needed = 0;
    return rest;
  }
}

function checkLength(length: number, maxFrameBytes: number): ProtocolError | undefined {
  if (length > maxFrameBytes) return new ProtocolError('frame_too_large', `Frame of ${length} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  if (length === 0) return new ProtocolError('malformed_frame', 'Zero-length frame: every frame carries one message');
  return undefined;
}

/**
 * Calls `onFrame` with each whole frame at the start of `buffer` (views into it), checking every
 * header before its payload. Stops at an incomplete frame, at a bad header (returned as `error`)
 * or when `onFrame` returns false; `offset` is where it stopped.
 */
export function scanFrames(buffer: Buffer, maxFrameBytes: number, onFrame: (payload: Buffer) => boolean | void): { offset: number; error: ProtocolError | undefined } {
  let offset = 0;
  const end = buffer.length;
  while (end - offset >= FRAME_HEADER_BYTES) {
    const length = buffer.readUInt32BE(offset);
    const error = checkLength(length, maxFrameBytes);
    if (error !== undefined) return { offset, error };
    if (end - offset - FRAME_HEADER_BYTES < length) break;
    const start = offset + FRAME_HEADER_BYTES;
    offset = start + length;
    if (onFrame(buffer.subarray(start, offset)) === false) break;
  }
  return { offset, error: undefined };
}

/** Prefixes `payload` with its length. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}

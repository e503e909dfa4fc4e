import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { FRAME_HEADER_BYTES } from './framing.js';

/**
 * msgpack in its standard form (no record extension): any msgpack implementation can speak to a
 * manager, and no decoder state carries over from one frame to the next. msgpackr maps a
 * `__proto__` key to a harmless own property, so wire data cannot reach Object.prototype.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false, structuredClone: false, int64AsType: 'number' });

/**
 * Encodes one message as a whole frame (length prefix included), in one buffer so a frame costs
 * one entry in a write batch. Throws only for values msgpack cannot carry (a caller's bad
 * argument, never wire data).
 */
export function encodeFrame(message: unknown): Buffer {
  const payload = packr.pack(message);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** Decodes one frame's payload; any malformed input yields an error value, never a throw. */
export function decodePayload(payload: Buffer): unknown {
  try {
    // unpack() refuses trailing bytes, so one frame can never smuggle a second message.
    return unpackr.unpack(payload) as unknown;
  } catch (error) {
    return new ProtocolError('malformed_frame', `Frame is not valid msgpack: ${(error as Error).message}`, { cause: error });
  }
}

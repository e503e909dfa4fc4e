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

/**
 * Deepest nesting of maps and arrays a frame may carry, the message itself being level 1: far
 * beyond real data, far below what would exhaust the stack of code that walks a value.
 */
export const MAX_NESTING = 64;

/** Decodes one frame's payload; any malformed input yields an error value, never a throw. */
export function decodePayload(payload: Buffer): unknown {
  let value: unknown;
  try {
    // unpack() refuses trailing bytes, so one frame can never smuggle a second message.
    value = unpackr.unpack(payload) as unknown;
  } catch (error) {
    return new ProtocolError('malformed_frame', `Frame is not valid msgpack: ${(error as Error).message}`, { cause: error });
  }
  if (nestsDeeperThan(value, MAX_NESTING)) return new ProtocolError('invalid_message', `Invalid message: nested deeper than ${MAX_NESTING} levels of maps and arrays`);
  return value;
}

/** True when `value` nests maps and arrays more than `levels` deep. Iterative: any depth is safe. */
export function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    if (depth > levels) return true;
    if (ArrayBuffer.isView(node) || node instanceof Date) continue;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        pending.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

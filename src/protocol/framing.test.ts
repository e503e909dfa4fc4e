import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodePayload, encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './framing.js';
import { splitAt } from './raw-peer.test-helpers.js';

const messages = [
  { type: 'submit', id: 'a', name: 'resize', args: { width: 300 }, priority: 5 },
  { type: 'ping' },
  { type: 'completed', id: 'a', result: 'x'.repeat(70_000) },
  { type: 'cancel', id: 'b' },
];
const stream = Buffer.concat(messages.map(encodeFrame));

/** Feeds `chunks` in order; returns the decoded messages and the first error. */
function feed(chunks: Buffer[], max = 1024 * 1024): { decoded: unknown[]; error: ProtocolError | undefined } {
  const decoder = new FrameDecoder(max);
  const decoded: unknown[] = [];
  for (const chunk of chunks) {
    const error = decoder.push(chunk, (payload) => {
      decoded.push(decodePayload(payload));
    });
    if (error !== undefined) return { decoded, error };
  }
  return { decoded, error: undefined };
}


describe('FrameDecoder', () => {
  it('decodes a stream fed one byte at a time exactly like the whole', () => {
    const bytes = Array.from(stream, (b) => Buffer.from([b]));
    assert.deepEqual(feed(bytes).decoded, messages);
    assert.deepEqual(feed([stream]).decoded, messages);
  });

  it('decodes any split of the stream like the whole (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        const { decoded, error } = feed(splitAt(stream, cuts));
        assert.equal(error, undefined);
        assert.deepEqual(decoded, messages);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a frame over the cap from its header, before buffering its payload', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_ffff, 0);
    const error = decoder.push(header, () => assert.fail('no frame'));
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.reason, 'frame_too_large');
    assert.equal(decoder.buffered, 0);
  });

  it('refuses an oversized header split across chunks', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2048, 0);
    assert.equal(decoder.push(header.subarray(0, 2), () => {}), undefined);
    assert.equal(decoder.push(header.subarray(2), () => {})?.reason, 'frame_too_large');
  });

  it('refuses a zero-length frame and eight zero bytes', () => {
    assert.equal(feed([Buffer.alloc(4)]).error?.reason, 'malformed_frame');
    assert.equal(feed([Buffer.alloc(8)]).error?.reason, 'malformed_frame');
  });

  it('keeps an incomplete frame buffered until it is whole, then hands the rest out with take()', () => {
    const decoder = new FrameDecoder(1024 * 1024);
    const frames: Buffer[] = [];
    const big = encodeFrame({ type: 'completed', id: 'x', result: Buffer.alloc(200_000) });
    for (let i = 0; i < big.length; i += 65_536) decoder.push(big.subarray(i, i + 65_536), (p) => void frames.push(Buffer.from(p)));
    assert.equal(frames.length, 1);
    const two = Buffer.concat([encodeFrame({ type: 'ping' }), encodeFrame({ type: 'cancel', id: 'y' })]);
    decoder.push(two, () => false);
    assert.deepEqual(decodePayload(feedOne(decoder.take())), { type: 'cancel', id: 'y' });
  });
});

function feedOne(buffer: Buffer | undefined): Buffer {
  assert.ok(buffer !== undefined);
  let payload: Buffer | undefined;
  new FrameDecoder(1024).push(buffer, (p) => void (payload = p));
  assert.ok(payload !== undefined);
  return payload;
}

describe('decodePayload', () => {
  it('never throws: any bytes decode to a value or an error value (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        decodePayload(Buffer.from(bytes));
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses trailing bytes after the one value of a frame', () => {
    const two = Buffer.concat([encodeFrame({ type: 'ping' }).subarray(4), encodeFrame({ type: 'ping' }).subarray(4)]);
    assert.ok(decodePayload(two) instanceof ProtocolError);
  });

  it('keeps __proto__ keys off Object.prototype', () => {
    const hostile = JSON.parse('{"type":"submit","__proto__":{"polluted":true}}') as object;
    const decoded = decodePayload(encodeFrame(hostile).subarray(4)) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });
});

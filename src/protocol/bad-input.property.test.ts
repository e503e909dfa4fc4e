// Properties of the inbound path — bytes → frames (→ records) → msgpack → validated message — over
// 100,000+ generated inputs in all: nothing throws, splitting never changes the result, and
// everything that is not a valid message comes out as a ProtocolError value.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodePayload, encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './framing.js';
import { splitAt } from './raw-peer.test-helpers.js';
import { RecordOpener, RecordSealer, RECORD_MAC_BYTES } from './session.js';
import { validateAuth, validateClientMessage, validateHello, validateManagerToClient, validateManagerToWorker, validateWelcome, validateWorkerMessage, type Validator } from './validate.js';

// Most generated inputs end in an error value, and capturing a stack trace is most of what one
// costs; the properties are about values, so this file does without traces (its own process).
Error.stackTraceLimit = 0;

const validators: Validator<unknown>[] = [validateClientMessage, validateWorkerMessage, validateManagerToClient, validateManagerToWorker, validateHello, validateAuth, validateWelcome];
const MAX_FRAME = 4096;

/** What the inbound path makes of one stream: messages or error values, in order. */
type Outcome = { messages: unknown[]; error: string | undefined };

/** Runs chunks through decoder, msgpack and every validator, as a connection does. */
function inbound(chunks: readonly Buffer[], max = MAX_FRAME): Outcome {
  const decoder = new FrameDecoder(max);
  const messages: unknown[] = [];
  for (const chunk of chunks) {
    const error = decoder.push(chunk, (payload) => {
      const decoded = decodePayload(payload);
      if (decoded instanceof ProtocolError) {
        messages.push({ refused: decoded.reason });
        return;
      }
      for (const validate of validators) {
        const result = validate(decoded);
        assert.ok(result === decoded || result instanceof ProtocolError, 'a validator returns the message itself or an error value');
      }
      messages.push(decoded);
    });
    if (error !== undefined) {
      assert.ok(error instanceof ProtocolError);
      return { messages, error: error.reason };
    }
  }
  return { messages, error: undefined };
}


/** Values msgpack carries, the kinds real messages are made of. */
const wireValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'xsmall' },
    fc.constantFrom(null, true, false, Number.NaN, Infinity, -Infinity, -0),
    fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('type', 'id', '__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Messages that look like the real ones, with any field possibly replaced. */
const nearMessage = fc.record({
  type: fc.oneof(fc.constantFrom('submit', 'cancel', 'ping', 'outcome', 'register', 'capacity', 'completed', 'failed', 'busy', 'dispatch', 'abort', 'hello', 'auth', 'welcome'), wireValue),
  id: fc.oneof(fc.string({ maxLength: 300 }), wireValue),
  name: fc.oneof(fc.string({ maxLength: 10 }), wireValue),
  token: fc.oneof(fc.integer(), fc.double(), wireValue),
  priority: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.double()),
  status: fc.oneof(fc.constantFrom('completed', 'failed', 'crashed', 'returned', 'aborted'), wireValue),
  args: wireValue,
}, { requiredKeys: ['type'] });

const stream = fc.array(fc.oneof(nearMessage, wireValue), { minLength: 1, maxLength: 4 }).map((messages) => messages.map((m) => encodeFrame(m)));

describe('inbound path properties', () => {
  it('never throws on arbitrary bytes, raw or shaped like frames (50,000 cases)', () => {
    const framed = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((payload) => Buffer.concat([encodeFrameHeader(payload.length), payload]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), framed), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        inbound(splitAt(bytes, cuts));
      }),
      { numRuns: 50_000 },
    );
  });

  it('decodes any split of a stream exactly like the whole stream (10,000 cases)', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const whole = Buffer.concat(frames);
        const expected = inbound([whole]);
        assert.deepEqual(inbound(splitAt(whole, cuts)), expected);
      }),
      { numRuns: 10_000 },
    );
  });

  it('turns every mutation of a valid stream into messages or an error value (15,000 cases)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('length' as const), frame: fc.nat(), length: fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff, MAX_FRAME + 1), fc.nat()) }),
    );
    fc.assert(
      fc.property(stream, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), (frames, mutations, cuts) => {
        let bytes: Buffer = Buffer.concat(frames);
        for (const m of mutations) bytes = mutate(bytes, frames, m);
        const whole = inbound([bytes]);
        assert.deepEqual(inbound(splitAt(bytes, cuts)), whole, 'splitting a broken stream breaks it the same way');
      }),
      { numRuns: 15_000 },
    );
  });

  it('opens records split anywhere like whole ones, and refuses any altered record (15,000 cases)', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), fc.option(fc.nat()), (frames, cuts, flipAt) => {
        const records = Buffer.concat(new RecordSealer(key).seal(frames));
        if (flipAt !== null) records[flipAt % records.length] = (records[flipAt % records.length] as number) ^ 0x01;
        const opener = new RecordOpener(key, MAX_FRAME);
        const decoder = new FrameDecoder(MAX_FRAME + 4 + RECORD_MAC_BYTES + 65_536);
        const out: Buffer[] = [];
        let error: ProtocolError | undefined;
        for (const chunk of splitAt(records, cuts)) {
          error = decoder.push(chunk, (record) => {
            error = opener.open(record, (f) => void out.push(Buffer.from(f)));
            return error === undefined;
          }) ?? error;
          if (error !== undefined) break;
        }
        if (flipAt === null) {
          assert.equal(error, undefined);
          assert.deepEqual(out, frames.map((f) => f.subarray(4)));
        } else {
          assert.ok(error instanceof ProtocolError || decoder.buffered > 0, 'an altered record is refused or never completes');
          assert.equal(out.length, 0, 'no frame of an altered record is handed out');
        }
      }),
      { numRuns: 15_000 },
    );
  });

  it('validates any msgpack value without throwing (15,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(nearMessage, wireValue), (value) => {
        const decoded = decodePayload(encodeFrame(value).subarray(4));
        for (const validate of validators) {
          const result = validate(decoded);
          assert.ok(result === decoded || result instanceof ProtocolError);
        }
      }),
      { numRuns: 15_000 },
    );
  });
});

function encodeFrameHeader(length: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length, 0);
  return header;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'length'; frame: number; length: number };

function mutate(bytes: Buffer, frames: readonly Buffer[], m: Mutation): Buffer {
  const copy = Buffer.from(bytes);
  switch (m.kind) {
    case 'flip':
      if (copy.length > 0) copy[m.at % copy.length] = (copy[m.at % copy.length] as number) ^ (1 << m.bit);
      return copy;
    case 'cut':
      return copy.subarray(0, m.at % (copy.length + 1));
    case 'insert': {
      const at = m.at % (copy.length + 1);
      return Buffer.concat([copy.subarray(0, at), m.bytes, copy.subarray(at)]);
    }
    case 'length': {
      let offset = 0;
      for (let i = 0; i < m.frame % frames.length; i++) offset += (frames[i] as Buffer).length;
      if (offset + 4 <= copy.length) copy.writeUInt32BE(m.length >>> 0, offset);
      return copy;
    }
  }
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { validateClientMessage, validateManagerToClient, validateManagerToWorker, validateWorkerMessage } from './validate.js';

describe('message validation', () => {
  it('accepts well-formed messages as the same object', () => {
    const submit = { type: 'submit', id: 't1', name: 'resize', args: { width: 3 }, priority: 8, deadlineMs: 2000, maxAttempts: 3 };
    assert.equal(validateClientMessage(submit), submit);
    const outcome = { type: 'outcome', token: 4, status: 'failed', error: { name: 'TypeError', message: 'x' } };
    assert.equal(validateWorkerMessage(outcome), outcome);
    const busy = { type: 'busy', id: 't1', reason: 'full', retryAfterMs: 12 };
    assert.equal(validateManagerToClient(busy), busy);
    const dispatch = { type: 'dispatch', token: 1, id: 't1', name: 'resize', args: null, attempt: 1, deadlineMs: 10.5 };
    assert.equal(validateManagerToWorker(dispatch), dispatch);
  });

  const bad: Array<[string, unknown]> = [
    ['not a map', 42],
    ['an array', []],
    ['no type', { id: 'x' }],
    ['unknown type', { type: 'launch' }],
    ['a worker message from a client', { type: 'register', nodeId: 'n', capacity: 1, tasks: [] }],
    ['empty id', { type: 'submit', id: '', name: 'x', priority: 5 }],
    ['long id', { type: 'submit', id: 'x'.repeat(257), name: 'x', priority: 5 }],
    ['priority 10', { type: 'submit', id: 'a', name: 'x', priority: 10 }],
    ['priority NaN', { type: 'submit', id: 'a', name: 'x', priority: Number.NaN }],
    ['negative deadline', { type: 'submit', id: 'a', name: 'x', priority: 5, deadlineMs: -1 }],
    ['infinite deadline', { type: 'submit', id: 'a', name: 'x', priority: 5, deadlineMs: Infinity }],
    ['maxAttempts 0', { type: 'submit', id: 'a', name: 'x', priority: 5, maxAttempts: 0 }],
  ];
  for (const [what, value] of bad) {
    it(`refuses ${what} with an error value`, () => {
      const result = validateClientMessage(value);
      assert.ok(result instanceof ProtocolError, `accepted ${JSON.stringify(value)}`);
      assert.ok(['invalid_message', 'unexpected_message'].includes(result.reason));
    });
  }

  it('never throws on arbitrary values (property)', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withTypedArray: true, withBigInt: true }), (value) => {
        for (const validate of [validateClientMessage, validateWorkerMessage, validateManagerToClient, validateManagerToWorker]) validate(value);
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on near-valid messages with fields replaced by arbitrary values (property)', () => {
    const base = { type: 'outcome', token: 1, status: 'failed', error: { name: 'E', message: 'm' } };
    fc.assert(
      fc.property(fc.constantFrom('type', 'token', 'status', 'error', 'reason'), fc.anything(), (field, value) => {
        const result = validateWorkerMessage({ ...base, [field]: value });
        assert.ok(result instanceof ProtocolError || typeof result === 'object');
      }),
      { numRuns: 5_000 },
    );
  });
});

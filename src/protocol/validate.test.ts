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
      fc.property(fc.constantFrom('type', 'token', 'status', 'error', 'reason', 'runMs'), fc.anything(), (field, value) => {
        const result = validateWorkerMessage({ ...base, [field]: value });
        assert.ok(result instanceof ProtocolError || typeof result === 'object');
      }),
      { numRuns: 5_000 },
    );
  });

  it('takes a node\'s prefetch and an attempt\'s run time only as finite non-negative numbers', () => {
    const register = { type: 'register', nodeId: 'n', capacity: 4, prefetch: 1, tasks: ['a'] };
    assert.equal(validateWorkerMessage(register), register);
    const completed = { type: 'outcome', token: 2, status: 'completed', result: null, runMs: 10.25 };
    assert.equal(validateWorkerMessage(completed), completed);
    for (const prefetch of [-1, 1.5, Number.NaN, '1', 100_001]) {
      const result = validateWorkerMessage({ ...register, prefetch });
      assert.ok(result instanceof ProtocolError && result.message.includes('register.prefetch'), `prefetch ${String(prefetch)}`);
    }
    for (const runMs of [-1, Infinity, Number.NaN, '3']) {
      const result = validateWorkerMessage({ ...completed, runMs });
      assert.ok(result instanceof ProtocolError && result.message.includes('outcome.runMs'), `runMs ${String(runMs)}`);
    }
  });
});

describe('status messages', () => {
  const zero = { full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0 };
  const snapshot = {
    time: 1, managerId: 'm', uptimeMs: 5, maxLatencyMs: 0,
    queue: { depth: { high: 0, normal: 1, low: 0 }, total: 1, bound: 10, boundReason: 'cap', cap: 10, fill: 0.1, alertAt: { warning: 0.7, critical: 0.9 } },
    capacity: { slots: 1, busy: 1, workers: 1 },
    totals: { admitted: 2, completed: 1, failed: 0, expired: 0, cancelled: 0, retried: 0, workerLost: 0, rejected: zero },
    rates: { admitted: 0, completed: 0, failed: 0, rejected: zero },
    tasks: [{ name: 't', completed: 1, failed: 0, waitMs: { p50: 1, p90: 1, p99: 1, p999: 1 }, serviceMs: { p50: 2, p90: 2, p99: 2, p999: 2 } }],
    workers: [{ id: 'w', capacity: 1, busy: 1, recentServiceMs: 2, connectedSince: 1 }],
    alerts: [{ kind: 'fill', level: 'warning', since: 1, value: 0.8, threshold: 0.7, message: 'full' }],
    healthy: false,
  };

  it('accepts a snapshot, a status request, a watch and an alert event', () => {
    for (const message of [
      { type: 'status', ref: 3, snapshot },
      { type: 'status', snapshot },
      { type: 'alert', event: { change: 'cleared', time: 2, alert: snapshot.alerts[0] } },
    ]) assert.equal(validateManagerToClient(message), message);
    for (const message of [{ type: 'status_request', ref: 1 }, { type: 'watch', on: false }]) assert.equal(validateClientMessage(message), message);
  });

  it('refuses a snapshot with a wrong field, naming it', () => {
    const cases: Array<[string, unknown]> = [
      ['queue.boundReason', { ...snapshot, queue: { ...snapshot.queue, boundReason: 'other' } }],
      ['totals.rejected', { ...snapshot, totals: { ...snapshot.totals, rejected: { full: 'many' } } }],
      ['tasks[]', { ...snapshot, tasks: [{ name: 't' }] }],
      ['workers[]', { ...snapshot, workers: [{ id: 1 }] }],
      ['alerts', { ...snapshot, alerts: [{ kind: 'disk' }] }],
      ['healthy', { ...snapshot, healthy: 'yes' }],
    ];
    for (const [field, bad] of cases) {
      const result = validateManagerToClient({ type: 'status', snapshot: bad });
      assert.ok(result instanceof ProtocolError, `accepted a bad ${field}`);
      assert.ok(result.message.includes(field), `${result.message} names ${field}`);
    }
    assert.ok(validateClientMessage({ type: 'watch', on: 'yes' }) instanceof ProtocolError);
    assert.ok(validateClientMessage({ type: 'status_request', ref: -1 }) instanceof ProtocolError);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyError, ExpiredError } from './errors.js';

describe('BusyError', () => {
  it('carries what a caller decides on, and no stack trace', () => {
    const error = new BusyError('t1', 'latency', 120, 3);
    assert.equal(error.code, 'busy');
    assert.equal(error.name, 'BusyError');
    assert.equal(error.taskId, 't1');
    assert.equal(error.reason, 'latency');
    assert.equal(error.retryAfterMs, 120);
    assert.equal(error.attempts, 3);
    assert.ok(error instanceof Error);
    assert.equal(error.stack, `BusyError: ${error.message}`);
  });

  it('leaves stack capture as it found it for every other error', () => {
    const before = Error.stackTraceLimit;
    void new BusyError('t1', 'full', 1, 1);
    assert.equal(Error.stackTraceLimit, before);
    assert.match(new ExpiredError('t2').stack ?? '', /\n\s+at /);
  });
});

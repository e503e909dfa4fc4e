// The pure mapping from hints and client errors to HTTP answers: the details a real manager cannot
// be made to produce cheaply on demand (a 40 ms hint, a non-client error). The answers themselves
// are provoked for real in test/integration/gateway-*.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyResponse, retryAfterSeconds, taskErrorResponse } from './http-errors.js';

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, and never says 0', () => {
    assert.deepEqual([0, 40, 999, 1000, 1001, 1500, 2400].map(retryAfterSeconds), [1, 1, 1, 1, 2, 2, 3]);
  });
});

describe('busyResponse', () => {
  it('is 503 busy with the reason and the hint in the body, and Retry-After rounded up', () => {
    const answer = busyResponse('latency', 40, 'The task queue is full; retry later');
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfterSeconds, 1);
    assert.deepEqual(JSON.parse(answer.body), { error: { code: 'busy', message: 'The task queue is full; retry later', reason: 'latency', retryAfterMs: 40 } });
    assert.equal(busyResponse('full', 1500.2, 'm').retryAfterSeconds, 2);
    assert.equal(JSON.parse(busyResponse('full', 1500.2, 'm').body).error.retryAfterMs, 1501, 'whole milliseconds, rounded up');
  });

  it('escapes what it puts in the body', () => {
    const answer = busyResponse('a"b', 10, 'say "no"');
    assert.deepEqual(JSON.parse(answer.body).error, { code: 'busy', message: 'say "no"', reason: 'a"b', retryAfterMs: 10 });
  });
});

describe('taskErrorResponse', () => {
  it('leaves errors that are not the client\'s to the caller (answered 500 internal)', () => {
    assert.equal(taskErrorResponse(new RangeError('a bug'), false), undefined);
    assert.equal(taskErrorResponse('a string', false), undefined);
    assert.equal(taskErrorResponse(null, false), undefined);
  });

  it('shows the handler\'s stack only when asked to', () => {
    const error = { code: 'task_failed', remoteName: 'TypeError', remoteMessage: 'bad input', remoteStack: 'TypeError: bad input\n    at boom' };
    assert.deepEqual(JSON.parse(taskErrorResponse(error, false)!.body).error, { code: 'task_failed', message: 'bad input', name: 'TypeError' });
    assert.equal(JSON.parse(taskErrorResponse(error, true)!.body).error.stack, error.remoteStack);
  });

  it('answers a busy error without usable fields with defaults rather than failing', () => {
    const answer = taskErrorResponse({ code: 'busy' }, false)!;
    assert.equal(answer.status, 503);
    assert.deepEqual(JSON.parse(answer.body).error, { code: 'busy', message: 'The task queue is full; retry later', reason: 'full', retryAfterMs: 1000 });
  });

  it('maps a closing client to 503 unavailable with Retry-After, and a refused argument to 400', () => {
    const closing = taskErrorResponse({ code: 'client_closed' }, false)!;
    assert.equal(closing.status, 503);
    assert.equal(closing.code, 'unavailable');
    assert.equal(closing.retryAfterSeconds, 1);
    const refused = taskErrorResponse({ code: 'invalid_argument', message: 'Expected `id` …' }, false)!;
    assert.equal(refused.status, 400);
    assert.deepEqual(JSON.parse(refused.body).error, { code: 'invalid_request', message: 'Expected `id` …' });
  });
});

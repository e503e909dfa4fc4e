import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptRequestId, isJsonContentType, parseIdempotencyKey, parsePriorityHeader, parseTimeoutHeader, pathSegment, prefersAsync } from './request-headers.js';

const isError = (v: unknown): boolean => typeof v === 'object' && v !== null && (v as { code?: string }).code === 'invalid_header';

describe('request headers', () => {
  it('parses Sluice-Priority', () => {
    assert.equal(parsePriorityHeader(undefined), 5);
    assert.equal(parsePriorityHeader('HIGH'), 8);
    assert.equal(parsePriorityHeader(' low '), 2);
    assert.equal(parsePriorityHeader('0'), 0);
    for (const bad of ['', '10', '-1', 'urgent', '5.0']) assert.ok(isError(parsePriorityHeader(bad)), bad);
  });

  it('parses Sluice-Timeout-Ms', () => {
    assert.equal(parseTimeoutHeader(undefined), undefined);
    assert.equal(parseTimeoutHeader('2000'), 2000);
    assert.equal(parseTimeoutHeader('2147483647'), 2147483647);
    for (const bad of ['0', '-1', '1e3', '1.5', '2147483648', '', 'abc', '0100']) assert.ok(isError(parseTimeoutHeader(bad)), bad);
  });

  it('parses Idempotency-Key, quoted or not', () => {
    assert.equal(parseIdempotencyKey('abc'), 'abc');
    assert.equal(parseIdempotencyKey('"abc"'), 'abc');
    for (const bad of ['', '""', 'a b', 'é', 'x'.repeat(201)]) assert.ok(isError(parseIdempotencyKey(bad)), bad);
  });

  it('recognises Prefer: respond-async among other preferences', () => {
    assert.equal(prefersAsync('respond-async'), true);
    assert.equal(prefersAsync('return=minimal, Respond-Async; wait=10'), true);
    assert.equal(prefersAsync('respond-asyncx'), false);
    assert.equal(prefersAsync(undefined), false);
  });

  it('recognises JSON content types', () => {
    for (const ok of ['application/json', 'Application/JSON; charset=utf-8', 'application/problem+json']) assert.equal(isJsonContentType(ok), true, ok);
    for (const bad of [undefined, 'text/plain', 'text/json', 'application/jsonx', 'multipart/form-data']) assert.equal(isJsonContentType(bad), false, bad);
  });

  it('keeps only tame request ids', () => {
    assert.equal(acceptRequestId('abc-123'), 'abc-123');
    assert.equal(acceptRequestId('a\nb'), undefined);
    assert.equal(acceptRequestId('x'.repeat(129)), undefined);
  });

  it('decodes one path segment', () => {
    assert.equal(pathSegment('/v1/tasks/echo', 10, 256), 'echo');
    assert.equal(pathSegment('/v1/tasks/a%2Fb', 10, 256), 'a/b');
    assert.equal(pathSegment('/v1/tasks/', 10, 256), undefined);
    assert.equal(pathSegment('/v1/tasks/a/b', 10, 256), undefined);
    assert.equal(pathSegment('/v1/tasks/%E0%A4%A', 10, 256), undefined);
    assert.equal(pathSegment(`/v1/tasks/${'x'.repeat(257)}`, 10, 256), undefined);
  });
});

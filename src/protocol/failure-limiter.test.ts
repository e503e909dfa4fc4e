import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('refuses an address at its limit for the rest of its window, and only that address', () => {
    let now = 0;
    const limiter = new FailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 2; i++) limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.isRefused('10.0.0.1'), false);
    limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.isRefused('10.0.0.1'), true);
    assert.equal(limiter.isRefused('10.0.0.2'), false);
    now = 59_999;
    assert.equal(limiter.isRefused('10.0.0.1'), true);
    now = 60_000;
    assert.equal(limiter.isRefused('10.0.0.1'), false, 'a new window starts clean');
    limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.isRefused('10.0.0.1'), false);
  });

  it('tracks a bounded number of addresses, forgetting the least recently failing', () => {
    const limiter = new FailureLimiter(1, 60_000, () => 0, 100);
    for (let i = 0; i < 1_000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(limiter.size, 100);
    assert.equal(limiter.isRefused('10.0.3.231'), true, 'the latest is remembered');
    assert.equal(limiter.isRefused('10.0.0.0'), false, 'the oldest is forgotten');
  });

  it('limits nothing at 0', () => {
    const limiter = new FailureLimiter(0, 60_000, () => 0);
    for (let i = 0; i < 10; i++) limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.isRefused('10.0.0.1'), false);
    assert.equal(limiter.size, 0);
  });
});

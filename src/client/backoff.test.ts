import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { busyRetryDelay, jitteredBackoff } from './backoff.js';

describe('backoff', () => {
  it('full jitter: uniform below a ceiling that doubles from baseMs up to maxMs', () => {
    assert.equal(jitteredBackoff(0, 25, 5_000, () => 0.999_999) < 25, true);
    assert.equal(jitteredBackoff(3, 25, 5_000, () => 0.5), 100); // 0.5 · 25·2³
    assert.equal(jitteredBackoff(30, 25, 5_000, () => 0.5), 2_500); // capped at maxMs
    assert.equal(jitteredBackoff(2_000, 25, 5_000, () => 1), 5_000); // 2^2000 is Infinity: still capped
    assert.equal(jitteredBackoff(5, 25, 5_000, () => 0), 0);
  });

  it('a busy retry is never sooner than the hint and never later than max(hint, maxMs)', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(100), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (hint, retries, r) => {
        const delay = busyRetryDelay(hint, retries, { baseMs: 25, maxMs: 5_000, maxRetries: 50 }, () => r);
        assert.ok(delay >= hint);
        assert.ok(delay <= Math.max(hint, 5_000));
      }),
    );
  });
});

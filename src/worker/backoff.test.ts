import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    assert.equal(backoffDelay(0, 100, 5_000, () => 0.999), 99);
    assert.equal(backoffDelay(3, 100, 5_000, () => 0.999), 799);
    assert.equal(backoffDelay(10, 100, 5_000, () => 0.999), 4_995);
    assert.equal(backoffDelay(3, 100, 5_000, () => 0), 0);
  });

  it('stays within [0, min(max, base·2^attempt)) for any attempt', () => {
    fc.assert(fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 600_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, max, r) => {
      const delay = backoffDelay(attempt, base, max, () => r);
      assert.ok(Number.isInteger(delay) && delay >= 0 && delay < Math.max(1, Math.min(max, base * 2 ** Math.min(attempt, 30))));
    }));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pickWorker, type SchedulableWorker } from './pick-worker.js';

interface W extends SchedulableWorker { readonly id: string }
const w = (id: string, freeSlots: number, recentServiceMs?: number, prefetch = 0): W => ({ id, freeSlots, recentServiceMs, prefetch });

describe('pickWorker', () => {
  it('picks the worker with the most free slots', () => {
    assert.equal(pickWorker([w('a', 1, 5), w('b', 3, 50), w('c', 2, 1)])?.id, 'b');
  });

  it('breaks ties by the lowest recent service time', () => {
    assert.equal(pickWorker([w('a', 2, 30), w('b', 2, 10), w('c', 2, 20)])?.id, 'b');
  });

  it('prefers a worker not yet measured among equals, so a new node gets tried', () => {
    assert.equal(pickWorker([w('a', 2, 1), w('new', 2)])?.id, 'new');
    assert.equal(pickWorker([w('new', 2), w('a', 2, 1)])?.id, 'new');
    assert.equal(pickWorker([w('x', 2), w('y', 2)])?.id, 'x', 'the first of equals');
  });

  it('never picks a full worker (capacity may drop below running)', () => {
    assert.equal(pickWorker([w('a', 0, 1), w('b', -2)]), undefined);
    assert.equal(pickWorker([]), undefined);
    assert.equal(pickWorker(new Set([w('a', 0), w('b', 1, 99)]))?.id, 'b');
  });

  it('property: returns a worker with maximal free slots > 0, or undefined only if all are full', () => {
    const worker = fc.record({
      id: fc.string(),
      freeSlots: fc.integer({ min: -2, max: 5 }),
      recentServiceMs: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(worker, { maxLength: 12 }), (workers) => {
      const picked = pickWorker(workers);
      const max = Math.max(0, ...workers.map((x) => x.freeSlots));
      if (picked === undefined) {
        assert.ok(workers.every((x) => x.freeSlots <= 0));
        return;
      }
      assert.ok(workers.includes(picked));
      assert.ok(picked.freeSlots > 0);
      assert.equal(picked.freeSlots, max);
      const tied = workers.filter((x) => x.freeSlots === max);
      if (picked.recentServiceMs !== undefined) {
        assert.ok(tied.every((x) => x.recentServiceMs !== undefined && x.recentServiceMs >= picked.recentServiceMs!));
      }
    }), { numRuns: 500 });
  });

  it('uses prefetch room only when no worker has a free slot', () => {
    assert.equal(pickWorker([w('held', 0, 1, 2), w('free', 1, 99)])?.id, 'free');
    assert.equal(pickWorker([w('held', 0, 1, 2), w('full', 0, 1)])?.id, 'held');
    assert.equal(pickWorker([w('a', -1, 1, 2), w('b', 0, 50, 1)])?.id, 'b', 'the one holding fewer first');
    assert.equal(pickWorker([w('a', -2, 1, 2), w('b', -1, 50, 1)]), undefined, 'no room left');
  });

  it('property: a free slot anywhere wins over prefetch room; room is never exceeded', () => {
    const worker = fc.record({
      id: fc.string(),
      freeSlots: fc.integer({ min: -3, max: 4 }),
      prefetch: fc.integer({ min: 0, max: 3 }),
      recentServiceMs: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(worker, { maxLength: 12 }), (workers) => {
      const picked = pickWorker(workers);
      const eligible = workers.filter((x) => x.freeSlots + x.prefetch > 0);
      if (picked === undefined) {
        assert.equal(eligible.length, 0);
        return;
      }
      assert.ok(picked.freeSlots + picked.prefetch! > 0, 'within capacity + prefetch');
      if (workers.some((x) => x.freeSlots > 0)) assert.ok(picked.freeSlots > 0, 'never held while a slot is free elsewhere');
      assert.equal(picked.freeSlots, Math.max(...eligible.map((x) => x.freeSlots)));
    }), { numRuns: 1_000 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JobStore, type StoredJob } from './job-store.js';

const job = (key: string): StoredJob => ({ key, finishedAt: -1 });

describe('JobStore', () => {
  it('keeps finished jobs for their TTL, then forgets them', () => {
    const store = new JobStore<StoredJob>(10, 100);
    const a = job('a');
    assert.equal(store.add(a, 0), true);
    store.finish(a, 50);
    assert.equal(store.get('a', 149), a);
    assert.equal(store.get('a', 150), undefined);
    assert.equal(store.size, 0);
    assert.equal(store.evicted, 1);
  });

  it('never expires unfinished jobs', () => {
    const store = new JobStore<StoredJob>(10, 100);
    store.add(job('a'), 0);
    assert.ok(store.get('a', 1_000_000));
  });

  it('evicts the oldest finished job (by finishing time) when full', () => {
    const store = new JobStore<StoredJob>(3, 1_000);
    const [a, b, c] = [job('a'), job('b'), job('c')];
    for (const j of [a, b, c]) store.add(j, 0);
    store.finish(b, 1);
    store.finish(a, 2);
    assert.equal(store.add(job('d'), 3), true);
    assert.equal(store.get('b', 3), undefined, 'b finished first');
    assert.ok(store.get('a', 3));
    assert.ok(store.get('c', 3));
  });

  it('refuses a new job when every job held is unfinished', () => {
    const store = new JobStore<StoredJob>(2, 1_000);
    store.add(job('a'), 0);
    store.add(job('b'), 0);
    assert.equal(store.hasRoom(0), false);
    assert.equal(store.add(job('c'), 0), false);
    assert.equal(store.size, 2);
  });

  it('makes room by TTL before refusing', () => {
    const store = new JobStore<StoredJob>(1, 10);
    const a = job('a');
    store.add(a, 0);
    store.finish(a, 0);
    assert.equal(store.add(job('b'), 20), true);
    assert.equal(store.size, 1);
  });

  it('deletes only the job it was given', () => {
    const store = new JobStore<StoredJob>(2, 10);
    const a = job('a');
    store.add(a, 0);
    store.delete(job('a'));
    assert.equal(store.get('a', 0), a);
    store.delete(a);
    assert.equal(store.get('a', 0), undefined);
  });

  it('holds at most maxJobs, never drops an unfinished job, and serves finished ones within their TTL (property)', () => {
    const command = fc.oneof(
      fc.record({ op: fc.constant('add' as const) }),
      fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 50 }), fc.array(command, { maxLength: 150 }), (maxJobs, ttl, commands) => {
        const store = new JobStore<StoredJob>(maxJobs, ttl);
        // The model: every job ever added that was not deleted, with its state.
        const live = new Map<string, StoredJob>();
        let now = 0;
        let next = 0;
        for (const c of commands) {
          if (c.op === 'tick') now += c.ms;
          else if (c.op === 'add') {
            const j = job(`j${next++}`);
            const unfinished = [...live.values()].filter((x) => x.finishedAt < 0).length;
            const added = store.add(j, now);
            if (unfinished >= maxJobs) assert.equal(added, false, 'refused only when full of unfinished jobs');
            if (added) live.set(j.key, j);
          } else {
            const keys = [...live.keys()];
            if (keys.length === 0) continue;
            const j = live.get(keys[c.pick % keys.length]!)!;
            if (c.op === 'finish') store.finish(j, now);
            else {
              store.delete(j);
              live.delete(j.key);
            }
          }
          assert.ok(store.size <= maxJobs);
          for (const j of live.values()) {
            const got = store.get(j.key, now);
            if (j.finishedAt < 0) assert.equal(got, j, 'unfinished jobs are never dropped');
            else if (got === undefined) live.delete(j.key);
            else assert.ok(j.finishedAt + ttl > now, 'nothing is served past its TTL');
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

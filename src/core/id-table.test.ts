import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdTable } from './id-table.js';

describe('IdTable', () => {
  it('sets, gets, counts and deletes', () => {
    const table = new IdTable<{ n: number }>();
    assert.equal(table.size, 0);
    table.set('a', { n: 1 }).set('b', { n: 2 });
    table.set('a', { n: 3 });
    assert.equal(table.size, 2);
    assert.deepEqual(table.get('a'), { n: 3 });
    assert.equal(table.has('b'), true);
    assert.equal(table.delete('b'), true);
    assert.equal(table.delete('b'), false);
    assert.equal(table.has('b'), false);
    assert.equal(table.get('b'), undefined);
    assert.equal(table.size, 1);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get('a'), undefined);
  });

  it('takes any string as a key, prototype names included, and leaves Object.prototype alone', () => {
    const table = new IdTable<string>();
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) {
      assert.equal(table.get(id), undefined, id);
      table.set(id, `v-${id}`);
      assert.equal(table.get(id), `v-${id}`);
    }
    assert.equal(table.size, 5);
    assert.deepEqual([...table.keys()], ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '']);
    assert.equal(({} as Record<string, unknown>)['constructor'], Object);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });

  it('visits entries in insertion order, integer keys as given', () => {
    const tokens = new IdTable<number>();
    for (const token of [30, 2, 1_000_000, 7]) tokens.set(token, token * 10);
    assert.deepEqual([...tokens.values()], [300, 20, 10_000_000, 70]);
    assert.deepEqual([...tokens.keys()], [30, 2, 1_000_000, 7]);
    const ids = new IdTable<number>();
    for (const [i, id] of ['z', 'b', 'x'].entries()) ids.set(id, i);
    assert.deepEqual([...ids.values()], [0, 1, 2]);
  });

  it('keeps its count through churn and reuses emptied slots', () => {
    const table = new IdTable<{ i: number }>();
    for (let i = 0; i < 10_000; i++) {
      table.set(i, { i });
      if (i >= 100) table.delete(i - 100);
    }
    assert.equal(table.size, 100);
    assert.deepEqual([...table.values()].map((v) => v.i), Array.from({ length: 100 }, (_, k) => 9_900 + k));
    assert.equal(table.get(9_950)?.i, 9_950);
    assert.equal(table.get(50), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IndexedHeap, type HeapItem } from './indexed-heap.js';

interface Item extends HeapItem { id: number }
type Op =
  | { kind: 'push'; dueAt: number }
  | { kind: 'pop' }
  | { kind: 'remove'; pick: number }
  | { kind: 'update'; pick: number; dueAt: number }
  | { kind: 'rekey'; pick: number; dueAt: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), dueAt: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant('pop' as const) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), dueAt: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant('rekey' as const), pick: fc.nat(), dueAt: fc.integer({ min: 0, max: 50 }) }),
);

const earliest = (items: Iterable<Item>): number => Math.min(...[...items].map((i) => i.dueAt));

describe('IndexedHeap', () => {
  it('behaves like a sorted list under any sequence of push/pop/remove/update/re-key', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const heap = new IndexedHeap<Item>();
      const model = new Set<Item>();
      const all: Item[] = [];
      let nextId = 0;
      for (const o of ops) {
        if (o.kind === 'push') {
          const item: Item = { id: nextId++, dueAt: o.dueAt, heapIndex: -1 };
          all.push(item);
          heap.push(item);
          model.add(item);
        } else if (o.kind === 'pop') {
          const min = earliest(model);
          const popped = heap.pop();
          if (model.size === 0) assert.equal(popped, undefined);
          else {
            assert.ok(popped !== undefined && model.has(popped));
            assert.equal(popped.dueAt, min, 'pop returns an earliest item');
            assert.equal(popped.heapIndex, -1);
            model.delete(popped);
          }
        } else if (all.length > 0) {
          const item = all[o.pick % all.length]!;
          if (o.kind === 'remove') {
            assert.equal(heap.remove(item), model.has(item));
            assert.equal(heap.remove(item), false, 'a second remove is a no-op');
            model.delete(item);
          } else if (o.kind === 'update') {
            heap.update(item, o.dueAt); // adds the item when it is out of the heap
            model.add(item);
          } else {
            item.dueAt = o.dueAt;
            heap.push(item); // re-keys an item already in the heap, adds one that is not
            model.add(item);
          }
        }
        assert.equal(heap.size, model.size);
        const top = heap.peek();
        if (model.size > 0) assert.equal(top?.dueAt, earliest(model));
        for (const item of all) assert.equal(heap.has(item), model.has(item));
      }
      const drained: number[] = [];
      for (let item = heap.pop(); item !== undefined; item = heap.pop()) drained.push(item.dueAt);
      assert.deepEqual(drained, [...model].map((i) => i.dueAt).sort((a, b) => a - b));
    }), { numRuns: 300 });
  });

  it('clear() empties the heap and marks every item as out of it', () => {
    const heap = new IndexedHeap<Item>();
    const items = [3, 1, 2].map((dueAt, id) => ({ dueAt, heapIndex: -1, id }));
    for (const item of items) heap.push(item);
    assert.equal(heap.clear().length, 3);
    assert.equal(heap.size, 0);
    assert.ok(items.every((i) => i.heapIndex === -1 && !heap.has(i)));
  });

  it('does not mistake an item of another heap for one of its own', () => {
    const a = new IndexedHeap<Item>();
    const b = new IndexedHeap<Item>();
    const inA: Item = { id: 0, dueAt: 1, heapIndex: -1 };
    b.push({ id: 1, dueAt: 2, heapIndex: -1 });
    a.push(inA);
    assert.equal(b.has(inA), false);
    assert.equal(b.remove(inA), false);
    assert.equal(b.size, 1);
  });
});

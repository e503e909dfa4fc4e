import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WaitList, type WaitListItem } from './wait-list.js';

interface Item extends WaitListItem<Item> {
  n: number;
}
const item = (n: number): Item => ({ n, prev: undefined, next: undefined, listed: false });

describe('WaitList', () => {
  it('is FIFO and removes from any position in O(1)', () => {
    const list = new WaitList<Item>();
    const items = [1, 2, 3, 4, 5].map(item);
    for (const i of items) list.push(i);
    list.remove(items[2]!); // middle
    list.remove(items[0]!); // head
    list.remove(items[4]!); // tail
    list.remove(items[4]!); // twice: no-op
    assert.equal(list.size, 2);
    list.push(item(6));
    assert.deepEqual(list.drain().map((i) => i.n), [2, 4, 6]);
    assert.equal(list.size, 0);
    assert.equal(list.shift(), undefined);
    assert.ok(items.every((i) => !i.listed && i.prev === undefined && i.next === undefined));
  });
});

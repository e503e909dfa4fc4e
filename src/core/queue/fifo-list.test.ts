import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FifoList, type ListNode } from './fifo-list.js';

class N implements ListNode<N> {
  prev: N | undefined;
  next: N | undefined;
  constructor(readonly label: string) {}
}

const labels = (list: FifoList<N>): string[] => [...list].map((n) => n.label);

describe('FifoList', () => {
  it('adds at both ends and removes any node in O(1)', () => {
    const list = new FifoList<N>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => new N(l)) as [N, N, N, N];
    list.pushBack(b);
    list.pushBack(c);
    list.pushFront(a);
    list.pushBack(d);
    assert.deepEqual(labels(list), ['a', 'b', 'c', 'd']);
    list.remove(c);
    assert.deepEqual(labels(list), ['a', 'b', 'd']);
    list.remove(a);
    list.remove(d);
    assert.equal(list.head, b);
    assert.equal(list.tail, b);
    assert.equal(list.size, 1);
    list.remove(b);
    assert.equal(list.head, undefined);
    assert.equal(list.tail, undefined);
    assert.equal(list.size, 0);
    assert.ok([a, b, c, d].every((n) => n.prev === undefined && n.next === undefined));
  });
});

/** Links owned by the list a node is in; both undefined while it is in none (or alone in one). */
export interface ListNode<N> {
  prev: N | undefined;
  next: N | undefined;
}

/**
 * Intrusive doubly linked list: the links live in the nodes, so adding at either end and removing
 * any node are O(1) without allocating.
 *
 *   head ─► n1 ⇄ n2 ⇄ n3 ◄─ tail        head.prev === undefined, tail.next === undefined
 *
 * A node is in at most one list at a time; `remove(node)` trusts the caller that it is in this one.
 */
export class FifoList<N extends ListNode<N>> {
  #head: N | undefined;
  #tail: N | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get head(): N | undefined {
    return this.#head;
  }

  get tail(): N | undefined {
    return this.#tail;
  }

  pushBack(node: N): void {
    node.prev = this.#tail;
    node.next = undefined;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#size++;
  }

  pushFront(node: N): void {
    node.next = this.#head;
    node.prev = undefined;
    if (this.#head === undefined) this.#tail = node;
    else this.#head.prev = node;
    this.#head = node;
    this.#size++;
  }

  remove(node: N): void {
    if (node.prev === undefined) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#size--;
  }

  *[Symbol.iterator](): IterableIterator<N> {
    for (let node = this.#head; node !== undefined; node = node.next) yield node;
  }
}

/**
 * A FIFO of items waiting for an in-flight slot, linked through the items themselves so that
 * joining, leaving from the middle (abort, deadline) and taking the head are O(1) and allocate
 * nothing.
 *
 *   head → a ⇄ b ⇄ c ← tail      an item is in the list iff `listed` is true
 */
export interface WaitListItem<T> {
  prev: T | undefined;
  next: T | undefined;
  listed: boolean;
}

export class WaitList<T extends WaitListItem<T>> {
  #head: T | undefined;
  #tail: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    item.prev = this.#tail;
    item.next = undefined;
    item.listed = true;
    if (this.#tail === undefined) this.#head = item;
    else this.#tail.next = item;
    this.#tail = item;
    this.#size++;
  }

  shift(): T | undefined {
    const head = this.#head;
    if (head !== undefined) this.remove(head);
    return head;
  }

  remove(item: T): void {
    if (!item.listed) return;
    if (item.prev === undefined) this.#head = item.next;
    else item.prev.next = item.next;
    if (item.next === undefined) this.#tail = item.prev;
    else item.next.prev = item.prev;
    item.prev = undefined;
    item.next = undefined;
    item.listed = false;
    this.#size--;
  }

  /** Removes and returns every item, in order. */
  drain(): T[] {
    const items: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) items.push(item);
    return items;
  }
}

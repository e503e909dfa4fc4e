/**
 * Binary min-heap on `dueAt` whose items remember their position (`heapIndex`), so removing or
 * re-keying any item is O(log n) instead of a scan. Owners keep one timer for the earliest item
 * instead of one timer per item (the worker pool's running slots, the client's deadlines and busy
 * wake-ups, the admission queue's deadlines).
 *
 *   items: [ a(0) | b(1) c(2) | d(3) e(4) f(5) g(6) ]   parent(i) = (i-1)>>1, children 2i+1, 2i+2
 *
 * Invariants: items[i].heapIndex === i while the item is in the heap, -1 once it is out of it;
 * no item is due before its parent. Pure: no timers here, the owner asks `peek()` what is due.
 */
export interface HeapItem {
  /** When the item is due, in any monotonic clock. */
  dueAt: number;
  /** Position in the heap, -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Checks the slot as well as the index, so an item of another heap is never mistaken for ours. */
  has(item: T): boolean {
    return item.heapIndex >= 0 && this.#items[item.heapIndex] === item;
  }

  /** Adds `item` at `item.dueAt`; an item already in the heap is re-keyed instead. */
  push(item: T): void {
    if (this.has(item)) {
      this.#down(this.#up(item.heapIndex));
      return;
    }
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Sets a new `dueAt` and restores order; adds the item if it was not in the heap. */
  update(item: T, dueAt: number): void {
    item.dueAt = dueAt;
    this.push(item);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  /** Removes `item` if present; returns whether it was. */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    this.#removeAt(item.heapIndex);
    return true;
  }

  /** Empties the heap, marking every item as out of it; returns them in heap (not due) order. */
  clear(): T[] {
    const items = this.#items.splice(0);
    for (const item of items) item.heapIndex = -1;
    return items;
  }

  #removeAt(index: number): void {
    const items = this.#items;
    const removed = items[index]!;
    const last = items.pop()!;
    removed.heapIndex = -1;
    if (last === removed) return;
    items[index] = last;
    last.heapIndex = index;
    this.#down(this.#up(index));
  }

  /** Moves the item at `start` towards the root while it is due before its parent; returns where it ended. */
  #up(start: number): number {
    const items = this.#items;
    const item = items[start]!;
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (parent.dueAt <= item.dueAt) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = item;
    item.heapIndex = i;
    return i;
  }

  #down(start: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[start]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && items[right]!.dueAt < items[child]!.dueAt) child = right;
      const c = items[child]!;
      if (item.dueAt <= c.dueAt) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}

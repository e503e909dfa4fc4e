/**
 * A table of live entries keyed by an id (a task id, an attempt token), for entries that come and
 * go at the task rate: the client's, the manager's and the worker node's tasks in flight.
 *
 * Why not a Map: V8 rebuilds a Map's hash table whenever deleted entries fill it, and a discarded
 * table that has reached the old generation keeps every value it held reachable for the young
 * generation's collector until the next full collection. Under churn nearly every entry is in some
 * discarded table, so nearly every task's objects survive two young collections and are promoted:
 * a Map holding 100 live entries of a stream of short-lived objects measured 6–8 MB surviving
 * each scavenge and 4–6 ms pauses, where a table that cannot keep removed values alive measured
 * 0.45 MB — the live entries — and 0.5 ms.
 *
 * So the Map here maps ids to slot numbers only, and the values live in an array whose slot is
 * emptied the moment its entry is deleted: a discarded table can then keep nothing but the id
 * strings alive. (A null-prototype object as the table avoids the problem too, but costs five
 * times as much per fresh string key, which it must intern.) Values are never `undefined`;
 * iteration follows insertion order.
 */
export class IdTable<V> {
  /** id → index into #values. Only numbers: a discarded hash table can keep nothing else alive. */
  readonly #index = new Map<string | number, number>();
  /** The values, each in a slot that is emptied when its entry goes. */
  readonly #values: (V | undefined)[] = [];
  /** Empty slots of #values, reused first. */
  readonly #free: number[] = [];

  get size(): number {
    return this.#index.size;
  }

  get(id: string | number): V | undefined {
    const at = this.#index.get(id);
    return at === undefined ? undefined : this.#values[at];
  }

  has(id: string | number): boolean {
    return this.#index.has(id);
  }

  set(id: string | number, value: V): this {
    const at = this.#index.get(id);
    if (at !== undefined) {
      this.#values[at] = value;
      return this;
    }
    const slot = this.#free.pop() ?? this.#values.length;
    this.#values[slot] = value;
    this.#index.set(id, slot);
    return this;
  }

  delete(id: string | number): boolean {
    const at = this.#index.get(id);
    if (at === undefined) return false;
    this.#index.delete(id);
    this.#values[at] = undefined;
    this.#free.push(at);
    return true;
  }

  clear(): void {
    this.#index.clear();
    this.#values.length = 0;
    this.#free.length = 0;
  }

  *values(): IterableIterator<V> {
    for (const at of this.#index.values()) yield this.#values[at] as V;
  }

  *keys(): IterableIterator<string | number> {
    yield* this.#index.keys();
  }
}

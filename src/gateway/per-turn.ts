/**
 * Gathers items over one event-loop turn and hands each over from a single setImmediate, once the
 * turn's I/O callbacks have run. The gateway uses it on both sides of a task: the requests of a
 * turn enter the client together, and their answers leave together (see AnswerBatch). Nothing
 * waits longer than the rest of the current turn.
 */
export class PerTurn<T> {
  readonly #each: (item: T) => void;
  #items: T[] = [];
  #scheduled = false;
  readonly #onImmediate = (): void => this.flush();

  constructor(each: (item: T) => void) {
    this.#each = each;
  }

  add(item: T): void {
    this.#items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onImmediate);
    }
  }

  /** Hands over everything gathered so far, now. */
  flush(): void {
    this.#scheduled = false;
    const items = this.#items;
    this.#items = [];
    for (const item of items) this.#each(item);
  }
}

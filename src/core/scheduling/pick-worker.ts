export interface SchedulableWorker {
  /** Slots the worker can take now; 0 or less means all busy (capacity may drop below running). */
  readonly freeSlots: number;
  /**
   * Tasks the worker will hold beyond its slots, starting each the moment a slot frees; 0 while
   * it takes no work at all (draining). Optional: absent = 0.
   */
  readonly prefetch?: number;
  /** Recent service time (ms) on this worker; undefined until it finished a task. */
  readonly recentServiceMs: number | undefined;
}

/**
 * The worker with the most free slots, ties broken by the lowest recent service time. A worker not
 * yet measured wins its ties, so a node that just joined gets tried and measured. Among equals the
 * first one iterated wins.
 *
 * A worker whose slots are all busy is picked only while it has prefetch room
 * (freeSlots + prefetch > 0), and only when no worker has a free slot: free slots rank by their
 * count, so any worker with one outranks every worker without. A held task therefore never waits
 * on a busy node while another node idles. Undefined when no worker has slot or room.
 */
export function pickWorker<W extends SchedulableWorker>(workers: Iterable<W>): W | undefined {
  let best: W | undefined;
  for (const worker of workers) {
    if (worker.freeSlots + (worker.prefetch ?? 0) <= 0) continue;
    if (best === undefined || worker.freeSlots > best.freeSlots || (worker.freeSlots === best.freeSlots && faster(worker, best))) {
      best = worker;
    }
  }
  return best;
}

function faster(a: SchedulableWorker, b: SchedulableWorker): boolean {
  if (b.recentServiceMs === undefined) return false;
  return a.recentServiceMs === undefined || a.recentServiceMs < b.recentServiceMs;
}

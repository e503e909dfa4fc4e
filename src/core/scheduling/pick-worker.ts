export interface SchedulableWorker {
  /** Slots the worker can take now; 0 or less means full (capacity may drop below running). */
  readonly freeSlots: number;
  /** Recent service time (ms) on this worker; undefined until it finished a task. */
  readonly recentServiceMs: number | undefined;
}

/**
 * The worker with the most free slots, ties broken by the lowest recent service time. A worker not
 * yet measured wins its ties, so a node that just joined gets tried and measured. Among equals the
 * first one iterated wins. Never returns a full worker; undefined when all are full.
 */
export function pickWorker<W extends SchedulableWorker>(workers: Iterable<W>): W | undefined {
  let best: W | undefined;
  for (const worker of workers) {
    if (worker.freeSlots <= 0) continue;
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

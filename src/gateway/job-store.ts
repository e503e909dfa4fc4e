/** What the store needs of a job: its key and whether (and when) it finished. */
export interface StoredJob {
  readonly key: string;
  /** Time it finished (store clock, ms); -1 while unfinished. */
  finishedAt: number;
}

/**
 * Bounded, TTL-limited store of jobs. Pure: time is passed in (a monotonic clock, ms).
 *
 *   #jobs      every job, by key
 *   #finished  finished jobs only, in finishing order: the head is the oldest, so both the TTL
 *              sweep and eviction take from the head and stop at the first job still valid
 *
 * At most `maxJobs` are held. A new job evicts the oldest finished one when full; when every job
 * held is unfinished the store refuses (`add` returns false) and the gateway answers 503 — it
 * never grows past its bound. Unfinished jobs are not evicted: someone may still wait on them.
 */
export class JobStore<J extends StoredJob> {
  readonly #jobs = new Map<string, J>();
  readonly #finished = new Map<string, J>();
  readonly #maxJobs: number;
  readonly #ttlMs: number;
  /** Jobs dropped by TTL or eviction, for metrics. */
  evicted = 0;

  constructor(maxJobs: number, ttlMs: number) {
    this.#maxJobs = maxJobs;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#jobs.size;
  }

  get unfinished(): number {
    return this.#jobs.size - this.#finished.size;
  }

  /** The job under `key`, unless it is unknown or outlived its TTL. */
  get(key: string, now: number): J | undefined {
    const job = this.#jobs.get(key);
    if (job === undefined) return undefined;
    if (job.finishedAt >= 0 && job.finishedAt + this.#ttlMs <= now) {
      this.sweep(now);
      return undefined;
    }
    return job;
  }

  /** Whether `add` would succeed now (nothing is changed). */
  hasRoom(now: number): boolean {
    if (this.#jobs.size < this.#maxJobs) return true;
    this.sweep(now);
    return this.#jobs.size < this.#maxJobs || this.#finished.size > 0;
  }

  /** Adds an unfinished job; false (nothing added) when the store is full of unfinished jobs. */
  add(job: J, now: number): boolean {
    if (this.#jobs.has(job.key)) throw new Error(`job ${job.key} is already stored`);
    if (this.#jobs.size >= this.#maxJobs) {
      this.sweep(now);
      if (this.#jobs.size >= this.#maxJobs) {
        const oldest = this.#finished.values().next();
        if (oldest.done === true) return false;
        this.#remove(oldest.value);
        this.evicted++;
      }
    }
    this.#jobs.set(job.key, job);
    return true;
  }

  /** Marks `job` finished now; its TTL starts. */
  finish(job: J, now: number): void {
    if (this.#jobs.get(job.key) !== job || job.finishedAt >= 0) return;
    job.finishedAt = now;
    this.#finished.set(job.key, job);
  }

  /** Forgets `job` (a refused task leaves no trace, so a retry runs it). */
  delete(job: J): void {
    if (this.#jobs.get(job.key) === job) this.#remove(job);
  }

  /** Drops every finished job whose TTL has passed. */
  sweep(now: number): void {
    for (const job of this.#finished.values()) {
      if (job.finishedAt + this.#ttlMs > now) return;
      this.#remove(job);
      this.evicted++;
    }
  }

  /** Every job still held, oldest first. */
  values(): IterableIterator<J> {
    return this.#jobs.values();
  }

  #remove(job: J): void {
    this.#jobs.delete(job.key);
    this.#finished.delete(job.key);
  }
}

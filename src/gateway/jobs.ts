import type { ServerResponse } from 'node:http';
import type { Priority } from '../core/priority.js';
import type { RunOptions } from '../client/index.js';
import { CALLER_GONE, CANCELLED, GatewayAbort, TaskCall, localRefusal, now, requestLogger, type GatewayContext } from './context.js';
import { busyResponse, errorResponse, taskErrorResponse, type ErrorResponse } from './http-errors.js';
import { JobStore, type StoredJob } from './job-store.js';
import { sendError, sendJson } from './responses.js';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'expired' | 'cancelled';

/**
 * A task the gateway remembers: an async job (`Prefer: respond-async`) or a call made with an
 * `Idempotency-Key` (so a retried POST attaches to it, or replays its answer, instead of running
 * the task again). Its `key` is also the task id on the wire.
 *
 *   queued ──started──► running ──► completed | failed | expired | cancelled   (kept for the TTL)
 *      └──────────────────┴──► busy / caller gone / shutdown: forgotten, so a retry runs it
 */
export class Job implements StoredJob {
  finishedAt = -1;
  state: JobState = 'queued';
  readonly call = new TaskCall();
  /** The final answer as a synchronous caller gets it: 200 `{"result":…}` or an error. */
  status = 0;
  body = '';
  error: ErrorResponse | undefined = undefined;
  /** Synchronous callers waiting, with their request ids. */
  readonly waiters = new Map<ServerResponse, string>();

  constructor(
    readonly key: string,
    readonly id: string,
    readonly name: string,
    readonly priority: Priority,
    readonly fingerprint: string | undefined,
    /** An async POST asked for it: it lives on when its synchronous callers leave. */
    public detached: boolean,
  ) {}

  get finished(): boolean {
    return this.finishedAt >= 0;
  }

  /** `running` comes from the manager's `started` notice, read through the client's handle. */
  get currentState(): JobState {
    return this.state === 'queued' && this.call.handle?.started === true ? 'running' : this.state;
  }

  /** The GET /v1/jobs/{id} body. */
  describe(): string {
    const head = `{"id":${JSON.stringify(this.id)},"name":${JSON.stringify(this.name)},"state":"${this.currentState}"`;
    if (!this.finished) return `${head}}`;
    // `body` is `{"result":…}` or `{"error":…}`: splice its member in.
    return `${head},${this.body.slice(1)}`;
  }
}

export interface JobRequest {
  key: string;
  id: string;
  name: string;
  args: unknown;
  fingerprint: string | undefined;
  priority: Priority;
  timeoutMs: number | undefined;
  respondAsync: boolean;
}

/** The job store and the routes on it: POST (async or idempotent), GET and DELETE /v1/jobs/{id}. */
export class Jobs {
  readonly store: JobStore<Job>;
  readonly #ctx: GatewayContext;

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
    this.store = new JobStore<Job>(ctx.options.maxJobs, ctx.options.jobTtlMs);
  }

  /** A POST with `Prefer: respond-async` or `Idempotency-Key`, its body already parsed. */
  post(res: ServerResponse, reqId: string, request: JobRequest): void {
    const ctx = this.#ctx;
    const t = now();
    const existing = this.store.get(request.key, t);
    if (existing !== undefined) {
      if (existing.fingerprint !== request.fingerprint) {
        sendError(res, ctx.metrics, errorResponse('idempotency_key_reused', 'This Idempotency-Key was used for a different task or body'), reqId);
      } else if (request.respondAsync) {
        existing.detached = true;
        this.#accepted(res, reqId, existing);
      } else if (existing.finished) {
        this.#answer(res, reqId, existing);
      } else {
        this.#attach(res, reqId, existing);
      }
      return;
    }
    if (!this.store.hasRoom(t)) {
      ctx.metrics.countLocalBusy('jobs_full');
      sendError(res, ctx.metrics, busyResponse('jobs_full', 1000, 'The gateway holds as many jobs as it may; retry later'), reqId);
      return;
    }
    if (!request.respondAsync && ctx.pending >= ctx.maxPending) {
      sendError(res, ctx.metrics, localRefusal(ctx, request.priority, true) ?? busyResponse('gateway_full', 1000, 'The task queue is full; retry later'), reqId);
      return;
    }
    const job = new Job(request.key, request.id, request.name, request.priority, request.fingerprint, request.respondAsync);
    this.store.add(job, t);
    this.#start(job, request);
    if (request.respondAsync) this.#accepted(res, reqId, job);
    else this.#attach(res, reqId, job);
  }

  get(res: ServerResponse, reqId: string, key: string): void {
    const job = this.store.get(key, now());
    if (job === undefined) sendError(res, this.#ctx.metrics, notFound(), reqId);
    else sendJson(res, this.#ctx.metrics, 200, job.describe(), reqId);
  }

  delete(res: ServerResponse, reqId: string, key: string): void {
    const metrics = this.#ctx.metrics;
    const job = this.store.get(key, now());
    if (job === undefined) {
      sendError(res, metrics, notFound(), reqId);
    } else if (job.finished || job.state === 'cancelled') {
      sendError(res, metrics, errorResponse('job_finished', `Job ${job.id} has already finished (${job.currentState})`, { state: job.currentState }), reqId);
    } else {
      job.state = 'cancelled';
      job.call.cancel(CANCELLED);
      sendJson(res, metrics, 202, job.describe(), reqId);
    }
  }

  /** Cancels every unfinished job (on close): their callers get 503 `unavailable`. */
  abortAll(reason: GatewayAbort): void {
    for (const job of [...this.store.values()]) if (!job.finished) job.call.cancel(reason);
  }

  #start(job: Job, request: JobRequest): void {
    // Async jobs take the client's busy retries: the job store bounds that backlog, and their
    // caller is not waiting. A synchronous caller is answered 503 instead (`retry: false`).
    const options: RunOptions = { id: job.key, priority: job.priority, notifyStart: true };
    if (!job.detached) options.retry = false;
    if (request.timeoutMs !== undefined) options.timeoutMs = request.timeoutMs;
    this.#ctx.client
      .submit(job.name, request.args, options)
      .then((handle) => {
        job.call.attach(handle);
        return handle.result;
      })
      .then(
        (result) => this.#completed(job, result),
        (error: unknown) => this.#failed(job, job.call.reason ?? error),
      );
  }

  #completed(job: Job, result: unknown): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      this.#failed(job, error);
      return;
    }
    job.state = 'completed';
    job.status = 200;
    job.body = `{"result":${json ?? 'null'}}`;
    this.#finish(job);
  }

  #failed(job: Job, error: unknown): void {
    const ctx = this.#ctx;
    if (error instanceof GatewayAbort && error !== CANCELLED) {
      // Nobody is left to answer (caller gone) or the gateway is closing: forget the job.
      this.store.delete(job);
      this.#flush(job, { ...errorResponse('unavailable', 'The gateway is shutting down'), retryAfterSeconds: 1 });
      return;
    }
    let answer = error === CANCELLED ? errorResponse('cancelled', `Job ${job.id} was cancelled`) : taskErrorResponse(error, ctx.options.exposeStacks);
    if (answer === undefined) {
      ctx.logger.error({ err: error, jobId: job.id }, 'unexpected error while running a job');
      answer = errorResponse('internal', 'Internal error');
    }
    if (answer.code === 'busy' || answer.code === 'unavailable') {
      // Refused, never run: leave no trace so that a retry with the same key runs it.
      if (answer.code === 'busy') {
        const e = error as { reason: string; retryAfterMs: number };
        ctx.gate.refused(job.priority, e.reason, e.retryAfterMs, now());
      }
      if (!job.detached) {
        this.store.delete(job);
        this.#flush(job, answer);
        return;
      }
    }
    job.state = answer.code === 'expired' ? 'expired' : answer.code === 'cancelled' ? 'cancelled' : 'failed';
    job.status = answer.status;
    job.body = answer.body;
    job.error = answer;
    this.#finish(job);
  }

  #finish(job: Job): void {
    this.store.finish(job, now());
    this.#flush(job, undefined);
  }

  /** Answers every synchronous caller waiting on `job`: its final answer, or `answer`. */
  #flush(job: Job, answer: ErrorResponse | undefined): void {
    const ctx = this.#ctx;
    for (const [res, reqId] of job.waiters) {
      job.waiters.delete(res);
      ctx.pending--;
      if (answer !== undefined) sendError(res, ctx.metrics, answer, reqId);
      else this.#answer(res, reqId, job);
    }
  }

  #answer(res: ServerResponse, reqId: string, job: Job): void {
    if (job.error !== undefined) sendError(res, this.#ctx.metrics, job.error, reqId);
    else sendJson(res, this.#ctx.metrics, job.status, job.body, reqId);
  }

  #accepted(res: ServerResponse, reqId: string, job: Job): void {
    const location = `/v1/jobs/${encodeURIComponent(job.id)}`;
    sendJson(res, this.#ctx.metrics, 202, job.describe(), reqId, ['location', location, 'preference-applied', 'respond-async']);
  }

  /** A synchronous caller waits for `job`; when the last one leaves, a job no one else wants is cancelled. */
  #attach(res: ServerResponse, reqId: string, job: Job): void {
    const ctx = this.#ctx;
    if (ctx.pending >= ctx.maxPending) {
      sendError(res, ctx.metrics, localRefusal(ctx, job.priority, true) ?? busyResponse('gateway_full', 1000, 'The task queue is full; retry later'), reqId);
      return;
    }
    ctx.pending++;
    job.waiters.set(res, reqId);
    res.once('close', () => {
      if (!job.waiters.delete(res)) return;
      ctx.pending--;
      ctx.metrics.callersGone++;
      requestLogger(ctx, reqId).debug({ jobId: job.id }, 'caller left before the answer');
      if (job.waiters.size === 0 && !job.detached && !job.finished) job.call.cancel(CALLER_GONE);
    });
  }
}

function notFound(): ErrorResponse {
  return errorResponse('job_not_found', 'No such job (unknown, or its result has expired from the store)');
}

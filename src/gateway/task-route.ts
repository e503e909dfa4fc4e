import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Priority } from '../core/priority.js';
import type { RunOptions, TaskHandle } from '../client/index.js';
import { CALLER_GONE, GatewayAbort, TaskCall, localRefusal, now, requestLogger, type GatewayContext } from './context.js';
import { errorResponse, taskErrorResponse, tooLarge, type ErrorResponse } from './http-errors.js';
import type { Jobs } from './jobs.js';
import { isJsonContentType, parseIdempotencyKey, parsePriorityHeader, parseTimeoutHeader, prefersAsync } from './request-headers.js';
import { sendError } from './responses.js';

/** Headers of one POST /v1/tasks/{name}, parsed before the body is read. */
interface TaskHeaders {
  priority: Priority;
  timeoutMs: number | undefined;
  idempotencyKey: string | undefined;
  respondAsync: boolean;
}

/**
 * POST /v1/tasks/{name}. Order matters: everything that can refuse the request without reading
 * its body (headers, size, type, the busy gate, the pending bound) runs first, so a refusal costs
 * no body buffering and never touches the manager.
 */
export class TaskRoute {
  readonly #ctx: GatewayContext;
  readonly #jobs: Jobs;

  constructor(ctx: GatewayContext, jobs: Jobs) {
    this.#ctx = ctx;
    this.#jobs = jobs;
  }

  /** `owner` prefixes job ids and task ids made with an API key (empty without keys). */
  post(req: IncomingMessage, res: ServerResponse, reqId: string, owner: string, name: string): void {
    const ctx = this.#ctx;
    const h = req.headers;
    const limit = ctx.options.bodyLimitBytes;
    const length = h['content-length'];
    const chunked = h['transfer-encoding'] !== undefined;
    if (length !== undefined && Number(length) > limit) return sendError(res, ctx.metrics, tooLarge(limit), reqId, true);
    // A body of unknown size is not drained after an early refusal: the connection closes instead.
    const hasBody = chunked || (length !== undefined && length !== '0');
    if (hasBody && !isJsonContentType(h['content-type'])) {
      const error = errorResponse('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json)');
      return sendError(res, ctx.metrics, error, reqId, chunked);
    }
    const headers = parseTaskHeaders(h);
    if ('status' in headers) return sendError(res, ctx.metrics, headers, reqId, chunked);
    const refusal = localRefusal(ctx, headers.priority, !headers.respondAsync);
    if (refusal !== undefined) return sendError(res, ctx.metrics, refusal, reqId, chunked);
    const exchange = new TaskExchange(ctx, this.#jobs, req, res, reqId, owner, name, headers);
    if (hasBody) exchange.read(limit);
    else exchange.dispatch(undefined, undefined);
  }
}

/**
 * One POST from its body to its answer. Written with callbacks rather than async functions: this
 * is the gateway's hot path, and each await and promise shows in the per-request cost.
 *
 *   read ──end──► dispatch ─┬─ job (async / Idempotency-Key) ──► Jobs
 *     │                     └─ call: submit ──► handle ──► result ──► 200 | error
 *     └─ over the limit: 413 (connection closes) · caller gone: nothing
 */
class TaskExchange extends TaskCall {
  #chunks: Buffer[] | undefined = undefined;
  #args: unknown = undefined;
  #length = 0;
  #limit = 0;

  constructor(
    readonly ctx: GatewayContext,
    readonly jobs: Jobs,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly reqId: string,
    readonly owner: string,
    readonly name: string,
    readonly headers: TaskHeaders,
  ) {
    super();
  }

  read(limit: number): void {
    this.#limit = limit;
    this.#chunks = [];
    // A caller who leaves mid-body never gets 'end': the exchange is dropped with the request.
    this.req.on('data', this.#onData);
    this.req.on('end', this.#onEnd);
  }

  readonly #onData = (chunk: Buffer): void => {
    const chunks = this.#chunks;
    if (chunks === undefined) return;
    this.#length += chunk.length;
    if (this.#length > this.#limit) {
      this.#stopReading();
      sendError(this.res, this.ctx.metrics, tooLarge(this.#limit), this.reqId, true);
      return;
    }
    chunks.push(chunk);
  };

  readonly #onEnd = (): void => {
    const chunks = this.#chunks;
    if (chunks === undefined) return;
    this.#stopReading();
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#length);
    let args: unknown;
    if (body.length > 0) {
      try {
        args = JSON.parse(body.toString('utf8'));
      } catch (error) {
        sendError(this.res, this.ctx.metrics, errorResponse('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`), this.reqId);
        return;
      }
    }
    this.dispatch(args, body);
  };

  /**
   * 'data' stays attached so that the rest of a refused body flows into nothing until the
   * connection closes; both listeners ignore what comes after this.
   */
  #stopReading(): void {
    this.#chunks = undefined;
  }

  dispatch(args: unknown, body: Buffer | undefined): void {
    const { ctx, headers } = this;
    const key = headers.idempotencyKey;
    if (key !== undefined || headers.respondAsync) {
      const id = key ?? randomUUID();
      const timeoutMs = headers.timeoutMs ?? (headers.respondAsync ? undefined : ctx.options.defaultTimeoutMs);
      const fingerprint = key === undefined ? undefined : fingerprintOf(this.name, body);
      this.jobs.post(this.res, this.reqId, { key: this.owner + id, id, name: this.name, args, fingerprint, priority: headers.priority, timeoutMs, respondAsync: headers.respondAsync });
      return;
    }
    // The bound is checked again now that the body is in: the first check let the read start.
    if (ctx.pending >= ctx.maxPending) {
      sendError(this.res, ctx.metrics, localRefusal(ctx, headers.priority, true) as ErrorResponse, this.reqId);
      return;
    }
    ctx.pending++;
    ctx.calls.add(this);
    // The caller leaving cancels the task: queued, it is removed; running, it is aborted.
    this.res.on('close', this.#onResClose);
    this.#args = args;
    ctx.submissions.add(this);
  }

  /** Called once the turn's requests are read (GatewayContext.submissions). */
  submit(): void {
    // Cancelled before it reached the client: the caller left, or the gateway is closing.
    if (this.reason !== undefined) return this.#onError(this.reason);
    const options: RunOptions = {
      priority: this.headers.priority,
      timeoutMs: this.headers.timeoutMs ?? this.ctx.options.defaultTimeoutMs,
      // The HTTP caller holds the backlog: a refusal is answered 503 at once, not retried here.
      retry: false,
    };
    this.ctx.client.submit(this.name, this.#args, options).then(this.#onHandle, this.#onError);
  }

  readonly #onResClose = (): void => {
    if (!this.res.writableFinished) this.cancel(CALLER_GONE);
  };

  readonly #onHandle = (handle: TaskHandle<unknown>): void => {
    this.attach(handle);
    handle.result.then(this.#onResult, this.#onError);
  };

  readonly #onResult = (result: unknown): void => {
    this.#done();
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      requestLogger(this.ctx, this.reqId).error({ err: error, task: this.name }, 'task result is not JSON-serializable');
      this.ctx.answers.error(this.res, errorResponse('internal', 'The task result cannot be represented as JSON'), this.reqId);
      return;
    }
    this.ctx.answers.json(this.res, 200, `{"result":${json ?? 'null'}}`, this.reqId);
  };

  readonly #onError = (cause: unknown): void => {
    this.#done();
    const { ctx, res, reqId } = this;
    const error = this.reason ?? cause;
    if (error instanceof GatewayAbort) {
      if (error === CALLER_GONE) {
        ctx.metrics.callersGone++;
        requestLogger(ctx, reqId).debug({ task: this.name }, 'caller left before the answer; task cancelled');
      } else {
        ctx.answers.error(res, { ...errorResponse('unavailable', 'The gateway is shutting down'), retryAfterSeconds: 1 }, reqId);
      }
      return;
    }
    const answer = taskErrorResponse(error, ctx.options.exposeStacks);
    if (answer === undefined) {
      requestLogger(ctx, reqId).error({ err: error, task: this.name }, 'unexpected error while running a task');
      ctx.answers.error(res, errorResponse('internal', 'Internal error'), reqId);
      return;
    }
    if (answer.code === 'busy') {
      const e = error as { reason: string; retryAfterMs: number };
      ctx.gate.refused(this.headers.priority, e.reason, e.retryAfterMs, now());
    }
    ctx.answers.error(res, answer, reqId);
  };

  #done(): void {
    this.ctx.pending--;
    this.ctx.calls.remove(this);
  }
}

function parseTaskHeaders(h: IncomingMessage['headers']): TaskHeaders | ErrorResponse {
  const priority = parsePriorityHeader(h['sluice-priority'] as string | undefined);
  if (typeof priority === 'object') return priority;
  const timeoutMs = parseTimeoutHeader(h['sluice-timeout-ms'] as string | undefined);
  if (typeof timeoutMs === 'object') return timeoutMs;
  const idempotencyKey = parseIdempotencyKey(h['idempotency-key'] as string | undefined);
  if (typeof idempotencyKey === 'object') return idempotencyKey;
  return { priority, timeoutMs, idempotencyKey, respondAsync: prefersAsync(h['prefer'] as string | undefined) };
}

/** Same key, same task and same bytes: a retry. Anything else under the key is refused (422). */
function fingerprintOf(name: string, body: Buffer | undefined): string {
  const hash = createHash('sha256').update(name).update('\0');
  if (body !== undefined) hash.update(body);
  return hash.digest('base64');
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlertEvent, StatusSnapshot } from '../client/index.js';
import { now, type GatewayContext } from './context.js';
import { errorResponse } from './http-errors.js';
import { sendError, sendJson } from './responses.js';

/** A snapshot older than this is not served as "now" by /v1/status; a fresh one is asked for. */
const FRESH_MS = 2_500;
/** How long /v1/status waits for the manager when it has no fresh snapshot. */
const STATUS_WAIT_MS = 2_000;
/** Event streams open at once; more are answered 503. */
export const MAX_STATUS_STREAMS = 1_000;
/** A stream whose unsent data passes this is too slow to follow and is closed. */
const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;
/** Comment lines sent when nothing else was, so proxies keep idle streams open. */
const KEEPALIVE_MS = 15_000;

/**
 * The manager's status as the gateway sees it: one watch subscription over the gateway's client,
 * kept for `/v1/status`, fanned out to `/v1/status/stream` as server-sent events, and read by
 * readiness and the automatic pending bound.
 */
export class StatusFeed {
  readonly #ctx: GatewayContext;
  readonly #streams = new Set<ServerResponse>();
  #latest: StatusSnapshot | undefined;
  #latestAt = -Infinity;
  #stopWatching: (() => void) | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  readonly #onUpdate: ((snapshot: StatusSnapshot) => void) | undefined;

  constructor(ctx: GatewayContext, onUpdate?: (snapshot: StatusSnapshot) => void) {
    this.#ctx = ctx;
    this.#onUpdate = onUpdate;
  }

  start(): void {
    const client = this.#ctx.client;
    client.on('status', this.#onStatus);
    client.on('alert', this.#onAlert);
    this.#stopWatching = client.watchStatus();
    this.#keepAlive = setInterval(() => this.#broadcast(': keep-alive\n\n'), KEEPALIVE_MS);
    this.#keepAlive.unref();
    // The first tick may be a second away: ask once now so readiness and bounds start right.
    client.status({ timeoutMs: STATUS_WAIT_MS }).then(this.#onStatus, () => undefined);
  }

  /** The last snapshot, if it is recent enough to describe the manager now. */
  get fresh(): StatusSnapshot | undefined {
    return now() - this.#latestAt <= FRESH_MS ? this.#latest : undefined;
  }

  get streams(): number {
    return this.#streams.size;
  }

  readonly #onStatus = (snapshot: StatusSnapshot): void => {
    if (this.#latest !== undefined && snapshot.time < this.#latest.time) return;
    this.#latest = snapshot;
    this.#latestAt = now();
    this.#onUpdate?.(snapshot);
    if (this.#streams.size > 0) this.#broadcast(`event: status\ndata: ${JSON.stringify(snapshot)}\n\n`);
  };

  readonly #onAlert = (event: AlertEvent): void => {
    if (this.#streams.size > 0) this.#broadcast(`event: alert\ndata: ${JSON.stringify(event)}\n\n`);
  };

  /** GET /v1/status: the latest snapshot, or a fresh one from the manager, or 503. */
  get(res: ServerResponse, reqId: string): void {
    const ctx = this.#ctx;
    const fresh = this.fresh;
    if (fresh !== undefined) return sendJson(res, ctx.metrics, 200, JSON.stringify(fresh), reqId, ['cache-control', 'no-store']);
    ctx.client.status({ timeoutMs: STATUS_WAIT_MS }).then((snapshot) => {
      this.#onStatus(snapshot);
      sendJson(res, ctx.metrics, 200, JSON.stringify(snapshot), reqId, ['cache-control', 'no-store']);
    }, () => {
      sendError(res, ctx.metrics, { ...errorResponse('unavailable', 'No status from the manager: not connected, or it did not answer in time'), retryAfterSeconds: 1 }, reqId);
    });
  }

  /** GET /v1/status/stream: `event: status` once a second, `event: alert` on each raise and clear. */
  stream(req: IncomingMessage, res: ServerResponse, reqId: string): void {
    const ctx = this.#ctx;
    if (this.#streams.size >= MAX_STATUS_STREAMS) {
      return sendError(res, ctx.metrics, { ...errorResponse('unavailable', `Too many status streams open (${MAX_STATUS_STREAMS})`), retryAfterSeconds: 5 }, reqId);
    }
    ctx.metrics.countStatus(200);
    res.writeHead(200, [
      'content-type', 'text/event-stream; charset=utf-8',
      'cache-control', 'no-store',
      'x-accel-buffering', 'no',
      'x-request-id', reqId,
    ]);
    // The stream lives as long as the caller: no request timeout applies to it.
    req.socket.setTimeout(0);
    res.write(`retry: 2000\n\n${this.#latest === undefined ? '' : `event: status\ndata: ${JSON.stringify(this.#latest)}\n\n`}`);
    this.#streams.add(res);
    res.once('close', () => this.#streams.delete(res));
  }

  #broadcast(chunk: string): void {
    for (const res of this.#streams) {
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  /** Ends every stream and the subscription. */
  close(): void {
    const client = this.#ctx.client;
    client.off('status', this.#onStatus);
    client.off('alert', this.#onAlert);
    this.#stopWatching?.();
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }
}

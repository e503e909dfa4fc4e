import type { ServerResponse } from 'node:http';
import type { ErrorResponse } from './http-errors.js';
import type { GatewayMetrics } from './metrics.js';
import { PerTurn } from './per-turn.js';

/**
 * Writing answers. Headers go as one flat array to `writeHead` (no setHeader bookkeeping) with an
 * explicit Content-Length, so every answer is one write and never chunked.
 */

const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: ServerResponse, metrics: GatewayMetrics, status: number, body: string, requestId: string, extra?: string[]): void {
  if (res.headersSent || res.destroyed) return;
  metrics.countStatus(status);
  const headers = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId];
  if (extra !== undefined) headers.push(...extra);
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * Writes an error answer. `close` ends the connection after it: used when the request body was
 * not (fully) read, so a caller cannot make the server read and discard an unbounded body.
 */
export function sendError(res: ServerResponse, metrics: GatewayMetrics, error: ErrorResponse, requestId: string, close = false, extra?: string[]): void {
  sendJson(res, metrics, error.status, error.body, requestId, errorHeaders(error, close, extra));
}

function errorHeaders(error: ErrorResponse, close: boolean, extra: string[] | undefined): string[] {
  const headers: string[] = extra === undefined ? [] : [...extra];
  if (error.retryAfterSeconds !== undefined) headers.push('retry-after', String(error.retryAfterSeconds));
  if (close) headers.push('connection', 'close');
  return headers;
}

/**
 * Answers that settle inside a task's promise chain, written together once the event-loop turn's
 * I/O callbacks have run rather than each the moment its chain settles. Written one by one,
 * answers interleave with reading the next requests of the same turn, and every write to a
 * loopback or LAN peer that has gone idle pays the kernel's wake-up of that peer; written
 * together, reads come first and the peer is woken once per burst. In `npm run bench:gateway`
 * this took a no-op task with `--isolation none` from about 43 to 27 µs of CPU per request.
 *
 * Every answer queued is written (or dropped because its socket is gone) by the next flush,
 * which the batch schedules itself; `close()` of the gateway flushes before it closes connections.
 */
export class AnswerBatch {
  readonly #turn: PerTurn<QueuedAnswer>;

  constructor(metrics: GatewayMetrics) {
    this.#turn = new PerTurn((a) => sendJson(a.res, metrics, a.status, a.body, a.requestId, a.extra));
  }

  json(res: ServerResponse, status: number, body: string, requestId: string, extra?: string[]): void {
    this.#turn.add({ res, status, body, requestId, extra });
  }

  error(res: ServerResponse, error: ErrorResponse, requestId: string): void {
    this.json(res, error.status, error.body, requestId, errorHeaders(error, false, undefined));
  }

  flush(): void {
    this.#turn.flush();
  }
}

interface QueuedAnswer {
  res: ServerResponse;
  status: number;
  body: string;
  requestId: string;
  extra: string[] | undefined;
}
export function sendText(res: ServerResponse, metrics: GatewayMetrics, status: number, contentType: string, body: string | Buffer, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  metrics.countStatus(status);
  res.writeHead(status, ['content-type', contentType, 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId]);
  res.end(body);
}

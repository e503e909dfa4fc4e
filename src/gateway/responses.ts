import type { ServerResponse } from 'node:http';
import type { ErrorResponse } from './http-errors.js';
import type { GatewayMetrics } from './metrics.js';

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
  const headers: string[] = extra === undefined ? [] : [...extra];
  if (error.retryAfterSeconds !== undefined) headers.push('retry-after', String(error.retryAfterSeconds));
  if (close) headers.push('connection', 'close');
  sendJson(res, metrics, error.status, error.body, requestId, headers);
}

export function sendText(res: ServerResponse, metrics: GatewayMetrics, status: number, contentType: string, body: string | Buffer, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  metrics.countStatus(status);
  res.writeHead(status, ['content-type', contentType, 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId]);
  res.end(body);
}

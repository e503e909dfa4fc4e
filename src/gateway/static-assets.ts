import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, describeValue } from '../core/errors.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * A file the gateway serves as is at a fixed path outside `/v1`: the dashboard page and its
 * scripts. The gateway knows nothing of what the files are; whoever embeds it (the CLI) hands
 * them over, so the page sits above the gateway in the layers.
 */
export interface StaticAsset {
  /** URL path, e.g. `/` or `/dashboard/app.js`; not under `/v1/` nor a route the gateway owns. */
  readonly path: string;
  /** @example 'text/javascript; charset=utf-8' */
  readonly contentType: string;
  readonly body: string | Uint8Array;
  /** Extra response headers, e.g. a Content-Security-Policy for a page. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Paths the gateway answers itself; an asset may not shadow them. */
const RESERVED_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

interface PreparedAsset {
  readonly etag: string;
  readonly body: Buffer;
  /** Flat header list for writeHead, without the per-request id. */
  readonly headers: readonly string[];
}

/**
 * The assets, checked and prepared once: bodies as buffers and a strong ETag each, so a reload
 * costs a 304 and no body. `Cache-Control: no-cache` makes the browser revalidate every load, so
 * a new version of the page is seen at once.
 */
export class StaticAssets {
  readonly #byPath = new Map<string, PreparedAsset>();

  constructor(assets: readonly StaticAsset[]) {
    for (const [i, asset] of assets.entries()) {
      const where = `assets[${i}]`;
      if (typeof asset !== 'object' || asset === null) fail(where, '{ path, contentType, body }', asset);
      const { path, contentType, body } = asset;
      if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path) || path.startsWith('/v1/') || RESERVED_PATHS.has(path)) {
        fail(`${where}.path`, 'a URL path starting with / outside /v1/ and the gateway\'s own routes', path);
      }
      if (this.#byPath.has(path)) fail(`${where}.path`, 'a path no other asset uses', path);
      if (typeof contentType !== 'string' || contentType.length === 0) fail(`${where}.contentType`, 'a media type', contentType);
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) fail(`${where}.body`, 'a string or bytes', body);
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
      const headers = ['content-type', contentType, 'etag', etag, 'cache-control', 'no-cache', 'x-content-type-options', 'nosniff'];
      for (const [name, value] of Object.entries(asset.headers ?? {})) headers.push(name, value);
      this.#byPath.set(path, { etag, body: bytes, headers });
    }
  }

  has(path: string): boolean {
    return this.#byPath.has(path);
  }

  /** Answers GET/HEAD for a known path (the caller checked `has` and the method). */
  serve(req: IncomingMessage, res: ServerResponse, metrics: GatewayMetrics, path: string, requestId: string): void {
    const asset = this.#byPath.get(path);
    if (asset === undefined || res.headersSent || res.destroyed) return;
    if (matchesEtag(req.headers['if-none-match'], asset.etag)) {
      metrics.countStatus(304);
      res.writeHead(304, ['etag', asset.etag, 'cache-control', 'no-cache', 'x-request-id', requestId]);
      res.end();
      return;
    }
    metrics.countStatus(200);
    res.writeHead(200, [...asset.headers, 'content-length', String(asset.body.length), 'x-request-id', requestId]);
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
}

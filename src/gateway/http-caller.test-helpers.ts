// An HTTP caller for gateway tests (undici over loopback) that records every (method, route,
// status) it sees, so each test file can check them against the OpenAPI document.
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { declaresResponse } from './openapi.js';

export interface CallOptions {
  /** JSON-encoded unless a string (sent as is) or undefined (no body). */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience
  json: any;
  ms: number;
}

/** The OpenAPI route template a concrete path belongs to. */
export function routeOf(path: string): string {
  const bare = path.split('?')[0] as string;
  if (bare.startsWith('/v1/tasks/')) return '/v1/tasks/{name}';
  if (bare.startsWith('/v1/jobs/')) return '/v1/jobs/{id}';
  return bare;
}

export class GatewayCaller {
  readonly base: string;
  readonly agent: Agent;
  /** "METHOD route status" for every answer seen. */
  readonly seen = new Set<string>();
  readonly #headers: Record<string, string>;

  constructor(base: string, headers: Record<string, string> = {}, connections = 256) {
    this.base = base;
    this.#headers = headers;
    this.agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 2_000 });
  }

  async call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...this.#headers, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const started = performance.now();
    const res = await request(`${this.base}${path}`, {
      method: method as 'GET',
      headers,
      body,
      dispatcher: this.agent,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await res.body.text();
    const ms = performance.now() - started;
    this.seen.add(`${method} ${routeOf(path)} ${res.statusCode}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json, ms };
  }

  post(name: string, body?: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<CallResult> {
    const options: CallOptions = { body };
    if (headers !== undefined) options.headers = headers;
    if (signal !== undefined) options.signal = signal;
    return this.call('POST', `/v1/tasks/${encodeURIComponent(name)}`, options);
  }

  /** Every answer seen whose (method, route, status) the OpenAPI document does not declare. */
  undeclared(): string[] {
    return [...this.seen].filter((entry) => {
      const [method, route, status] = entry.split(' ') as [string, string, string];
      return !declaresResponse(route, method, Number(status));
    });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

import { DEFAULT_PRIORITY, PRIORITY_BY_NAME, type Priority } from '../core/priority.js';
import { errorResponse, type ErrorResponse } from './http-errors.js';
import { MAX_TIMEOUT_MS } from './options.js';

/**
 * Parsers for the per-request controls. Each returns the value or an ErrorResponse (400
 * `invalid_header` naming the header); none throws, so the request path needs no try/catch.
 */

/** Longest Idempotency-Key: it becomes the task id (≤ 256 chars) after an owner prefix. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** Longest task name, as the client and the wire accept. */
export const MAX_TASK_NAME_LENGTH = 256;

function invalidHeader(header: string, expected: string, value: string): ErrorResponse {
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return errorResponse('invalid_header', `Expected \`${header}\` to be ${expected}, got ${JSON.stringify(shown)}`);
}

/** `Sluice-Priority: high | normal | low | 0–9`; normal when absent. */
export function parsePriorityHeader(value: string | undefined): Priority | ErrorResponse {
  if (value === undefined) return DEFAULT_PRIORITY;
  const v = value.trim().toLowerCase();
  if (v === 'high' || v === 'normal' || v === 'low') return PRIORITY_BY_NAME[v];
  if (v.length === 1 && v >= '0' && v <= '9') return Number(v) as Priority;
  return invalidHeader('Sluice-Priority', '"high", "normal", "low" or an integer 0–9', value);
}

const DIGITS = /^[1-9][0-9]{0,9}$/;

/** `Sluice-Timeout-Ms: 2000`: a positive integer of milliseconds; undefined when absent. */
export function parseTimeoutHeader(value: string | undefined): number | undefined | ErrorResponse {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (DIGITS.test(v)) {
    const n = Number(v);
    if (n <= MAX_TIMEOUT_MS) return n;
  }
  return invalidHeader('Sluice-Timeout-Ms', `a positive integer of milliseconds (at most ${MAX_TIMEOUT_MS})`, value);
}

const KEY = /^[\x21-\x7e]+$/;

/**
 * `Idempotency-Key`: 1–200 visible ASCII characters. The IETF draft sends it as a structured
 * string (`"abc"`); the quotes are accepted and dropped, so both spellings name the same key.
 */
export function parseIdempotencyKey(value: string | undefined): string | undefined | ErrorResponse {
  if (value === undefined) return undefined;
  let v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  if (v.length > 0 && v.length <= MAX_IDEMPOTENCY_KEY_LENGTH && KEY.test(v)) return v;
  return invalidHeader('Idempotency-Key', `1–${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`, value);
}

const RESPOND_ASYNC = /(?:^|,)\s*respond-async\s*(?:[;,]|$)/i;

/** RFC 7240 `Prefer: respond-async` (possibly among other preferences). */
export function prefersAsync(value: string | undefined): boolean {
  return value !== undefined && RESPOND_ASYNC.test(value);
}

/** `application/json` or any `application/*+json`, parameters (charset) allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semi = value.indexOf(';');
  const mime = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** A caller's `X-Request-Id` is kept when it is short and tame, so logs never carry junk. */
export function acceptRequestId(value: string | undefined): string | undefined {
  return value !== undefined && REQUEST_ID.test(value) ? value : undefined;
}

/**
 * The `{name}` or `{id}` path segment, percent-decoded. Undefined when it is empty, holds a `/`
 * (another route) or is badly encoded.
 */
export function pathSegment(path: string, start: number, maxLength: number): string | undefined {
  if (start >= path.length) return undefined;
  const raw = path.slice(start);
  if (raw.includes('/')) return undefined;
  let segment = raw;
  if (raw.includes('%')) {
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return segment.length > 0 && segment.length <= maxLength ? segment : undefined;
}

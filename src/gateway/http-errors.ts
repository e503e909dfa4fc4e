/**
 * The gateway's error catalogue: every `error.code` an HTTP caller can see, with its status. Bodies
 * are always `{"error": {"code", "message", …}}`; codes are stable, messages are for humans.
 * `openapi.ts` documents the same codes (a test checks the two agree).
 */
export const ERROR_STATUS = Object.freeze({
  invalid_json: 400,
  invalid_header: 400,
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  unknown_task: 404,
  job_not_found: 404,
  method_not_allowed: 405,
  cancelled: 409,
  job_finished: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  task_failed: 500,
  internal: 500,
  worker_lost: 502,
  busy: 503,
  unavailable: 503,
  not_ready: 503,
  expired: 504,
} as const);

export type GatewayErrorCode = keyof typeof ERROR_STATUS;

/** Why the gateway answered 503 `busy` on its own, beside the manager's BusyReason values. */
export type LocalBusyReason = 'gateway_full' | 'jobs_full' | 'no_manager';

/** A complete error answer, ready to write. */
export interface ErrorResponse {
  readonly status: number;
  readonly code: GatewayErrorCode;
  /** The JSON body. */
  readonly body: string;
  /** `Retry-After` in whole seconds, for 503s. */
  readonly retryAfterSeconds: number | undefined;
}

export function errorResponse(code: GatewayErrorCode, message: string, extra?: Record<string, unknown>): ErrorResponse {
  const error = extra === undefined ? { code, message } : { code, message, ...extra };
  return { status: ERROR_STATUS[code], code, body: JSON.stringify({ error }), retryAfterSeconds: undefined };
}

export function tooLarge(limit: number): ErrorResponse {
  return errorResponse('payload_too_large', `The request body is larger than ${limit} bytes`, { limitBytes: limit });
}

/** Whole seconds, rounded up, and at least 1: `Retry-After: 0` would invite an instant retry storm. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

const escapedReasons = new Map<string, string>();

/**
 * A 503 `busy` answer. Built by template rather than JSON.stringify: it is the answer the gateway
 * gives most often under overload, and must stay cheap. Messages are constants; the reason comes
 * from a small set and is escaped once.
 */
export function busyResponse(reason: string, retryAfterMs: number, message: string): ErrorResponse {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  let escaped = escapedReasons.get(reason);
  if (escaped === undefined) {
    escaped = JSON.stringify(reason);
    if (escapedReasons.size < 64) escapedReasons.set(reason, escaped);
  }
  const body = `{"error":{"code":"busy","message":${escapedMessage(message)},"reason":${escaped},"retryAfterMs":${ms}}}`;
  return { status: 503, code: 'busy', body, retryAfterSeconds: retryAfterSeconds(ms) };
}

const escapedMessages = new Map<string, string>();
function escapedMessage(message: string): string {
  let escaped = escapedMessages.get(message);
  if (escaped === undefined) {
    escaped = JSON.stringify(message);
    if (escapedMessages.size < 64) escapedMessages.set(message, escaped);
  }
  return escaped;
}

/** The fields of the client's errors the mapping reads (see src/client/errors.ts). */
interface ClientErrorShape {
  code?: unknown;
  message?: unknown;
  retryAfterMs?: unknown;
  reason?: unknown;
  remoteName?: unknown;
  remoteMessage?: unknown;
  remoteStack?: unknown;
  attempts?: unknown;
}

/** The manager's answer for a task name no connected worker registers (src/manager/dispatcher.ts). */
const UNKNOWN_TASK_ERROR = 'UnknownTaskError';

/**
 * The one place a client error becomes an HTTP answer. Switches on the stable `code`, never on
 * classes, so this module needs nothing from the client at run time. Returns undefined for an
 * error that is not the client's (a bug): the caller answers 500 `internal` and logs it.
 */
export function taskErrorResponse(error: unknown, exposeStacks: boolean): ErrorResponse | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ClientErrorShape;
  const message = String(e.message);
  switch (e.code) {
    case 'busy':
      return busyResponse(typeof e.reason === 'string' ? e.reason : 'full', typeof e.retryAfterMs === 'number' ? e.retryAfterMs : 1000, 'The task queue is full; retry later');
    case 'expired':
      return errorResponse('expired', 'The task did not finish before its deadline');
    case 'task_failed': {
      const name = String(e.remoteName);
      const remoteMessage = String(e.remoteMessage);
      if (name === UNKNOWN_TASK_ERROR) return errorResponse('unknown_task', remoteMessage);
      const extra: Record<string, unknown> = { name };
      if (exposeStacks && typeof e.remoteStack === 'string') extra['stack'] = e.remoteStack;
      return errorResponse('task_failed', remoteMessage, extra);
    }
    case 'worker_lost':
      return errorResponse('worker_lost', 'The worker running the task was lost on every attempt', { attempts: e.attempts });
    case 'cancelled':
      return errorResponse('cancelled', 'The task was cancelled');
    case 'client_closed':
      return { ...errorResponse('unavailable', 'The gateway is shutting down'), retryAfterSeconds: 1 };
    case 'invalid_argument':
      return errorResponse('invalid_request', message);
    default:
      return undefined;
  }
}

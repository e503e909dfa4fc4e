import { ProtocolError } from './errors.js';
import { validateAlertEvent, validateStatusSnapshot } from './status.js';
import type { Auth, ClientMessage, Hello, ManagerToClient, ManagerToWorker, Welcome, WorkerMessage } from './messages.js';

/**
 * Every inbound message passes one of these before any other code sees it: the boundary where
 * wire data becomes a typed message. A validator returns the message (the same object, so valid
 * traffic costs no copy) or a ProtocolError naming what was wrong; it never throws.
 *
 * Limits are generous for real traffic and small against abuse; the frame cap bounds the rest.
 */
export const MAX_ID_LENGTH = 256;
export const MAX_NAME_LENGTH = 256;
export const MAX_TASKS_PER_NODE = 10_000;
export const MAX_CAPACITY = 100_000;
/** Most tasks a node may hold beyond its capacity, waiting for a slot. */
export const MAX_PREFETCH = 100_000;
export const MAX_ATTEMPTS = 100;
/** setTimeout's ceiling, and so the longest deadline that means anything. */
export const MAX_DEADLINE_MS = 2_147_483_647;
const MAX_ERROR_TEXT = 64 * 1024;

export type Validator<T> = (value: unknown) => T | ProtocolError;

type Fields = Record<string, unknown>;

function invalid(what: string): ProtocolError {
  return new ProtocolError('invalid_message', `Invalid message: ${what}`);
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
const isInt = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
const isDeadline = (value: unknown): boolean => value === undefined || (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_DEADLINE_MS);
const isBytes = (value: unknown, length: number): value is Uint8Array => value instanceof Uint8Array && value.length === length;

function isRemoteError(value: unknown, stack: boolean): boolean {
  if (!isObject(value)) return false;
  if (typeof value['name'] !== 'string' || value['name'].length > MAX_ERROR_TEXT) return false;
  if (typeof value['message'] !== 'string' || value['message'].length > MAX_ERROR_TEXT) return false;
  const s = value['stack'];
  return s === undefined || (stack && typeof s === 'string' && s.length <= MAX_ERROR_TEXT);
}

function typeOf(value: unknown): string | ProtocolError {
  if (!isObject(value)) return invalid('expected a map with a `type`');
  const type = value['type'];
  return typeof type === 'string' ? type : invalid('`type` must be a string');
}

// ── handshake ─────────────────────────────────────────────────────────────────────────────────

export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;

export const validateHello: Validator<Hello> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  if (type !== 'hello') return new ProtocolError('unexpected_message', `Expected hello, got ${JSON.stringify(type)}`);
  const versions = v['versions'];
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > 16 || !versions.every((n) => isInt(n, 1, 65535))) return invalid('hello.versions');
  if (!isBytes(v['nonce'], NONCE_BYTES)) return invalid('hello.nonce');
  if (typeof v['auth'] !== 'boolean') return invalid('hello.auth');
  return value as Hello;
};

export const validateAuth: Validator<Auth> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  if (type !== 'auth') return new ProtocolError('unexpected_message', `Expected auth, got ${JSON.stringify(type)}`);
  if (!isInt(v['version'], 1, 65535)) return invalid('auth.version');
  if (v['role'] !== 'client' && v['role'] !== 'worker') return invalid('auth.role');
  if (!isBytes(v['nonce'], NONCE_BYTES)) return invalid('auth.nonce');
  if (!(v['mac'] instanceof Uint8Array) || (v['mac'].length !== MAC_BYTES && v['mac'].length !== 0)) return invalid('auth.mac');
  if (v['name'] !== undefined && !isText(v['name'], MAX_NAME_LENGTH)) return invalid('auth.name');
  return value as Auth;
};

export const validateWelcome: Validator<Welcome> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  if (type !== 'welcome') return new ProtocolError('unexpected_message', `Expected welcome, got ${JSON.stringify(type)}`);
  if (!(v['mac'] instanceof Uint8Array) || (v['mac'].length !== MAC_BYTES && v['mac'].length !== 0)) return invalid('welcome.mac');
  if (!isText(v['managerId'], MAX_ID_LENGTH)) return invalid('welcome.managerId');
  if (!isInt(v['heartbeatMs'], 10, 3_600_000)) return invalid('welcome.heartbeatMs');
  return value as Welcome;
};

// ── after the handshake ───────────────────────────────────────────────────────────────────────

export const validateClientMessage: Validator<ClientMessage> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  switch (type) {
    case 'submit':
      if (!isText(v['id'], MAX_ID_LENGTH)) return invalid('submit.id: a string of 1–256 characters');
      if (!isText(v['name'], MAX_NAME_LENGTH)) return invalid('submit.name: a string of 1–256 characters');
      if (!isInt(v['priority'], 0, 9)) return invalid('submit.priority: an integer 0–9');
      if (!isDeadline(v['deadlineMs'])) return invalid('submit.deadlineMs: milliseconds ≥ 0');
      if (v['maxAttempts'] !== undefined && !isInt(v['maxAttempts'], 1, MAX_ATTEMPTS)) return invalid('submit.maxAttempts: an integer 1–100');
      if (v['notifyStart'] !== undefined && typeof v['notifyStart'] !== 'boolean') return invalid('submit.notifyStart: a boolean');
      return value as ClientMessage;
    case 'cancel':
      return isText(v['id'], MAX_ID_LENGTH) ? (value as ClientMessage) : invalid('cancel.id');
    case 'status_request':
      return isInt(v['ref'], 0, Number.MAX_SAFE_INTEGER) ? (value as ClientMessage) : invalid('status_request.ref');
    case 'watch':
      return typeof v['on'] === 'boolean' ? (value as ClientMessage) : invalid('watch.on: a boolean');
    case 'ping':
      return value as ClientMessage;
    default:
      return new ProtocolError('unexpected_message', `A client may not send ${JSON.stringify(type)}`);
  }
};

const OUTCOME_STATUSES = new Set(['completed', 'failed', 'crashed', 'returned', 'aborted']);
const ABORT_REASONS = new Set(['cancelled', 'expired', 'shutdown']);

export const validateWorkerMessage: Validator<WorkerMessage> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  switch (type) {
    case 'outcome': {
      if (!isInt(v['token'], 1, Number.MAX_SAFE_INTEGER)) return invalid('outcome.token');
      const status = v['status'];
      if (typeof status !== 'string' || !OUTCOME_STATUSES.has(status)) return invalid('outcome.status');
      if ((status === 'failed' || status === 'crashed') && !isRemoteError(v['error'], status === 'failed')) return invalid('outcome.error');
      if (status === 'aborted' && !ABORT_REASONS.has(v['reason'] as string)) return invalid('outcome.reason');
      const runMs = v['runMs'];
      if (runMs !== undefined && !(typeof runMs === 'number' && Number.isFinite(runMs) && runMs >= 0)) return invalid('outcome.runMs');
      return value as WorkerMessage;
    }
    case 'register': {
      if (!isText(v['nodeId'], MAX_ID_LENGTH)) return invalid('register.nodeId');
      if (!isInt(v['capacity'], 0, MAX_CAPACITY)) return invalid('register.capacity');
      if (v['prefetch'] !== undefined && !isInt(v['prefetch'], 0, MAX_PREFETCH)) return invalid('register.prefetch');
      const tasks = v['tasks'];
      if (!Array.isArray(tasks) || tasks.length > MAX_TASKS_PER_NODE || !tasks.every((t) => isText(t, MAX_NAME_LENGTH))) return invalid('register.tasks');
      return value as WorkerMessage;
    }
    case 'capacity':
      return isInt(v['capacity'], 0, MAX_CAPACITY) ? (value as WorkerMessage) : invalid('capacity.capacity');
    case 'ping':
      return value as WorkerMessage;
    default:
      return new ProtocolError('unexpected_message', `A worker may not send ${JSON.stringify(type)}`);
  }
};

const BUSY_REASONS = new Set(['full', 'latency', 'deadline', 'displaced', 'no_workers', 'draining']);

export const validateManagerToClient: Validator<ManagerToClient> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  if (type === 'ping') return value as ManagerToClient;
  if (type === 'status') {
    if (v['ref'] !== undefined && !isInt(v['ref'], 0, Number.MAX_SAFE_INTEGER)) return invalid('status.ref');
    const snapshot = validateStatusSnapshot(v['snapshot']);
    return snapshot instanceof ProtocolError ? snapshot : (value as ManagerToClient);
  }
  if (type === 'alert') {
    const event = validateAlertEvent(v['event']);
    return event instanceof ProtocolError ? event : (value as ManagerToClient);
  }
  if (!isText(v['id'], MAX_ID_LENGTH)) return invalid(`${type}.id`);
  switch (type) {
    case 'completed':
    case 'expired':
    case 'cancelled':
      return value as ManagerToClient;
    case 'failed':
      return isRemoteError(v['error'], true) ? (value as ManagerToClient) : invalid('failed.error');
    case 'busy':
      if (!BUSY_REASONS.has(v['reason'] as string)) return invalid('busy.reason');
      return isInt(v['retryAfterMs'], 0, MAX_DEADLINE_MS) ? (value as ManagerToClient) : invalid('busy.retryAfterMs');
    case 'worker_lost':
      return isInt(v['attempts'], 0, MAX_ATTEMPTS) ? (value as ManagerToClient) : invalid('worker_lost.attempts');
    case 'started':
      return isInt(v['attempt'], 1, MAX_ATTEMPTS) ? (value as ManagerToClient) : invalid('started.attempt');
    default:
      return new ProtocolError('unexpected_message', `A manager may not send ${JSON.stringify(type)} to a client`);
  }
};

export const validateManagerToWorker: Validator<ManagerToWorker> = (value) => {
  const type = typeOf(value);
  if (type instanceof ProtocolError) return type;
  const v = value as Fields;
  switch (type) {
    case 'dispatch':
      if (!isInt(v['token'], 1, Number.MAX_SAFE_INTEGER)) return invalid('dispatch.token');
      if (!isText(v['id'], MAX_ID_LENGTH)) return invalid('dispatch.id');
      if (!isText(v['name'], MAX_NAME_LENGTH)) return invalid('dispatch.name');
      if (!isInt(v['attempt'], 1, MAX_ATTEMPTS)) return invalid('dispatch.attempt');
      return isDeadline(v['deadlineMs']) ? (value as ManagerToWorker) : invalid('dispatch.deadlineMs');
    case 'abort':
      if (!isInt(v['token'], 1, Number.MAX_SAFE_INTEGER)) return invalid('abort.token');
      return ABORT_REASONS.has(v['reason'] as string) ? (value as ManagerToWorker) : invalid('abort.reason');
    case 'ping':
      return value as ManagerToWorker;
    default:
      return new ProtocolError('unexpected_message', `A manager may not send ${JSON.stringify(type)} to a worker`);
  }
};

import { ERROR_STATUS, type GatewayErrorCode } from './http-errors.js';

/**
 * The OpenAPI 3.1 description served at GET /openapi.json. Kept true by tests: every (method,
 * route, status) the gateway tests provoke must be declared here, and every error code of
 * http-errors.ts must appear in the Error schema's enum.
 */

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object): object => ({ content: { 'application/json': { schema } } });
const error = (description: string, codes: GatewayErrorCode[]): object => ({
  description: `${description} Error codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
  ...json(ref('ErrorBody')),
});
const busy = {
  description: 'The system is full (`busy`) or the gateway cannot take work now (`unavailable`). Retry after the `Retry-After` header (whole seconds; the body has `retryAfterMs`).',
  headers: { 'Retry-After': { description: 'Seconds to wait before retrying (rounded up, at least 1).', schema: { type: 'integer', minimum: 1 } } },
  ...json(ref('ErrorBody')),
};
const unauthorized = {
  description: 'Missing or wrong API key (`unauthorized`); only when the gateway is configured with API keys.',
  headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
  ...json(ref('ErrorBody')),
};
const requestId = {
  name: 'X-Request-Id',
  in: 'header',
  required: false,
  description: 'Echoed back and logged; generated when absent.',
  schema: { type: 'string', maxLength: 128 },
};
const loopbackOnly = error('Not reachable from this address (health and metrics are loopback-only unless configured public).', ['forbidden']);

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'sluice HTTP gateway',
    version: '1',
    description:
      'Call sluice tasks over HTTP. The gateway bounds what it holds: when the system is full it answers 503 `busy` with `Retry-After` at once instead of queueing.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'One of the gateway\'s API keys, when it has any.' } },
    schemas: {
      StatusSnapshot: {
        type: 'object',
        description: 'See the README section "Watching the queue" for every field.',
        required: ['time', 'managerId', 'uptimeMs', 'maxLatencyMs', 'queue', 'capacity', 'totals', 'rates', 'tasks', 'workers', 'alerts', 'healthy'],
        properties: {
          queue: { type: 'object', required: ['depth', 'total', 'bound', 'boundReason', 'cap', 'fill', 'alertAt'] },
          alerts: { type: 'array', items: { type: 'object', required: ['kind', 'level', 'since', 'value', 'threshold', 'message'] } },
          healthy: { type: 'boolean', description: 'No alert is active.' },
        },
      },
      ErrorBody: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
              message: { type: 'string' },
              reason: { type: 'string', description: '`busy` only: full, latency, deadline, displaced, no_workers, draining, gateway_full, jobs_full, no_manager.' },
              retryAfterMs: { type: 'integer', description: '`busy` only: the retry hint in ms.' },
              name: { type: 'string', description: '`task_failed` only: the class name of the error the handler threw.' },
              stack: { type: 'string', description: '`task_failed` only, when the gateway exposes stacks.' },
              attempts: { type: 'integer', description: '`worker_lost` only.' },
              limitBytes: { type: 'integer', description: '`payload_too_large` only.' },
              state: { type: 'string', description: '`job_finished` only.' },
            },
          },
        },
      },
      Result: { type: 'object', required: ['result'], properties: { result: { description: 'What the task returned (JSON).' } } },
      Job: {
        type: 'object',
        required: ['id', 'name', 'state'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string', description: 'The task name.' },
          state: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'expired', 'cancelled'] },
          result: { description: 'When completed: what the task returned.' },
          error: { $ref: '#/components/schemas/ErrorBody/properties/error' },
        },
      },
      Status: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
    },
  },
  security: [{}, { bearer: [] }],
  paths: {
    '/v1/tasks/{name}': {
      post: {
        summary: 'Run a task: wait for its result, or with `Prefer: respond-async` start a job.',
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string', maxLength: 256 } },
          { name: 'Prefer', in: 'header', required: false, description: '`respond-async`: answer 202 at once with a job.', schema: { type: 'string' } },
          { name: 'Sluice-Priority', in: 'header', required: false, schema: { type: 'string', enum: ['high', 'normal', 'low', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] } },
          { name: 'Sluice-Timeout-Ms', in: 'header', required: false, description: 'The task\'s deadline in ms; also ends the wait (504).', schema: { type: 'integer', minimum: 1 } },
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'Becomes the task id: a retried POST with the same key and body attaches to the task or replays its answer instead of running it again.',
            schema: { type: 'string', maxLength: 200 },
          },
          requestId,
        ],
        requestBody: { required: false, description: 'The task\'s arguments, as JSON (at most the body limit, 1 MiB by default).', content: { 'application/json': { schema: {} } } },
        responses: {
          '200': { description: 'The task\'s result.', ...json(ref('Result')) },
          '202': {
            description: 'Job started (`Prefer: respond-async`).',
            headers: { Location: { schema: { type: 'string' } }, 'Preference-Applied': { schema: { type: 'string' } } },
            ...json(ref('Job')),
          },
          '400': error('Bad JSON body, bad header or bad request.', ['invalid_json', 'invalid_header', 'invalid_request']),
          '401': unauthorized,
          '404': error('No route, or no worker registers this task.', ['unknown_task', 'not_found']),
          '409': error('The task was cancelled (its job was deleted).', ['cancelled']),
          '413': error('Body over the limit.', ['payload_too_large']),
          '415': error('The body is not JSON.', ['unsupported_media_type']),
          '422': error('The Idempotency-Key was used with a different task or body.', ['idempotency_key_reused']),
          '500': error('The task\'s handler threw (`task_failed`: name and message), or an internal error.', ['task_failed', 'internal']),
          '502': error('The workers running the task were lost on every attempt.', ['worker_lost']),
          '503': busy,
          '504': error('The task\'s deadline passed before it had a result.', ['expired']),
        },
      },
    },
    '/v1/jobs/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, requestId],
      get: {
        summary: 'A job\'s state, and its result or error once finished.',
        responses: {
          '200': { description: 'The job.', ...json(ref('Job')) },
          '401': unauthorized,
          '404': error('Unknown job, or its result expired from the store.', ['job_not_found']),
        },
      },
      delete: {
        summary: 'Cancel a job: removed if queued, aborted if running.',
        responses: {
          '202': { description: 'Cancellation under way.', ...json(ref('Job')) },
          '401': unauthorized,
          '404': error('Unknown job.', ['job_not_found']),
          '409': error('The job had already finished.', ['job_finished']),
        },
      },
    },
    '/v1/status': {
      parameters: [requestId],
      get: {
        summary: 'The manager\'s status now: queue depth, bound and fill, capacity, counters, rates, per-task wait and service percentiles, worker nodes, active alerts.',
        responses: {
          '200': { description: 'The status snapshot.', ...json(ref('StatusSnapshot')) },
          '401': unauthorized,
          '503': error('No status from the manager (not connected, or no answer within 2 s).', ['unavailable']),
        },
      },
    },
    '/v1/status/stream': {
      parameters: [requestId],
      get: {
        summary: 'Server-sent events: `event: status` with a snapshot once a second, `event: alert` with each alert raised or cleared.',
        responses: {
          '200': { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '401': unauthorized,
          '503': error('Too many streams open.', ['unavailable']),
        },
      },
    },
    '/healthz': {
      get: { summary: 'Liveness.', security: [], responses: { '200': { description: 'Alive.', ...json(ref('Status')) }, '403': loopbackOnly } },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: connected to a manager that has workers.',
        security: [],
        responses: { '200': { description: 'Ready.', ...json(ref('Status')) }, '403': loopbackOnly, '503': error('Not ready.', ['not_ready']) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics.',
        security: [],
        responses: { '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } }, '403': loopbackOnly },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document.', security: [], responses: { '200': { description: 'OpenAPI 3.1.', ...json({ type: 'object' }) } } },
    },
  },
} as const;

/** Whether the document declares `status` for `method` on `route` (a path template such as /v1/jobs/{id}). */
export function declaresResponse(route: string, method: string, status: number): boolean {
  const path = (openApiDocument.paths as Record<string, Record<string, unknown>>)[route];
  const operation = path?.[method.toLowerCase()] as { responses?: Record<string, unknown> } | undefined;
  return operation?.responses?.[String(status)] !== undefined;
}

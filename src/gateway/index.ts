export { startGateway } from './gateway.js';
export type { Gateway } from './gateway.js';
export { resolveGatewayOptions } from './options.js';
export type { GatewayOptions, ResolvedGatewayOptions } from './options.js';
export type { StaticAsset } from './static-assets.js';
export {
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_JOBS,
  DEFAULT_JOB_TTL_MS,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_REQUESTS_PER_SOCKET,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_CLOSE_GRACE_MS,
} from './options.js';
export { ERROR_STATUS } from './http-errors.js';
export type { GatewayErrorCode } from './http-errors.js';
export { openApiDocument } from './openapi.js';
export type { JobState } from './jobs.js';

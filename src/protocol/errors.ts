import { SluiceError } from '../core/errors.js';

/**
 * Why a connection was refused or closed for breaking the protocol. Stable: tests, logs and the
 * client's reconnect policy switch on it.
 */
export type ProtocolErrorReason =
  | 'frame_too_large'
  | 'malformed_frame'
  | 'invalid_message'
  | 'unexpected_message'
  | 'version_mismatch'
  | 'handshake_timeout'
  | 'heartbeat_timeout'
  | 'slow_consumer'
  | 'closed_during_handshake'
  | 'too_many_handshakes'
  | 'bad_record_mac'
  | 'stalled';

/** The peer broke the protocol (or went silent); the connection is closed. */
export class ProtocolError extends SluiceError {
  readonly reason: ProtocolErrorReason;
  constructor(reason: ProtocolErrorReason, message: string, options?: ErrorOptions) {
    super('protocol_error', message, options);
    this.reason = reason;
  }
}

/**
 * The peer refused our proof of the shared key, failed to prove it knows it, or the two sides
 * disagree on whether a key is needed. Never retried automatically by `connect()`.
 */
export class AuthError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('auth_failed', message, options);
  }
}

/** The manager could not be reached (or the handshake not completed) within the time allowed. */
export class ConnectError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('connect_failed', message, options);
  }
}

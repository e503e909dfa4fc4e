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

/**
 * The peer broke the protocol (or went silent); the connection is closed. It carries no stack:
 * `reason` and the message tell what the peer did, a stack would only point into our decoder,
 * and a hostile peer can make us build one per connection (capturing a stack was 5 µs of the
 * 5.4 µs it took to build one).
 */
export class ProtocolError extends SluiceError {
  readonly reason: ProtocolErrorReason;
  constructor(reason: ProtocolErrorReason, message: string, options?: ErrorOptions) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('protocol_error', message, options);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
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

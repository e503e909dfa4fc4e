import type { Socket } from 'node:net';
import { newNonce } from './auth.js';
import { decodePayload, encodeFrame } from './codec.js';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './framing.js';
import type { Hello } from './messages.js';
import type { Validator } from './validate.js';

/**
 * Largest frame read before authentication: an `auth` or a `welcome` is under 400 bytes. A peer
 * that has not proven the key can make us buffer at most this much (plus one socket chunk).
 */
export const PRE_AUTH_MAX_FRAME_BYTES = 1024;

export interface HandshakeFrame<T> {
  message: T;
  /** Bytes that arrived after the frame: the start of the authenticated stream. */
  leftover: Buffer | undefined;
}

/** When reading a handshake frame gives up: a caller's signal, or a plain deadline. */
export type HandshakeDeadline = { signal: AbortSignal } | { timeoutMs: number };

/**
 * Reads exactly one frame from `socket` and validates it. Stops reading (pauses the socket) as
 * soon as it has the frame, so an unauthenticated peer is never read further. Rejects with a
 * ProtocolError on a bad frame, `closed_during_handshake` if the socket closes first,
 * `handshake_timeout` past `timeoutMs`, or with `signal.reason` on abort; the caller destroys the
 * socket then. The server passes `timeoutMs`: one timer per connection is much cheaper than an
 * `AbortSignal.timeout`, and every attacker's connection pays it.
 */
export function readHandshakeFrame<T>(socket: Socket, validate: Validator<T>, deadline: HandshakeDeadline): Promise<HandshakeFrame<T>> {
  const signal = 'signal' in deadline ? deadline.signal : undefined;
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(PRE_AUTH_MAX_FRAME_BYTES);
    let done = false;
    const finish = (error: unknown, frame?: HandshakeFrame<T>): void => {
      if (done) return;
      done = true;
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      if (frame !== undefined) resolve(frame);
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      let payload: Buffer | undefined;
      const error = decoder.push(chunk, (p) => {
        payload = p;
        return false;
      });
      if (error !== undefined) return finish(error);
      if (payload === undefined) return;
      const decoded = decodePayload(payload);
      const message = decoded instanceof ProtocolError ? decoded : validate(decoded);
      if (message instanceof ProtocolError) return finish(message);
      finish(undefined, { message, leftover: decoder.take() });
    };
    let socketError: Error | undefined;
    const onError = (error: Error): void => {
      socketError = error;
    };
    const onClose = (): void =>
      finish(new ProtocolError('closed_during_handshake', 'The peer closed the connection during the handshake', socketError === undefined ? undefined : { cause: socketError }));
    const onAbort = (): void => finish(signal!.reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (signal !== undefined) {
      if (signal.aborted) return finish(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    } else {
      timer = setTimeout(() => finish(new ProtocolError('handshake_timeout', 'handshake timed out')), (deadline as { timeoutMs: number }).timeoutMs);
      timer.unref();
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.resume();
  });
}

/**
 * The server's hello, encoded once: each connection gets a copy with its own fresh nonce written
 * in place, since every attacker's connection is sent one before it has proven anything.
 */
export function helloEncoder(versions: number[], auth: boolean): () => { frame: Buffer; nonce: Buffer } {
  const marker = newNonce();
  const template = encodeFrame({ type: 'hello', versions, nonce: marker, auth } satisfies Hello);
  const offset = template.indexOf(marker);
  return () => {
    const frame = Buffer.allocUnsafe(template.length);
    template.copy(frame);
    const nonce = newNonce();
    nonce.copy(frame, offset);
    return { frame, nonce };
  };
}

/** Writes one handshake message as a frame. */
export function writeHandshakeFrame(socket: Socket, message: unknown): void {
  socket.write(encodeFrame(message));
}

/** `host:port`, bracketing IPv6 addresses, for logs and errors. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? 'unknown';
  return h.includes(':') ? `[${h}]:${port ?? 0}` : `${h}:${port ?? 0}`;
}

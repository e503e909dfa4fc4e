import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../core/errors.js';
import type { Role } from './messages.js';
import { MAC_BYTES, NONCE_BYTES } from './validate.js';

/**
 * Mutual HMAC-SHA256 challenge-response. The server opens with a fresh nonce Ns; the peer
 * answers with its own nonce Nc and MAC(peer→server); the server answers MAC(server→peer).
 *
 *   transcript = label(direction) ‖ version ‖ versions offered ‖ role ‖ Ns ‖ Nc
 *
 * - replay: Ns is fresh per connection, so a recorded proof is worth nothing on another one;
 * - reflection: each direction has its own label, so a peer's MAC cannot be sent back as ours;
 * - downgrade: the versions the server offered are inside both MACs, so stripping a version from
 *   the hello makes the proofs disagree;
 * - role: a client's proof cannot open a worker session, nor the reverse.
 *
 * Comparisons are constant-time; key bytes never appear in a message or an error.
 */
export const MIN_KEY_BYTES = 32;

const LABEL_PEER = 'sluice/1 peer->server';
const LABEL_SERVER = 'sluice/1 server->peer';

export interface Transcript {
  version: number;
  versions: readonly number[];
  role: Role;
  serverNonce: Uint8Array;
  peerNonce: Uint8Array;
}

function mac(key: Buffer, label: string, t: Transcript): Buffer {
  const hmac = createHmac('sha256', key);
  hmac.update(label);
  const header = Buffer.alloc(4 + 2 * t.versions.length + 1);
  header.writeUInt16BE(t.version, 0);
  header.writeUInt16BE(t.versions.length, 2);
  t.versions.forEach((v, i) => header.writeUInt16BE(v, 4 + 2 * i));
  header.writeUInt8(t.role === 'client' ? 1 : 2, 4 + 2 * t.versions.length);
  hmac.update(header);
  hmac.update(t.serverNonce);
  hmac.update(t.peerNonce);
  return hmac.digest();
}

export const peerProof = (key: Buffer, t: Transcript): Buffer => mac(key, LABEL_PEER, t);
export const serverProof = (key: Buffer, t: Transcript): Buffer => mac(key, LABEL_SERVER, t);

/** Constant-time check of a received MAC against the expected one. */
export function proofMatches(expected: Buffer, received: Uint8Array): boolean {
  return received.length === MAC_BYTES && timingSafeEqual(expected, received);
}

/**
 * Nonces are cut from a pool of CSPRNG output, each byte used once, as node's randomUUID does:
 * one `randomBytes` call per 128 nonces instead of one per connection, where it was a tenth of
 * what a refused connection cost the manager.
 */
const NONCES_PER_POOL = 128;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

export function newNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * NONCES_PER_POOL);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

/** A new shared key: 32 bytes from the OS CSPRNG, as hex (what `sluice keygen` prints). */
export function generateKey(): string {
  return randomBytes(MIN_KEY_BYTES).toString('hex');
}

/**
 * Reads a shared key from its text form — hex or base64, surrounding whitespace ignored — given
 * as a string or as the bytes of a key file. Refuses keys shorter than 32 bytes. Error messages
 * never include the key.
 */
export function parseKey(input: string | Uint8Array): Buffer {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new InvalidArgumentError('Expected a key as hex or base64 text, or the bytes of a key file');
  }
  const text = (typeof input === 'string' ? input : Buffer.from(input).toString('utf8')).trim();
  let key: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) key = Buffer.from(text, 'base64');
  else throw new InvalidArgumentError('Expected a key as hex or base64 text (as printed by `sluice keygen`); the text given is neither');
  if (key.length < MIN_KEY_BYTES) {
    throw new InvalidArgumentError(`Expected a key of at least ${MIN_KEY_BYTES} bytes, got ${key.length} bytes (generate one with \`sluice keygen\`)`);
  }
  return key;
}

/** For options that take raw key bytes: the same length rule, same wording. */
export function checkKeyBytes(key: Uint8Array, option: string): void {
  if (key.length < MIN_KEY_BYTES) {
    throw new InvalidArgumentError(`Expected \`${option}\` to hold at least ${MIN_KEY_BYTES} bytes, got ${key.length} (generate one with \`sluice keygen\`)`);
  }
}

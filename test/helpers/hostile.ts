// Hostile peers against a manager's port, for the live fuzz test and `npm run fuzz:live` /
// `npm run bench:slow-peers`. Every loop is bounded in count and in time; randomness is seeded.
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { encodeFrame } from '../../src/protocol/codec.js';
import { RawPeer } from '../../src/protocol/raw-peer.test-helpers.js';

/** mulberry32: small, fast and reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface AttackStats {
  connections: number;
  frames: number;
  /** Connections the manager closed (as it should: every attack ends in a close). */
  closedByServer: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function bytesOf(random: () => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = Math.floor(random() * 256);
  return b;
}

/** A message a client might send, then broken in one of several ways. */
function mutatedFrame(random: () => number): Buffer {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const odd = (): unknown => pick([Number.NaN, Infinity, -1, 2 ** 53, '', 'x'.repeat(300), null, [], {}, [[[[1]]]], bytesOf(random, 8), true]);
  const base: Record<string, unknown> = pick([
    { type: 'submit', id: `f${Math.floor(random() * 1e9)}`, name: 'fuzz-unknown', args: { n: random() }, priority: 5 },
    { type: 'cancel', id: `f${Math.floor(random() * 1e9)}` },
    { type: 'ping' },
    { type: 'outcome', token: 1, status: 'completed', result: null },
    { type: 'register', nodeId: 'fuzz', capacity: 1, tasks: ['noop'] },
  ]);
  const message = { ...base };
  const keys = [...Object.keys(message), '__proto__', 'constructor', 'deadlineMs', 'maxAttempts'];
  // defineProperty: a plain `message['__proto__'] = …` would set the prototype, not send a key.
  for (let i = 0, n = 1 + Math.floor(random() * 3); i < n; i++) Object.defineProperty(message, pick(keys), { value: odd(), enumerable: true, writable: true, configurable: true });
  const frame = Buffer.from(encodeFrame(message));
  switch (Math.floor(random() * 4)) {
    case 0: // flip a bit anywhere, length included
      frame[Math.floor(random() * frame.length)]! ^= 1 << Math.floor(random() * 8);
      return frame;
    case 1: // cut short
      return frame.subarray(0, Math.floor(random() * frame.length));
    case 2: // random payload behind an honest length
      return encodeRaw(bytesOf(random, 1 + Math.floor(random() * 256)));
    default: // well-formed msgpack, invalid as a message
      return frame;
  }
}

function encodeRaw(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

async function waitClosed(peer: RawPeer, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([peer.closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
  clearTimeout(timer);
  if (!closed) peer.socket.destroy();
  return closed;
}

/**
 * `connections` lanes, each opening connection after connection until `untilMs` (Date.now()) and
 * throwing one kind of bad input at each: garbage or an HTTP request before the handshake, a
 * mutated auth, or — authenticated with the key, unless `withKey` is false — mutated frames,
 * sealed or not. With `honestKeyHolders`, those that authenticate send only the valid frames and
 * leave where they would have broken the stream: the same authenticated traffic, without the bad
 * input, to tell what the bad input costs from what serving the traffic does.
 */
export async function fuzz(options: { port: number; key: Buffer; connections: number; untilMs: number; seed: number; intervalMs?: number; withKey?: boolean; honestKeyHolders?: boolean }): Promise<AttackStats> {
  const stats: AttackStats = { connections: 0, frames: 0, closedByServer: 0 };
  const interval = options.intervalMs ?? 100;
  const lane = async (index: number): Promise<void> => {
    const random = seededRandom(options.seed * 1_000 + index);
    for (let round = 0; round < 1_000_000 && Date.now() < options.untilMs; round++) {
      const peer = new RawPeer(options.port);
      stats.connections++;
      try {
        await peer.frame(0, 2_000);
      } catch {
        peer.socket.destroy();
        await sleep(interval);
        continue;
      }
      // Modes 3 and 4 hold the key; without it, only the first three.
      const mode = Math.floor(random() * (options.withKey === false ? 3 : 5));
      if (mode === 0) peer.socket.write(bytesOf(random, 1 + Math.floor(random() * 512)));
      else if (mode === 1) peer.socket.write('POST /v1/tasks/x HTTP/1.1\r\nHost: manager\r\nContent-Length: 2\r\n\r\n{}');
      else if (mode === 2) peer.send({ type: 'auth', version: 1, role: 'client', nonce: randomBytes(32), mac: bytesOf(random, 32) });
      else {
        let seal: (messages: unknown[]) => Buffer;
        try {
          seal = await peer.authenticate(options.key);
        } catch {
          peer.socket.destroy();
          continue;
        }
        // Authenticated: valid frames sealed properly, then a broken one (sealed, so it reaches the
        // decoder and validators) or an unsealed injection.
        for (let i = 0; i < 50 && !peer.socket.destroyed && Date.now() < options.untilMs; i++) {
          const valid = random() < 0.8;
          if (!valid && options.honestKeyHolders === true) break;
          stats.frames++;
          if (valid) peer.socket.write(seal([{ type: 'cancel', id: `ok${i}` }]));
          else if (mode === 3) peer.socket.write(seal([mutatedFrame(random)]));
          else peer.socket.write(mutatedFrame(random));
          await sleep(interval);
        }
        if (options.honestKeyHolders === true) peer.socket.end();
      }
      stats.frames++;
      if (await waitClosed(peer, 2_000)) stats.closedByServer++;
      await sleep(interval);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => lane(i)));
  return stats;
}

/**
 * `count` sockets that each trickle a byte a second and never finish a handshake; each one the
 * manager closes is replaced until `untilMs`, so the pressure holds.
 */
export async function trickle(options: { port: number; count: number; untilMs: number }): Promise<AttackStats> {
  const stats: AttackStats = { connections: 0, frames: 0, closedByServer: 0 };
  const sockets = new Set<Socket>();
  const open = (): void => {
    if (Date.now() >= options.untilMs) return;
    const socket = connectTcp({ host: '127.0.0.1', port: options.port });
    stats.connections++;
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      stats.closedByServer++;
      setTimeout(open, 100 + Math.random() * 400); // not in lockstep
    });
    sockets.add(socket);
  };
  for (let i = 0; i < options.count; i++) open();
  while (Date.now() < options.untilMs) {
    for (const s of sockets) {
      if (s.writable) {
        s.write(Buffer.from([0]));
        stats.frames++;
      }
    }
    await sleep(Math.min(1_000, Math.max(0, options.untilMs - Date.now())));
  }
  for (const s of sockets) s.destroy();
  return stats;
}

/**
 * `count` authenticated clients that submit a burst of work, never read the answers, and keep
 * the link alive with pings; the manager must close them when their output stalls or passes its
 * cap. Each closed one is replaced until `untilMs`.
 */
export async function stopReading(options: { port: number; key: Buffer; count: number; burst: number; untilMs: number; onAuthenticated?: () => void }): Promise<AttackStats> {
  const stats: AttackStats = { connections: 0, frames: 0, closedByServer: 0 };
  const lane = async (): Promise<void> => {
    for (let round = 0; round < 10_000 && Date.now() < options.untilMs; round++) {
      const peer = new RawPeer(options.port);
      stats.connections++;
      let seal: (messages: unknown[]) => Buffer;
      try {
        seal = await peer.authenticate(options.key);
      } catch {
        peer.socket.destroy();
        await sleep(100);
        continue;
      }
      options.onAuthenticated?.();
      peer.socket.pause();
      const submits = Array.from({ length: options.burst }, (_, i) => ({ type: 'submit', id: `s${round}-${i}`, name: 'fuzz-unknown', args: null, priority: 0 }));
      peer.socket.write(seal(submits));
      stats.frames += submits.length;
      while (!peer.socket.destroyed && Date.now() < options.untilMs) {
        peer.socket.write(seal([{ type: 'ping' }]));
        await Promise.race([peer.closed, sleep(500)]);
      }
      if (Date.now() < options.untilMs) stats.closedByServer++;
      peer.socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: options.count }, lane));
  return stats;
}

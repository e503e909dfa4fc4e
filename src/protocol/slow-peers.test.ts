// Slow and stalled peers on real sockets: each is closed at its deadline or output cap while an
// authenticated client keeps getting answers. (Latency under this load is measured by
// `npm run bench:hostile`, not asserted here.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { encodeFrame } from './codec.js';
import { dial } from './dial.js';
import { ProtocolError } from './errors.js';
import { RawPeer } from './raw-peer.test-helpers.js';
import { createServer, type ProtocolServer, type ServerConnection, type ServerOptions } from './server.js';

const key = randomBytes(32);
const servers: ProtocolServer[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

/** A server answering `cancel` with `cancelled`, and `ping`-less `submit` with `size` bytes. */
async function startServer(options: Partial<ServerOptions>) {
  const closes = new Map<string, string | undefined>();
  const server = createServer({ host: '127.0.0.1', port: 0, key, ...options }, (c: ServerConnection) => {
    c.on('message', (m) => {
      const message = m as { type: string; id: string; args?: { size?: number } };
      if (message.type === 'cancel') c.send({ type: 'cancelled', id: message.id });
      if (message.type === 'submit') c.send({ type: 'completed', id: message.id, result: Buffer.alloc(message.args?.size ?? 0) });
    });
    c.on('close', (error) => closes.set(c.remoteAddress, error instanceof ProtocolError ? error.reason : error?.message));
  });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port, closes };
}

/** Round trips a legitimate client completes until `stop` resolves; every one must be answered. */
async function legitimateLoad(port: number, stop: Promise<unknown>): Promise<number> {
  const connection = await dial({ host: '127.0.0.1', port, role: 'client', key });
  let done = false;
  void stop.then(() => (done = true));
  let roundTrips = 0;
  for (let i = 0; !done && i < 100_000; i++) {
    const answer = once(connection, 'message');
    connection.send({ type: 'cancel', id: `legit-${i}` });
    const [message] = (await answer) as [{ id: string }];
    assert.equal(message.id, `legit-${i}`);
    roundTrips++;
    await new Promise((r) => setTimeout(r, 5));
  }
  await connection.close();
  return roundTrips;
}

async function closedAs(closes: Map<string, string | undefined>, address: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!closes.has(address) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return closes.get(address);
}

describe('slow and stalled peers', () => {
  it('1,000 sockets trickling a byte a second before the handshake: closed at the deadline or to make room, never locking a new client out', async () => {
    // A cap below the crowd: 800 are closed as newer ones arrive, 200 at their deadline.
    const { server, port } = await startServer({ handshakeTimeoutMs: 1_500, maxFailuresPerAddress: 0, maxHandshakes: 200 });
    let release!: () => void;
    const stop = new Promise<void>((resolve) => (release = resolve));
    const load = legitimateLoad(port, stop);
    const sockets: Socket[] = [];
    const closed: Promise<unknown>[] = [];
    const served: Promise<unknown>[] = [];
    const opened = Date.now();
    for (let i = 0; i < 1_000; i++) {
      const socket = connectTcp({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      closed.push(new Promise((resolve) => socket.once('close', resolve)));
      served.push(Promise.race([once(socket, 'data'), closed.at(-1)]));
      sockets.push(socket);
    }
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed && s.writable) s.write(Buffer.from([0]));
    }, 1_000);
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    try {
      // Once every trickler has its hello (or was closed to make room), all 200 slots are held;
      // a client arriving now still gets in.
      await Promise.all(served);
      const arrival = Date.now();
      const newcomer = await dial({ host: '127.0.0.1', port, role: 'client', key, handshakeTimeoutMs: 1_000 });
      const arrivalMs = Date.now() - arrival;
      await newcomer.close();
      assert.ok(arrivalMs < 1_000, `a new client authenticated in ${arrivalMs} ms`);
      await Promise.race([Promise.all(closed), new Promise((_, reject) => (giveUp = setTimeout(() => reject(new Error('tricklers still open')), 10_000)))]);
    } finally {
      clearInterval(drip);
      clearTimeout(giveUp);
    }
    const elapsed = Date.now() - opened;
    assert.ok(elapsed < 1_500 + 5_000, `all closed in ${elapsed} ms`);
    assert.equal(server.failedHandshakes, 1_000, 'each trickler failed: timed out or closed to make room');
    release();
    assert.ok((await load) > 0, 'the authenticated client was answered throughout');
  });

  it('authenticated peers trickling a frame a byte at a time: closed at the heartbeat deadline', async () => {
    const { port, closes } = await startServer({ heartbeatMs: 100 });
    const peers = await Promise.all(Array.from({ length: 50 }, async () => {
      const peer = new RawPeer(port);
      await peer.authenticate(key);
      return { peer, address: `127.0.0.1:${peer.socket.localPort}` };
    }));
    const frame = encodeFrame({ type: 'cancel', id: 'never-finished' });
    let sent = 0;
    const drip = setInterval(() => {
      for (const { peer } of peers) if (!peer.socket.destroyed) peer.socket.write(frame.subarray(sent, sent + 1));
      sent = (sent + 1) % (frame.length - 1);
    }, 20);
    try {
      for (const { address } of peers) assert.equal(await closedAs(closes, address, 5_000), 'heartbeat_timeout');
    } finally {
      clearInterval(drip);
    }
  });

  it('an authenticated peer that stops reading: closed at its output cap', async () => {
    const { port, closes } = await startServer({ maxOutputBytes: 1024 * 1024 });
    const peer = new RawPeer(port);
    const seal = await peer.authenticate(key);
    const address = `127.0.0.1:${peer.socket.localPort}`;
    peer.socket.pause();
    peer.socket.write(seal(Array.from({ length: 64 }, (_, i) => ({ type: 'submit', id: `big-${i}`, name: 'x', args: { size: 256 * 1024 }, priority: 5 }))));
    assert.equal(await closedAs(closes, address, 5_000), 'slow_consumer');
    peer.socket.destroy();
  });

  it('an authenticated peer that keeps sending but stops reading: closed when its output stalls', async () => {
    const { port, closes } = await startServer({ key: undefined, heartbeatMs: 100 });
    const peer = new RawPeer(port);
    await peer.authenticate(undefined);
    const address = `127.0.0.1:${peer.socket.localPort}`;
    peer.socket.pause();
    // 32 MiB: more than the kernel buffers on both ends, less than the 64 MiB output cap.
    for (let i = 0; i < 32; i++) peer.send({ type: 'submit', id: `s-${i}`, name: 'x', args: { size: 1024 * 1024 }, priority: 5 });
    const keepAlive = setInterval(() => peer.send({ type: 'ping' }), 50);
    try {
      assert.equal(await closedAs(closes, address, 10_000), 'slow_consumer');
    } finally {
      clearInterval(keepAlive);
      peer.socket.destroy();
    }
  });
});

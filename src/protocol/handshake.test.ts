// The handshake on real sockets: what an unauthenticated peer can and cannot do.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { peerProof, serverProof, parseKey, generateKey, type Transcript } from './auth.js';
import { encodeFrame } from './codec.js';
import { dial } from './dial.js';
import { AuthError, ProtocolError } from './errors.js';
import type { Hello, Welcome } from './messages.js';
import { RawPeer } from './raw-peer.test-helpers.js';
import { createServer, type ProtocolServer, type ServerConnection } from './server.js';

const key = randomBytes(32);
const servers: ProtocolServer[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

async function startServer(options: { key?: Buffer; handshakeTimeoutMs?: number; maxHandshakes?: number; maxFailuresPerAddress?: number } = {}) {
  const accepted: ServerConnection[] = [];
  const failures: string[] = [];
  const server = createServer({ host: '127.0.0.1', port: 0, managerId: 'test', ...options }, (c) => {
    accepted.push(c);
    c.on('message', (m) => {
      if ((m as { type: string }).type === 'cancel') c.send({ type: 'cancelled', id: (m as { id: string }).id });
    });
  });
  server.on('handshakeFailed', (f) => failures.push(f.reason));
  servers.push(server);
  const { port } = await server.listen();
  return { server, port, accepted, failures };
}

function authFor(hello: Hello, options: { key?: Buffer; role?: 'client' | 'worker'; version?: number; versions?: number[]; nonce?: Buffer } = {}) {
  const nonce = options.nonce ?? randomBytes(32);
  const t: Transcript = { version: options.version ?? 1, versions: options.versions ?? hello.versions, role: options.role ?? 'client', serverNonce: hello.nonce, peerNonce: nonce };
  return { message: { type: 'auth', version: t.version, role: t.role, nonce, mac: peerProof(options.key ?? key, t) }, transcript: t };
}

describe('handshake', () => {
  it('authenticates both ways with the right key and carries messages', async () => {
    const { port, accepted } = await startServer({ key });
    const connection = await dial({ host: '127.0.0.1', port, role: 'client', key, name: 'tester' });
    assert.equal(connection.managerId, 'test');
    const answer = once(connection, 'message');
    connection.send({ type: 'cancel', id: 'x' });
    assert.deepEqual((await answer)[0], { type: 'cancelled', id: 'x' });
    assert.equal(accepted[0]?.peerName, 'tester');
    assert.equal(accepted[0]?.role, 'client');
    await connection.close();
  });

  it('sends nothing but the hello before authentication: byte-exact', async () => {
    const { port } = await startServer({ key });
    const peer = new RawPeer(port);
    const hello = (await peer.frame(0)) as Hello;
    await new Promise((r) => setTimeout(r, 100));
    const expected = encodeFrame({ type: 'hello', versions: [1], nonce: hello.nonce, auth: true });
    assert.deepEqual(Buffer.concat(peer.bytes), expected);
    peer.send({ type: 'submit', id: 'x', name: 'y', args: null, priority: 5 });
    await peer.closed;
    assert.deepEqual(Buffer.concat(peer.bytes), expected, 'closed without another byte');
  });

  it('gives every connection a hello of its own nonce, past the nonce pool\'s refill', async () => {
    // Each peer here leaves mid-handshake, a failure: no per-address limit, or the 31st is refused.
    const { port } = await startServer({ key, maxFailuresPerAddress: 0 });
    const nonces = new Set<string>();
    // Past 128, where the pool of nonces is refilled.
    for (let i = 0; i < 300; i += 20) {
      const hellos = await Promise.all(Array.from({ length: 20 }, async () => {
        const peer = new RawPeer(port);
        const hello = (await peer.frame(0)) as Hello;
        peer.socket.destroy();
        assert.deepEqual(Buffer.concat(peer.bytes), encodeFrame({ type: 'hello', versions: [1], nonce: hello.nonce, auth: true }));
        return hello;
      }));
      for (const hello of hellos) {
        assert.equal(hello.nonce.length, 32);
        nonces.add(Buffer.from(hello.nonce).toString('hex'));
      }
    }
    assert.equal(nonces.size, 300, 'no nonce repeats');
  });

  it('refuses a wrong key: dial rejects with AuthError, the server reports the failure', async () => {
    const { port, failures, accepted } = await startServer({ key });
    await assert.rejects(dial({ host: '127.0.0.1', port, role: 'client', key: randomBytes(32) }), AuthError);
    assert.equal(accepted.length, 0);
    assert.equal(failures.length, 1);
  });

  it('refuses a peer without a key, and a keyed peer facing a server without one', async () => {
    const keyed = await startServer({ key });
    await assert.rejects(dial({ host: '127.0.0.1', port: keyed.port, role: 'client' }), AuthError);
    const open = await startServer();
    await assert.rejects(dial({ host: '127.0.0.1', port: open.port, role: 'client', key }), AuthError);
    const c = await dial({ host: '127.0.0.1', port: open.port, role: 'worker' });
    await c.close();
  });

  it('refuses a replayed transcript: a proof recorded on one connection is worthless on another', async () => {
    const { port, accepted } = await startServer({ key });
    const first = new RawPeer(port);
    const hello1 = (await first.frame(0)) as Hello;
    const recorded = authFor(hello1);
    first.send(recorded.message);
    assert.equal(((await first.frame(1)) as Welcome).type, 'welcome');
    const second = new RawPeer(port);
    await second.frame(0);
    second.send(recorded.message); // same nonce and MAC, new server nonce
    await second.closed;
    assert.equal(second.frames.length, 1, 'nothing after the hello');
    assert.equal(accepted.length, 1);
    first.socket.destroy();
  });

  it('refuses a reflected challenge: the server\'s own proof sent back as ours', async () => {
    const { port, accepted } = await startServer({ key });
    const peer = new RawPeer(port);
    const hello = (await peer.frame(0)) as Hello;
    const nonce = randomBytes(32);
    const t: Transcript = { version: 1, versions: hello.versions, role: 'client', serverNonce: hello.nonce, peerNonce: nonce };
    peer.send({ type: 'auth', version: 1, role: 'client', nonce, mac: serverProof(key, t) });
    await peer.closed;
    assert.equal(accepted.length, 0);
  });

  it('refuses a MAC with one bit flipped', async () => {
    const { port, accepted } = await startServer({ key });
    const peer = new RawPeer(port);
    const hello = (await peer.frame(0)) as Hello;
    const { message } = authFor(hello);
    message.mac[7] = (message.mac[7] as number) ^ 0x10;
    peer.send(message);
    await peer.closed;
    assert.equal(accepted.length, 0);
  });

  it('refuses a downgrade: a proof over a different version list, or a role other than the one proven', async () => {
    const { port, accepted } = await startServer({ key });
    const downgraded = new RawPeer(port);
    const hello = (await downgraded.frame(0)) as Hello;
    downgraded.send(authFor(hello, { versions: [0, 1] }).message);
    await downgraded.closed;
    const roleSwap = new RawPeer(port);
    const hello2 = (await roleSwap.frame(0)) as Hello;
    const proof = authFor(hello2, { role: 'client' }).message;
    roleSwap.send({ ...proof, role: 'worker' });
    await roleSwap.closed;
    const unsupported = new RawPeer(port);
    const hello3 = (await unsupported.frame(0)) as Hello;
    unsupported.send(authFor(hello3, { version: 99 }).message);
    await unsupported.closed;
    assert.equal(accepted.length, 0);
  });

  it('closes garbage, an HTTP request and an oversized first frame without reading further', async () => {
    const { port, failures, accepted } = await startServer({ key });
    for (const bytes of [randomBytes(64), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]) {
      const peer = new RawPeer(port);
      await peer.frame(0);
      peer.socket.write(bytes);
      await peer.closed;
    }
    assert.equal(failures.length, 3);
    assert.equal(accepted.length, 0);
    const c = await dial({ host: '127.0.0.1', port, role: 'client', key });
    await c.close();
  });

  it('closes a peer that says nothing at the handshake deadline', async () => {
    const { port, failures } = await startServer({ key, handshakeTimeoutMs: 200 });
    const peer = new RawPeer(port);
    const started = Date.now();
    await peer.closed;
    assert.ok(Date.now() - started < 2_000);
    assert.match(failures[0] ?? '', /timed out/);
  });

  it('caps concurrent handshakes: a newcomer closes the oldest, so slow peers cannot lock clients out', async () => {
    const { server, port, failures } = await startServer({ key, maxHandshakes: 2 });
    const slow = [new RawPeer(port), new RawPeer(port)];
    await slow[0]!.frame(0);
    await slow[1]!.frame(0);
    const newcomer = new RawPeer(port);
    await newcomer.authenticate(key); // served at once although both slots were taken
    await slow[0]!.closed;
    assert.equal(slow[1]!.socket.destroyed, false, 'only the oldest makes room');
    assert.match(failures.at(-1) ?? '', /closed to make room: 2 handshakes in progress/);
    assert.equal(server.failedHandshakes, 1);
    // The authenticated newcomer no longer holds a slot: the next one takes it, the one after
    // that closes the oldest.
    const fourth = new RawPeer(port);
    await fourth.frame(0);
    assert.equal(slow[1]!.socket.destroyed, false);
    const fifth = new RawPeer(port);
    await fifth.frame(0);
    await slow[1]!.closed;
    assert.equal(fourth.socket.destroyed, false);
    assert.equal(server.failedHandshakes, 2);
    for (const p of [newcomer, fourth, fifth]) p.socket.destroy();
  });

  it('counts failed handshakes and refuses an address past its limit, unread, while others connect', async () => {
    const { server, port, failures } = await startServer({ key, maxFailuresPerAddress: 3 });
    const refused: string[] = [];
    server.on('addressRefused', (r) => refused.push(r.address));
    for (let i = 0; i < 3; i++) {
      const peer = new RawPeer(port, '127.0.0.2');
      await peer.frame(0);
      peer.send({ type: 'auth', version: 1, role: 'client', nonce: randomBytes(32), mac: randomBytes(32) });
      await peer.closed;
    }
    assert.equal(server.failedHandshakes, 3);
    assert.deepEqual(refused, ['127.0.0.2']);
    const blocked = new RawPeer(port, '127.0.0.2');
    await blocked.closed;
    assert.equal(Buffer.concat(blocked.bytes).length, 0, 'not even a hello');
    assert.equal(server.refusedConnections, 1);
    assert.equal(failures.length, 3, 'a refusal is not reported as another failure');
    const other = new RawPeer(port, '127.0.0.3');
    await other.authenticate(key);
    other.socket.destroy();
  });

  it('refuses to listen off loopback without a key, and keys shorter than 32 bytes', async () => {
    const server = createServer({ host: '0.0.0.0', port: 0 }, () => {});
    await assert.rejects(server.listen(), /without a key/);
    assert.throws(() => createServer({ host: '127.0.0.1', port: 0, key: randomBytes(16) }, () => {}), /at least 32 bytes/);
    await assert.rejects(dial({ host: '127.0.0.1', port: 1, role: 'client', key: randomBytes(31) }), /at least 32 bytes/);
  });

  it('closes an authenticated peer that sends an invalid message, and reports why', async () => {
    const { port, accepted } = await startServer();
    const c = await dial({ host: '127.0.0.1', port, role: 'client' });
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = once(accepted[0] as ServerConnection, 'close');
    c.send({ type: 'submit', id: '', name: 'x', args: null, priority: 5 } as never);
    const [error] = (await closed) as [ProtocolError];
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.reason, 'invalid_message');
  });
});

describe('keys', () => {
  it('generateKey gives 32 random bytes as hex that parseKey reads back', () => {
    const text = generateKey();
    assert.match(text, /^[0-9a-f]{64}$/);
    assert.equal(parseKey(`${text}\n`).length, 32);
    assert.notEqual(generateKey(), text);
    assert.equal(parseKey(randomBytes(48).toString('base64')).length, 48);
  });

  it('refuses short or unreadable keys without echoing them', () => {
    const short = randomBytes(16).toString('hex');
    assert.throws(() => parseKey(short), (e: Error) => /at least 32 bytes/.test(e.message) && !e.message.includes(short));
    assert.throws(() => parseKey('not a key!'), (e: Error) => !e.message.includes('not a key'));
  });
});

// Named hostile inputs, each sent over a real socket to a keyed server, before and after the
// handshake. Each closes the connection with an error value and leaves the server serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { decodePayload, MAX_NESTING } from './codec.js';
import { dial } from './dial.js';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './framing.js';
import { RawPeer } from './raw-peer.test-helpers.js';
import { createServer, type ProtocolServer, type ServerConnection } from './server.js';

const key = randomBytes(32);
let server: ProtocolServer;
let port: number;
const failures: string[] = [];
const received: unknown[] = [];
/** Why the server closed each authenticated connection, by the peer's address. */
const closes = new Map<string, string | undefined>();
const closeReason = (error: Error | undefined): string | undefined => (error instanceof ProtocolError ? error.reason : error?.message);

before(async () => {
  server = createServer({ host: '127.0.0.1', port: 0, key, managerId: 'regressions', handshakeTimeoutMs: 2_000 }, (c: ServerConnection) => {
    c.on('message', (m) => received.push(m));
    c.on('close', (error) => closes.set(c.remoteAddress, closeReason(error)));
  });
  server.on('handshakeFailed', (f) => failures.push(f.reason));
  ({ port } = await server.listen());
});
after(() => server.close());

/** A real TLS ClientHello, as a TLS client sends it to what it believes is a TLS port. */
async function captureClientHello(): Promise<Buffer> {
  const sink = createTcpServer();
  const first = new Promise<Buffer>((resolve) => sink.once('connection', (s) => s.once('data', (chunk: Buffer) => {
    resolve(chunk);
    s.destroy();
  })));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const tls = connectTls({ host: '127.0.0.1', port: (sink.address() as AddressInfo).port, servername: 'localhost' });
  tls.on('error', () => {});
  const hello = await first;
  tls.destroy();
  sink.close();
  return hello;
}

/** Sends `bytes` after the hello, as an unauthenticated peer; resolves with what came back. */
async function preAuth(bytes: Buffer): Promise<Buffer> {
  const peer = new RawPeer(port);
  await peer.frame(0);
  peer.socket.write(bytes);
  await peer.closed;
  return Buffer.concat(peer.bytes);
}

/** Authenticates, then sends `bytes` (or sealed messages); resolves with why the server closed. */
async function postAuth(send: (seal: (messages: unknown[]) => Buffer, peer: RawPeer) => void): Promise<string | undefined> {
  const peer = new RawPeer(port);
  const seal = await peer.authenticate(key);
  const address = addressOf(peer);
  send(seal, peer);
  await peer.closed;
  return closedAs(address);
}

const addressOf = (peer: RawPeer): string => `127.0.0.1:${peer.socket.localPort}`;

async function closedAs(address: string): Promise<string | undefined> {
  for (let i = 0; !closes.has(address) && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
  return closes.get(address);
}

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length, 0);
  return h;
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function stillServes(): Promise<void> {
  const connection = await dial({ host: '127.0.0.1', port, role: 'client', key });
  await connection.close();
}

describe('named hostile inputs', () => {
  it('a zero-length frame and 8 zero bytes: closed before and after authentication', async () => {
    for (const bytes of [header(0), Buffer.alloc(8)]) {
      const failed = failures.length;
      await preAuth(bytes);
      assert.match(failures[failed] ?? '', /Zero-length frame/);
      assert.equal(await postAuth((_, peer) => peer.socket.write(bytes)), 'malformed_frame');
    }
    await stillServes();
  });

  it('a declared length of 2^32−1: closed from the header, before any allocation', async () => {
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    assert.equal(decoder.push(Buffer.concat([header(0xffff_ffff), randomBytes(1024)]), () => assert.fail())?.reason, 'frame_too_large');
    assert.equal(decoder.buffered, 0, 'nothing kept');
    const external = (): number => process.memoryUsage().arrayBuffers;
    const start = external();
    await preAuth(Buffer.concat([header(0xffff_ffff), randomBytes(64)]));
    assert.equal(await postAuth((_, peer) => peer.socket.write(Buffer.concat([header(0xffff_ffff), randomBytes(64)]))), 'frame_too_large');
    assert.ok(external() - start < 8 * 1024 * 1024, `buffers grew by ${external() - start} bytes`);
    await stillServes();
  });

  it('an HTTP request and a TLS ClientHello: closed after the hello, nothing more sent', async () => {
    const clientHello = await captureClientHello();
    assert.equal(clientHello[0], 0x16, 'a TLS handshake record');
    for (const bytes of [Buffer.from('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n'), clientHello]) {
      const failed = failures.length;
      const back = await preAuth(bytes);
      const frames: unknown[] = [];
      assert.equal(new FrameDecoder(1024).push(back, (p) => void frames.push(decodePayload(p))), undefined);
      assert.deepEqual(frames.map((f) => (f as { type: string }).type), ['hello']);
      assert.equal(failures.length, failed + 1);
    }
    await stillServes();
  });

  it('NaN and Infinity where numbers are checked: refused; inside task arguments: carried', async () => {
    const peer = new RawPeer(port);
    const hello = (await peer.frame(0)) as { nonce: Uint8Array };
    peer.send({ type: 'auth', version: Number.NaN, role: 'client', nonce: hello.nonce, mac: Buffer.alloc(32) });
    await peer.closed;
    for (const bad of [{ priority: Number.NaN }, { priority: Infinity }, { deadlineMs: Number.NaN }, { deadlineMs: Infinity }, { maxAttempts: Infinity }]) {
      const submit = { type: 'submit', id: 'n', name: 'x', args: null, priority: 5, ...bad };
      assert.equal(await postAuth((seal, p) => p.socket.write(seal([submit]))), 'invalid_message', JSON.stringify(bad));
    }
    const count = received.length;
    const connection = new RawPeer(port);
    connection.socket.write((await connection.authenticate(key))([{ type: 'submit', id: 'ok', name: 'x', args: [Number.NaN, Infinity, -Infinity], priority: 5 }]));
    for (let i = 0; received.length === count && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual((received[count] as { args: unknown }).args, [Number.NaN, Infinity, -Infinity]);
    connection.socket.destroy();
  });

  it(`nesting deeper than ${MAX_NESTING} levels: refused; ${MAX_NESTING} levels: carried; a million: refused without a crash`, async () => {
    const submit = (args: unknown): unknown => ({ type: 'submit', id: 'deep', name: 'x', args, priority: 5 });
    assert.equal(await postAuth((seal, p) => p.socket.write(seal([submit(nested(MAX_NESTING))]))), 'invalid_message');
    const count = received.length;
    const peer = new RawPeer(port);
    peer.socket.write((await peer.authenticate(key))([submit(nested(MAX_NESTING - 2))]));
    for (let i = 0; received.length === count && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.length, count + 1, 'the submit itself is level 1, so args may nest 63 levels');
    peer.socket.destroy();
    const million = Buffer.alloc(1_000_000, 0x91); // fixarray(1), a million times
    million[million.length - 1] = 0x01;
    assert.equal(await postAuth((_, p) => p.socket.write(Buffer.concat([header(million.length), million]))), 'bad_record_mac');
    const open = createServer({ host: '127.0.0.1', port: 0 }, (c) => c.on('close', (error) => closes.set(c.remoteAddress, closeReason(error))));
    const { port: openPort } = await open.listen();
    const unkeyed = new RawPeer(openPort);
    await unkeyed.authenticate(undefined);
    const address = addressOf(unkeyed);
    unkeyed.socket.write(Buffer.concat([header(million.length), million]));
    await unkeyed.closed;
    assert.equal(await closedAs(address), 'malformed_frame');
    await open.close();
    await stillServes();
  });

  it('__proto__ and constructor keys: carried as plain data, Object.prototype untouched', async () => {
    const hostile = JSON.parse(`{"type":"submit","id":"proto","name":"x","priority":5,"__proto__":{"polluted":3},"constructor":{"prototype":{"polluted":4}},
      "args":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"toString":"x"}}`) as Record<string, unknown>;
    assert.ok(Object.keys(hostile).includes('__proto__'), 'JSON.parse makes __proto__ an own key, so it is sent');
    const count = received.length;
    const peer = new RawPeer(port);
    const seal = await peer.authenticate(key);
    peer.socket.write(seal([hostile]));
    for (let i = 0; received.length === count && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    const message = received[count] as Record<string, unknown>;
    assert.equal(message['type'], 'submit');
    assert.equal(Object.getPrototypeOf(message), Object.prototype);
    assert.equal(Object.getPrototypeOf(message['args']), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    assert.equal(typeof ({}).toString, 'function');
    peer.socket.destroy();
  });
});

// Sealed records after a keyed handshake: what an attacker on the wire can no longer do.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFrame } from './codec.js';
import { dial } from './dial.js';
import { ProtocolError } from './errors.js';
import { RawPeer } from './raw-peer.test-helpers.js';
import { createServer, type ProtocolServer, type ServerConnection, type ServerOptions } from './server.js';
import { deriveSessionKeys, RecordOpener, RecordSealer, RECORD_TARGET_BYTES } from './session.js';

const key = randomBytes(32);
const servers: ProtocolServer[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

async function startServer(options: Partial<ServerOptions> = {}) {
  const accepted: ServerConnection[] = [];
  const received: unknown[] = [];
  const server = createServer({ host: '127.0.0.1', port: 0, managerId: 'test', key, ...options }, (c) => {
    accepted.push(c);
    c.on('message', (m) => {
      received.push(m);
      if ((m as { type: string }).type === 'cancel') c.send({ type: 'cancelled', id: (m as { id: string }).id });
    });
  });
  servers.push(server);
  const { port } = await server.listen();
  return { port, accepted, received, server };
}

async function closeReason(connection: ServerConnection): Promise<string | undefined> {
  const [error] = (await once(connection, 'close')) as [Error | undefined];
  return error instanceof ProtocolError ? error.reason : error?.message;
}

describe('sealed records', () => {
  it('round-trips frames, batching small ones and keeping a big one whole', () => {
    const keys = deriveSessionKeys(key, { version: 1, versions: [1], role: 'client', serverNonce: randomBytes(32), peerNonce: randomBytes(32) }, 'peer');
    const frames = [...Array.from({ length: 300 }, (_, i) => encodeFrame({ type: 'cancel', id: `t${i}` })), encodeFrame({ type: 'ping', pad: Buffer.alloc(RECORD_TARGET_BYTES * 2) })];
    const records = new RecordSealer(keys.send).seal(frames);
    assert.equal(records.length, 2, 'the small frames share one record; the big one goes alone');
    const opener = new RecordOpener(keys.send, 1 << 20);
    const out: Buffer[] = [];
    for (const record of records) assert.equal(opener.open(record.subarray(4), (f) => void out.push(Buffer.from(f))), undefined);
    assert.deepEqual(out, frames.map((f) => f.subarray(4)));
  });

  it('refuses a replayed, reordered, reflected or altered record', () => {
    const keys = deriveSessionKeys(key, { version: 1, versions: [1], role: 'client', serverNonce: randomBytes(32), peerNonce: randomBytes(32) }, 'peer');
    const sealer = new RecordSealer(keys.send);
    const [first, second] = [sealer.seal([encodeFrame({ type: 'ping' })])[0] as Buffer, sealer.seal([encodeFrame({ type: 'ping' })])[0] as Buffer];
    const ok = (): void => {};
    const replay = new RecordOpener(keys.send, 1024);
    assert.equal(replay.open(first.subarray(4), ok), undefined);
    assert.equal(replay.open(first.subarray(4), ok)?.reason, 'bad_record_mac');
    assert.equal(new RecordOpener(keys.send, 1024).open(second.subarray(4), ok)?.reason, 'bad_record_mac', 'reordered');
    assert.equal(new RecordOpener(keys.receive, 1024).open(first.subarray(4), ok)?.reason, 'bad_record_mac', 'reflected');
    const flipped = Buffer.from(first);
    flipped[6] = (flipped[6] as number) ^ 1;
    assert.equal(new RecordOpener(keys.send, 1024).open(flipped.subarray(4), ok)?.reason, 'bad_record_mac');
  });

  it('carries messages both ways between dial and server with a key', async () => {
    const { port } = await startServer();
    const connection = await dial({ host: '127.0.0.1', port, role: 'client', key });
    for (let round = 0; round < 3; round++) {
      const answers = Array.from({ length: 50 }, (_, i) => `r${round}-${i}`);
      const got: string[] = [];
      const done = new Promise<void>((resolve) => connection.on('message', (m) => {
        got.push((m as { id: string }).id);
        if (got.length === answers.length) resolve();
      }));
      for (const id of answers) connection.send({ type: 'cancel', id });
      await done;
      connection.removeAllListeners('message');
      assert.deepEqual(got, answers);
    }
    await connection.close();
  });

  it('closes the connection on a frame injected into the stream, unsealed', async () => {
    const { port, accepted, received } = await startServer();
    const peer = new RawPeer(port);
    const seal = await peer.authenticate(key);
    peer.socket.write(seal([{ type: 'cancel', id: 'real' }]));
    for (let i = 0; accepted.length === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    const reason = closeReason(accepted[0] as ServerConnection);
    peer.send({ type: 'cancel', id: 'injected' });
    assert.match((await reason) ?? '', /bad_record_mac|malformed_frame/);
    assert.deepEqual(received, [{ type: 'cancel', id: 'real' }]);
    await peer.closed;
  });

  it('closes the connection on a replayed record', async () => {
    const { port, accepted, received } = await startServer();
    const peer = new RawPeer(port);
    const record = (await peer.authenticate(key))([{ type: 'cancel', id: 'once' }]);
    peer.socket.write(record);
    for (let i = 0; (accepted.length === 0 || received.length === 0) && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    const reason = closeReason(accepted[0] as ServerConnection);
    peer.socket.write(record);
    assert.equal(await reason, 'bad_record_mac');
    assert.deepEqual(received, [{ type: 'cancel', id: 'once' }], 'the replayed submit was never seen');
    await peer.closed;
  });

  it('leaves authentication of the stream to TLS when TLS is on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const { port, server } = await startServer({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) }, maxFailuresPerAddress: 2 });
    const connection = await dial({ host: '127.0.0.1', port, role: 'client', key, tls: { ca: cert } });
    const answer = once(connection, 'message');
    connection.send({ type: 'cancel', id: 'over-tls' });
    assert.deepEqual((await answer)[0], { type: 'cancelled', id: 'over-tls' });
    await connection.close();
    // Failed TLS handshakes count against the address too, and a refused one never reaches TLS.
    for (let i = 0; i < 2; i++) {
      const garbage = new RawPeer(port, '127.0.0.4');
      garbage.socket.write('GET / HTTP/1.1\r\n\r\n');
      await garbage.closed;
    }
    for (let i = 0; server.failedHandshakes < 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    const refused = new RawPeer(port, '127.0.0.4');
    await refused.closed;
    assert.equal(server.refusedConnections, 1);
    assert.equal(Buffer.concat(refused.bytes).length, 0, 'not even a TLS ServerHello');
  });
});

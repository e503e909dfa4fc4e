// A manager process with a key, attacked on its one port while a legitimate client keeps working.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthError, connect, type Client } from '../../src/index.js';
import { generateKey, parseKey, peerProof } from '../../src/protocol/auth.js';
import { decodePayload, encodeFrame } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import type { Hello } from '../../src/protocol/messages.js';
import type { SluiceProcess} from '../helpers/processes.js';
import { startManagerProcess, startWorkerProcess } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-auth-'));
const keyFile = join(dir, 'sluice.key');
const keyText = generateKey();
writeFileSync(keyFile, `${keyText}\n`);
const key = parseKey(keyText);

/** Opens a raw socket, returns it with the frames it receives and a promise of its close. */
function rawPeer(port: number): { socket: Socket; frames: unknown[]; closed: Promise<unknown>; firstFrame: Promise<unknown> } {
  const socket = connectTcp({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const frames: unknown[] = [];
  const decoder = new FrameDecoder(1 << 16);
  let gotFirst!: (frame: unknown) => void;
  const firstFrame = new Promise<unknown>((resolve) => (gotFirst = resolve));
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (p) => {
    frames.push(decodePayload(p));
    if (frames.length === 1) gotFirst(frames[0]);
  }));
  return { socket, frames, closed: once(socket, 'close'), firstFrame };
}

describe('a keyed manager under hostile peers', () => {
  const processes: SluiceProcess[] = [];
  let manager: SluiceProcess;
  let port: number;
  let client: Client;

  before(async () => {
    ({ proc: manager, port } = await startManagerProcess(['--key-file', keyFile]));
    processes.push(manager);
    processes.push(await startWorkerProcess(manager, port, 'auth-node', ['--key-file', keyFile, '--capacity', '2']));
    client = await connect({ manager: `127.0.0.1:${port}`, keyFile });
  });
  after(async () => {
    await client.close();
    await Promise.all(processes.map((p) => p.stop()));
  });

  it('refuses a wrong key with AuthError', async () => {
    await assert.rejects(connect({ manager: `127.0.0.1:${port}`, key: randomBytes(32), connectTimeoutMs: 3_000 }), AuthError);
  });

  it('refuses a replayed handshake', async () => {
    const first = rawPeer(port);
    const hello = (await first.firstFrame) as Hello;
    const nonce = randomBytes(32);
    const mac = peerProof(key, { version: 1, versions: hello.versions, role: 'client', serverNonce: hello.nonce, peerNonce: nonce });
    const auth = { type: 'auth', version: 1, role: 'client', nonce, mac };
    first.socket.write(encodeFrame(auth));
    first.socket.destroy();
    const replay = rawPeer(port);
    await replay.firstFrame;
    replay.socket.write(encodeFrame(auth));
    await replay.closed;
    assert.equal(replay.frames.length, 1, 'only the hello');
  });

  it('closes garbage bytes, an HTTP request and a TLS ClientHello', async () => {
    const clientHello = Buffer.from('16030100a5010000a10303', 'hex');
    for (const bytes of [randomBytes(200), Buffer.from('POST /v1/tasks/x HTTP/1.1\r\n\r\n'), clientHello]) {
      const peer = rawPeer(port);
      await peer.firstFrame;
      peer.socket.write(bytes);
      await peer.closed;
    }
  });

  it('keeps serving the legitimate client through all of it', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.run('echo', i)));
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    await manager.waitForLog((l) => l.msg === 'handshake failed');
    assert.ok(manager.countLogs((l) => l.msg === 'handshake failed') >= 4);
    assert.ok(!manager.logs.some((l) => JSON.stringify(l).includes(keyText)), 'the key never appears in a log line');
  });
});

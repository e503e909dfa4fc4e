// The raw limits the throughput figures are read against, measured in the same run: a msgpack
// echo over one TCP connection (length-prefixed frames, server in its own process) and a bare
// node:http server (through bench/gateway.ts, with autocannon).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { child, end, message } from './children.js';
import { runTask } from './system.js';

const GATEWAY_BENCH = fileURLToPath(new URL('../gateway.js', import.meta.url));
/** A message the size and shape of a task submission. */
const MESSAGE = { type: 'submit', id: '6f1c0a52-3f4e-4d8a-9a51-0c1d2e3f4a5b', name: 'noop', args: null, priority: 5 };

/** Calls `onFrame` for each length-prefixed frame arriving on `socket`. */
function readFrames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 4) {
      const length = buffered.readUInt32BE(offset);
      if (buffered.length - offset - 4 < length) break;
      onFrame(buffered.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    buffered = buffered.subarray(offset);
  });
}

function frame(value: unknown): Buffer {
  const body = pack(value);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** The echo server process: decodes each frame and sends the decoded message back, encoded. */
export async function serveEcho(): Promise<void> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    // The measuring side hangs up with echoes still in flight: a reset then is the end, not a fault.
    socket.on('error', () => socket.destroy());
    readFrames(socket, (body) => socket.write(frame(unpack(body))));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.send!({ port: (server.address() as { port: number }).port });
}

/** Messages/s echoed with `window` in flight for `seconds`. */
export async function measureEcho(seconds: number, window = 500): Promise<number> {
  const server = child(['echo-server']);
  try {
    const { port } = await message<{ port: number }>(server, (m) => typeof m === 'object' && m !== null && 'port' in m);
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    let echoed = 0;
    readFrames(socket, (body) => {
      unpack(body);
      echoed++;
      socket.write(frame(MESSAGE));
    });
    for (let i = 0; i < window; i++) socket.write(frame(MESSAGE));
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const before = echoed;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const rate = (echoed - before) / ((performance.now() - started) / 1_000);
    socket.destroy();
    return rate;
  } finally {
    await end(server);
  }
}

export interface GatewayRow { scenario: string; 'req/s': number; 'min–max': string; 'vs bare': string; 'p50 ms': number; 'p99 ms': number; statuses: string; errors: number }

/** Runs bench/gateway.ts as a child process and reads the JSON line it ends with. */
export async function measureGateway(env: { rounds: number; seconds: number; scenarios: string }): Promise<GatewayRow[]> {
  const child = spawn(process.execPath, [GATEWAY_BENCH], {
    env: { ...process.env, BENCH_ROUNDS: String(env.rounds), BENCH_SECONDS: String(env.seconds), BENCH_SCENARIOS: env.scenarios },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = await once(child, 'exit') as [number | null];
  const last = output.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`bench/gateway exited with ${code}; last line: ${last}`);
  return (JSON.parse(last) as { results: GatewayRow[] }).results;
}

/**
 * The most 10 slots of the 10 ms task can complete per second with no queue at all: slots that
 * restart their task the moment it ends. A timer of 10 ms takes a little longer than 10 ms, so
 * this sits below the nominal 1,000/s; it is the ceiling no system's goodput can pass.
 */
export async function measureSlotCeiling(slots: number, seconds: number): Promise<number> {
  let completed = 0;
  const until = performance.now() + seconds * 1_000;
  const slot = async (): Promise<void> => {
    while (performance.now() < until) {
      await runTask('wait10');
      completed++;
    }
  };
  await Promise.all(Array.from({ length: slots }, slot));
  return completed / seconds;
}

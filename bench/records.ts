// npm run bench:records — CPU per message of the protocol path with and without sealed records
// (encode → batch → [seal] → decode frames → [open] → msgpack → validate), in one process with no
// sockets, so the figure is the cost of the MAC itself and not the machine's mood. Runs the two
// variants alternately in slices and reports the median of each.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decodePayload, encodeFrame } from '../src/protocol/codec.js';
import { FrameDecoder } from '../src/protocol/framing.js';
import { maxRecordBody, RECORD_MAC_BYTES, RecordOpener, RecordSealer } from '../src/protocol/session.js';
import { validateClientMessage } from '../src/protocol/validate.js';

const MAX_FRAME = 16 * 1024 * 1024;
const key = randomBytes(32);
const message = (i: number): unknown => ({ type: 'submit', id: `task-${i}`, name: 'noop', args: { n: i }, priority: 5, deadlineMs: 30_000 });

/** Nanoseconds of CPU per message for `messages` sent in batches of `batch`. */
function run(batch: number, sealed: boolean, messages: number): number {
  const sealer = new RecordSealer(key);
  const opener = new RecordOpener(key, MAX_FRAME);
  const decoder = new FrameDecoder(sealed ? maxRecordBody(MAX_FRAME) + RECORD_MAC_BYTES : MAX_FRAME);
  let valid = 0;
  const onFrame = (payload: Buffer): void => {
    if (validateClientMessage(decodePayload(payload)) !== undefined) valid++;
  };
  const onRecord = (payload: Buffer): void => void opener.open(payload, onFrame);
  const cpu = process.cpuUsage();
  for (let sent = 0; sent < messages; sent += batch) {
    const frames = Array.from({ length: batch }, (_, i) => encodeFrame(message(sent + i)));
    const wire = sealed ? sealer.seal(frames) : [Buffer.concat(frames)];
    for (const chunk of wire) decoder.push(chunk, sealed ? onRecord : onFrame);
  }
  const used = process.cpuUsage(cpu);
  const sent = Math.ceil(messages / batch) * batch;
  if (valid !== sent) throw new Error(`decoded ${valid} of ${sent}`);
  return ((used.user + used.system) * 1_000) / sent;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const slices = Number(process.env['BENCH_SLICES'] ?? 9);
const rows: string[] = [];
const started = performance.now();
for (const batch of [1, 16, 256]) {
  const messages = batch === 1 ? 50_000 : 200_000;
  run(batch, true, messages / 10); // warm-up
  run(batch, false, messages / 10);
  const plain: number[] = [];
  const sealed: number[] = [];
  for (let s = 0; s < slices; s++) {
    plain.push(run(batch, false, messages));
    sealed.push(run(batch, true, messages));
  }
  const p = median(plain);
  const q = median(sealed);
  rows.push(`| ${batch} | ${Math.round(p)} ns | ${Math.round(q)} ns | +${(((q - p) / p) * 100).toFixed(1)}% |`);
}
process.stdout.write(`
| frames per write batch | CPU per message, plain | sealed | cost of sealing |
| --- | --- | --- | --- |
${rows.join('\n')}

(submit messages, encode → frames → decode → validate in one process; median of ${slices} alternating slices; ${((performance.now() - started) / 1_000).toFixed(0)} s)
`);

// The CLI as a user runs it: real processes, real sockets on 127.0.0.1, exit codes and output.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type Client } from '../../src/index.js';
import { generateKey } from '../../src/protocol/auth.js';
import type { SluiceProcess} from '../helpers/processes.js';
import { runSluice as sluice, startManagerProcess, startWorkerProcess, type Run } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
const keyFile = join(dir, 'sluice.key');
writeFileSync(keyFile, `${generateKey()}\n`);

describe('sluice CLI without a manager', () => {
  it('keygen prints a fresh 32-byte hex key', async () => {
    const a = await sluice(['keygen']);
    const b = await sluice(['keygen']);
    assert.equal(a.code, 0);
    assert.match(a.stdout, /^[0-9a-f]{64}\n$/);
    assert.notEqual(a.stdout, b.stdout);
  });

  it('--help works for every command and exits 0', async () => {
    for (const command of ['dev', 'manager', 'worker', 'gateway', 'run', 'status', 'keygen']) {
      const r = await sluice([command, '--help']);
      assert.equal(r.code, 0, command);
      assert.match(r.stdout, new RegExp(`Usage: sluice ${command}`));
    }
    assert.equal((await sluice(['--help'])).code, 0);
  });

  it('refuses bad flags with exit 64, naming the flag and what was expected', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['manager', '--port', 'abc'], /--port "abc": expected an integer from 0 to 65535/],
      [['manager', '--max-latency', '-5'], /--max-latency/],
      [['manager', '--frob'], /frob/],
      [['worker', '--manager', '127.0.0.1:1'], /--tasks/],
      [['worker', '--tasks', 'x.js', '--manager', '127.0.0.1:1', '--isolation', 'vm'], /--isolation "vm": expected one of thread, process, none/],
      [['worker', '--tasks', 'x.js', '--manager', '127.0.0.1:1', '--max-heap', '4'], /--max-heap "4": expected an integer from 8 to/],
      [['run', 'echo', '{bad json', '--manager', '127.0.0.1:1'], /ARGS_JSON/],
      [['worker', '--tasks', 'x.js'], /Missing --manager/], // run and status default to 127.0.0.1:7400
      [['run', 'echo', '--manager', 'nonsense'], /manager/],
      [['run', 'echo', '--manager', '127.0.0.1:1', '--priority', 'urgent'], /--priority/],
      [['manager', '--key-file', join(dir, 'missing.key')], /--key-file .*ENOENT/],
      [['manager', '--host', '0.0.0.0', '--port', '0'], /without a key/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, pattern] of cases) {
      const r = await sluice(args);
      assert.equal(r.code, 64, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
    }
  });

  it('exits 78 naming the file when --tasks cannot be loaded, without a stack', async () => {
    const r = await sluice(['dev', '--tasks', join(dir, 'no-such-tasks.js'), '--port', '0']);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /no-such-tasks\.js/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('exits 69 when the manager cannot be reached', async () => {
    const r = await sluice(['run', 'echo', '--manager', '127.0.0.1:1', '--timeout', '300']);
    assert.equal(r.code, 69, r.stderr);
  });
});

describe('sluice run against a manager and a worker node', () => {
  const processes: SluiceProcess[] = [];
  const clients: Client[] = [];
  let manager: SluiceProcess;
  let address: string;

  before(async () => {
    let port: number;
    ({ proc: manager, port } = await startManagerProcess(['--key-file', keyFile, '--max-queue', '1']));
    processes.push(manager);
    processes.push(await startWorkerProcess(manager, port, 'cli-node', ['--key-file', keyFile, '--capacity', '1']));
    address = `127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
  });

  const run = (args: string[]): Promise<Run> => sluice(['run', ...args], { SLUICE_MANAGER: address, SLUICE_KEY_FILE: keyFile });

  it('exits 0 with the result as JSON on stdout (manager and key from the environment)', async () => {
    const r = await run(['echo', '{"width":300}', '--priority', 'high']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { width: 300 });
  });

  it('exits 1 when the task fails, naming the error', async () => {
    const r = await run(['boom', '{"message":"bad width"}']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TypeError: bad width/);
  });

  it('exits 124 when the deadline passes', async () => {
    const r = await run(['sleep', '{"ms":2000}', '--timeout', '200']);
    assert.equal(r.code, 124, r.stderr);
  });

  it('exits 75 when still busy after its retries', async () => {
    const c = await connect({ manager: address, keyFile });
    clients.push(c);
    // One slot, one task held by the node (prefetch) and a queue of one: three long tasks fill
    // them for as long as the CLI takes to start on a loaded machine; they are cancelled once it
    // has answered.
    const running = await c.submit('sleep', { ms: 60_000 }, { notifyStart: true });
    for (let i = 0; i < 500 && !running.started; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(running.started, 'the first task runs');
    const blockers = [running, await c.submit('sleep', { ms: 60_000 }), await c.submit('sleep', { ms: 60_000 })];
    await new Promise((r) => setTimeout(r, 200)); // the other submits reach the manager
    try {
      const r = await run(['echo', '1', '--retries', '0']);
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /busy/);
    } finally {
      await Promise.all(blockers.map((b) => b.cancel()));
      await Promise.allSettled(blockers.map((b) => b.result));
    }
  });

  it('exits 69 with a wrong key', async () => {
    const wrong = join(dir, 'wrong.key');
    writeFileSync(wrong, generateKey());
    const r = await sluice(['run', 'echo', '--manager', address, '--key-file', wrong]);
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /refused our key/);
  });
});

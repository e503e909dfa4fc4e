// `sluice status` as an operator runs it, against a live `sluice dev` process over its real
// socket (with a shared key) and through its gateway: table, JSON, watch, and the exit codes
// 0 healthy, 1 alerting, 2 unreachable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { connect, type Client, type StatusSnapshot } from '../../src/index.js';
import { generateKey } from '../../src/protocol/auth.js';
import { FIXTURES, SLUICE_BIN, runSluice, startDevProcess, type SluiceProcess } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-status-'));
const keyFile = join(dir, 'sluice.key');
writeFileSync(keyFile, `${generateKey()}\n`);

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('sluice status against a live manager', () => {
  let dev: SluiceProcess;
  let manager: string;
  let gateway: string;
  let client: Client;
  const load = new AbortController();

  before(async () => {
    const started = await startDevProcess(`${FIXTURES}gateway-tasks.js`, ['--capacity', '1', '--prefetch', '0', '--threads', '1', '--max-queue', '10', '--key-file', keyFile]);
    dev = started.proc;
    manager = `127.0.0.1:${started.port}`;
    gateway = `http://127.0.0.1:${started.httpPort}`;
    client = await connect({ manager, keyFile });
    await client.run('echo', 1);
    // The gateway serves the manager's latest once-a-second snapshot: wait for one taken after the run.
    for (let i = 0; i < 50; i++) {
      const s = await (await fetch(`${gateway}/v1/status`)).json() as StatusSnapshot;
      if (s.totals.completed === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    load.abort();
    await client.close();
    await dev.stop();
  });

  it('prints a table and exits 0 while healthy', async () => {
    const run = await runSluice(['status', '--manager', manager, '--key-file', keyFile]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /HEALTHY/);
    assert.match(run.stdout, /0 queued \/ bound 10 \(cap 10\)/);
    assert.match(run.stdout, /0 of 1 slots busy on 1 worker node$/m);
    assert.match(run.stdout, /^WORKER NODE/m);
  });

  it('prints the snapshot as JSON, from the manager or through the gateway', async () => {
    for (const where of [['--manager', manager, '--key-file', keyFile], ['--gateway', gateway]]) {
      const run = await runSluice(['status', ...where, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const s = JSON.parse(run.stdout) as StatusSnapshot;
      assert.equal(s.healthy, true);
      assert.equal(s.totals.completed, 1);
      assert.deepEqual(s.capacity, { slots: 1, busy: 0, workers: 1 });
    }
  });

  it('exits 2 when the manager is unreachable or refuses the key', async () => {
    const nobody = await runSluice(['status', '--manager', `127.0.0.1:${await deadPort()}`, '--timeout', '500']);
    assert.equal(nobody.code, 2);
    assert.match(nobody.stderr, /unreachable/);
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, `${generateKey()}\n`);
    const refused = await runSluice(['status', '--manager', manager, '--key-file', otherKey, '--timeout', '2000']);
    assert.equal(refused.code, 2);
    const noGateway = await runSluice(['status', '--gateway', `http://127.0.0.1:${await deadPort()}`, '--timeout', '500']);
    assert.equal(noGateway.code, 2);
  });

  it('exits 64 on a malformed --manager: a bad command line, not an unreachable manager', async () => {
    const run = await runSluice(['status', '--manager', 'nope']);
    assert.equal(run.code, 64, run.stderr);
    assert.match(run.stderr, /host:port/);
    assert.doesNotMatch(run.stderr, /unreachable/);
  });

  it('exits 1 while an alert is active, and --watch --json streams snapshots until interrupted', async () => {
    // One task runs, eight wait: 80% of the bound of 10, over the 70% warning threshold.
    const sleepers = Array.from({ length: 9 }, () => client.run('sleep', { ms: 30_000 }, { signal: load.signal }).catch(() => undefined));
    let alerting: StatusSnapshot | undefined;
    for (let i = 0; i < 100 && alerting === undefined; i++) {
      const s = await client.status();
      if (!s.healthy) alerting = s;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(alerting, 'the manager raised the fill alert');
    const run = await runSluice(['status', '--manager', manager, '--key-file', keyFile]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /ALERTING \(1\)/);
    assert.match(run.stdout, /^fill +WARNING .*Queue 80% full/m);

    const watcher = spawn(process.execPath, [SLUICE_BIN, 'status', '--manager', manager, '--key-file', keyFile, '--watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => watcher.on('exit', resolve));
    const kill = setTimeout(() => watcher.kill('SIGKILL'), 15_000);
    const lines: StatusSnapshot[] = [];
    for await (const line of createInterface({ input: watcher.stdout })) {
      lines.push(JSON.parse(line) as StatusSnapshot);
      if (lines.length === 3) break;
    }
    watcher.kill('SIGINT');
    assert.equal(await exited, 1, 'the last snapshot seen was alerting');
    clearTimeout(kill);
    assert.equal(lines.length, 3);
    assert.ok(lines[0]!.time < lines[1]!.time && lines[1]!.time < lines[2]!.time, 'each line a newer snapshot');
    assert.ok(lines.every((s) => !s.healthy && s.queue.total === 8));
    load.abort();
    await Promise.all(sleepers);
  });
});

// Histories recorded by a real client and worker node over TCP on 127.0.0.1, judged by the checker.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, startManager, startWorker, type Manager, type WorkerNode } from '../../src/index.js';
import { checkHistory } from '../../src/core/history/check.js';
import type { HistoryEvent, StartEvent } from '../../src/core/history/events.js';
import { FIXTURES } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-history-'));

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

function read(file: string): HistoryEvent[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as HistoryEvent);
}

/** A manager on a free port and one worker node recording its history to `file`; closed after the tests. */
async function recordedNode(file: string, capacity: number): Promise<{ manager: Manager; node: WorkerNode }> {
  const manager = await startManager({ port: 0 });
  closers.push(() => manager.close());
  const node = await startWorker({ manager: manager.address, tasks: `${FIXTURES}integration-tasks.js`, capacity, name: 'n1', history: file });
  closers.push(() => node.close());
  return { manager, node };
}

describe('history recording', () => {
  it('records submits, answers and execution attempts that the checker passes', async () => {
    const workerFile = join(dir, 'worker.ndjson');
    const { manager, node } = await recordedNode(workerFile, 2);
    const clientFile = join(dir, 'client.ndjson');
    const client = await connect({ manager: `127.0.0.1:${manager.address.port}`, history: clientFile });
    closers.push(() => client.close());

    await Promise.all([client.run('echo', { a: 1 }), client.run('sleep', { ms: 5 }, { timeoutMs: 5_000 })]);
    await assert.rejects(client.run('boom', {}));
    const late = await client.submit('sleep', { ms: 10_000 }, { timeoutMs: 50 });
    await assert.rejects(late.result, { code: 'expired' });
    await node.close();
    await client.close();

    const clientEvents = read(clientFile);
    const workerEvents = read(workerFile);
    assert.deepEqual(clientEvents.filter((e) => e.ev === 'submit').length, 4);
    const outcomes = clientEvents.flatMap((e) => (e.ev === 'answer' ? [e.outcome] : [])).sort();
    assert.deepEqual(outcomes, ['completed', 'completed', 'expired', 'failed']);
    // The expired task may have expired in the queue (no execution), been aborted at its deadline,
    // or been handed back by close(); the other three ran once each.
    const starts = workerEvents.filter((e): e is StartEvent => e.ev === 'start' && e.id !== late.id);
    assert.equal(starts.length, 3);
    assert.ok(starts.every((e) => e.node === 'n1' && e.pid === process.pid && e.attempt === 1));
    const ends = workerEvents.flatMap((e) => (e.ev === 'end' && e.id !== late.id ? [`${e.status}:${e.delivered}`] : [])).sort();
    assert.deepEqual(ends, ['completed:true', 'completed:true', 'failed:true']);
    const lateEnds = workerEvents.filter((e) => e.ev === 'end' && e.id === late.id);
    assert.ok(lateEnds.every((e) => e.ev === 'end' && (e.status === 'aborted' || e.status === 'returned')), JSON.stringify(lateEnds));

    const verdict = checkHistory([...clientEvents, ...workerEvents]);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.accepted, 4);
  });

  it('refuses a history path it cannot open, naming it', async () => {
    await assert.rejects(connect({ manager: '127.0.0.1:1', history: join(dir, 'missing', 'x.ndjson') }), (error: Error) => {
      assert.match(error.message, /Cannot open the history file .*missing.*ENOENT/);
      return true;
    });
  });
});

describe('a client process killed with unanswered tasks', () => {
  it('has its running task aborted and its queued task removed; nothing retries them', async () => {
    const workerFile = join(dir, 'orphaned-worker.ndjson');
    const { manager } = await recordedNode(workerFile, 1);
    const index = new URL('../../src/index.js', import.meta.url).href;
    const script = `
      const { connect } = await import(${JSON.stringify(index)});
      const client = await connect({ manager: '127.0.0.1:${manager.address.port}' });
      const running = await client.submit('sleep', { ms: 30000 }, { notifyStart: true });
      await client.submit('sleep', { ms: 30000 });
      while (!running.started) await new Promise((r) => setTimeout(r, 10));
      process.stdout.write('started\\n');
      await new Promise(() => {});`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    closers.push(async () => { child.kill('SIGKILL'); });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('started')) resolve(); });
      child.once('exit', (code) => reject(new Error(`client process exited early (${String(code)})`)));
    });
    child.kill('SIGKILL');
    // Bounded: 100 polls of 50 ms.
    let ends: HistoryEvent[] = [];
    for (let i = 0; i < 100 && ends.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ends = read(workerFile).filter((e) => e.ev === 'end');
    }
    assert.deepEqual(ends.map((e) => e.ev === 'end' && `${e.status}:${e.reason}`), ['aborted:cancelled']);
    const snapshot = manager.snapshot();
    assert.equal(snapshot.queued + snapshot.running, 0, 'the queued task went with its client');
    assert.equal(read(workerFile).filter((e) => e.ev === 'start').length, 1, 'the queued task never ran');
  });
});

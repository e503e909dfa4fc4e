// Histories recorded by a real client and worker node over TCP on 127.0.0.1, judged by the checker.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, startManager, startWorker } from '../../src/index.js';
import { checkHistory } from '../../src/core/history/check.js';
import type { HistoryEvent, StartEvent } from '../../src/core/history/events.js';
import { FIXTURES } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-history-'));

function read(file: string): HistoryEvent[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as HistoryEvent);
}

describe('history recording', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('records submits, answers and execution attempts that the checker passes', async () => {
    const manager = await startManager({ port: 0 });
    closers.push(() => manager.close());
    const workerFile = join(dir, 'worker.ndjson');
    const node = await startWorker({ manager: manager.address, tasks: `${FIXTURES}integration-tasks.js`, capacity: 2, name: 'n1', history: workerFile });
    closers.push(() => node.close());
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

// The distributed runtime end to end: a manager and worker nodes as separate processes, real
// TCP on 127.0.0.1, the TypeScript client in this process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, BusyError, type Client } from '../../src/index.js';
import { generateKey } from '../../src/protocol/auth.js';
import { SluiceProcess, startManagerProcess, startWorkerProcess } from '../helpers/processes.js';

/** The shape of test/fixtures/integration-tasks.js, as `tasks` would give it. */
type Tasks = {
  echo: (args: unknown) => Promise<unknown>;
  sleep: (args: { ms: number }) => Promise<{ slept: number; pid: number; attempt: number }>;
  boom: (args: { message?: string }) => Promise<never>;
  deep: (args: { depth: number }) => Promise<unknown>;
};
type tasks = Tasks;

const dir = mkdtempSync(join(tmpdir(), 'sluice-it-'));
const keyFile = join(dir, 'sluice.key');
writeFileSync(keyFile, `${generateKey()}\n`);

interface ExecLine { id: string; attempt: number; pid: number; event: 'start' | 'end' }
function executions(file: string): ExecLine[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ExecLine);
  } catch {
    return [];
  }
}

describe('manager with two worker nodes (separate processes)', () => {
  const processes: SluiceProcess[] = [];
  const clients: Client<tasks>[] = [];
  let manager: SluiceProcess;
  let port: number;
  const execLog = join(dir, 'exec-two-nodes.ndjson');

  before(async () => {
    ({ proc: manager, port } = await startManagerProcess(['--key-file', keyFile, '--max-queue', '20']));
    processes.push(manager);
    // No prefetch: the priority test needs every queued task to stay at the manager until a slot
    // frees; a held task would have been sent before the higher priorities arrived (the
    // documented cost of prefetch).
    for (const name of ['node-a', 'node-b']) {
      processes.push(await startWorkerProcess(manager, port, name, ['--key-file', keyFile, '--capacity', '2', '--prefetch', '0'], { SLUICE_TEST_EXEC_LOG: execLog }));
    }
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
  });

  async function client(): Promise<Client<tasks>> {
    const c = await connect<tasks>({ manager: `127.0.0.1:${port}`, keyFile });
    clients.push(c);
    return c;
  }

  it('runs tasks on the worker nodes and returns their results', async () => {
    const c = await client();
    assert.deepEqual(await c.run('echo', { hello: 'world' }), { hello: 'world' });
    const results = await Promise.all(Array.from({ length: 8 }, () => c.run('sleep', { ms: 50 })));
    const pids = new Set(results.map((r) => r.pid));
    assert.equal(pids.size, 2, 'both worker nodes ran tasks');
  });

  it('answers a handler error as TaskFailedError with its name and message', async () => {
    const c = await client();
    await assert.rejects(c.run('boom', { message: 'bad input' }), (error: Error & { code?: string; remoteName?: string; remoteMessage?: string }) => {
      assert.equal(error.code, 'task_failed');
      assert.equal(error.remoteName, 'TypeError');
      assert.equal(error.remoteMessage, 'bad input');
      return true;
    });
  });

  it('keeps values nesting past the wire limit off the wire: arguments refused, such a result failed', async () => {
    const c = await client();
    let tooDeep: unknown = 0;
    for (let i = 0; i < 64; i++) tooDeep = [tooDeep];
    await assert.rejects(c.run('echo', tooDeep), (error: Error & { code?: string }) => error.code === 'invalid_argument' && /at most 63 levels/.test(error.message));
    await assert.rejects(c.run('deep', { depth: 64 }), (error: Error & { remoteName?: string }) => error.remoteName === 'ResultEncodeError');
    const deepest = (await c.run('deep', { depth: 63 })) as unknown[];
    assert.equal(JSON.stringify(deepest).length, 63 * 2 + 1);
    assert.deepEqual(await c.run('echo', 'still connected'), 'still connected');
  });

  it('dispatches higher priorities first, FIFO within a priority', async () => {
    const c = await client();
    // Occupy all four slots; one frees early and the rest much later, so every queued task runs
    // through that one slot, one after another, in the order the manager dispatches them.
    const blockers = [250, 900, 900, 900].map((ms) => c.run('sleep', { ms }));
    await new Promise((r) => setTimeout(r, 100));
    const order: string[] = [];
    const queued = [
      ['low-1', 'low'], ['normal-1', 'normal'], ['high-1', 'high'], ['low-2', 'low'], ['high-2', 'high'], ['normal-2', 'normal'],
    ].map(([label, priority]) =>
      c.run('sleep', { ms: 1 }, { priority: priority as 'low' | 'normal' | 'high' }).then(() => order.push(label!)),
    );
    await Promise.all([...blockers, ...queued]);
    assert.deepEqual(order, ['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2']);
  });

  it('answers busy with a retry hint when full, and the client retries until it succeeds', async () => {
    const c = await client();
    // 4 slots + 20 queued = 24 accepted at once; send 60 so that many are refused at first.
    const raw = await connect<tasks>({ manager: `127.0.0.1:${port}`, keyFile, retry: false });
    clients.push(raw);
    const attempts = await Promise.allSettled(Array.from({ length: 60 }, () => raw.run('sleep', { ms: 100 })));
    const busy = attempts.filter((a) => a.status === 'rejected').map((a) => (a as PromiseRejectedResult).reason as unknown);
    assert.ok(busy.length >= 30, `expected many busy answers, got ${busy.length}`);
    for (const error of busy) {
      assert.ok(error instanceof BusyError, `rejected with ${String(error)}`);
      assert.ok(error.retryAfterMs > 0, 'busy carries a positive retryAfterMs');
    }
    // With retries on, every task of the same burst eventually completes.
    const results = await Promise.all(Array.from({ length: 60 }, () => c.run('sleep', { ms: 100 }, { timeoutMs: 30_000 })));
    assert.equal(results.length, 60);
  });
});

describe('a worker node killed with SIGKILL mid-task', () => {
  const processes: SluiceProcess[] = [];
  after(async () => Promise.all(processes.map((p) => p.stop())));

  it('finishes its tasks on the other node; none lost, none answered twice', async () => {
    const execLog = join(dir, 'exec-kill.ndjson');
    const { proc: manager, port } = await startManagerProcess(['--key-file', keyFile, '--heartbeat', '200']);
    processes.push(manager);
    const victim = await startWorkerProcess(manager, port, 'victim', ['--key-file', keyFile, '--capacity', '4'], { SLUICE_TEST_EXEC_LOG: execLog });
    processes.push(victim);
    const c = await connect<tasks>({ manager: `127.0.0.1:${port}`, keyFile });
    try {
      const ids = Array.from({ length: 4 }, (_, i) => `kill-${i}`);
      const runs = ids.map((id) => c.run('sleep', { ms: 1_500 }, { id }));
      // Wait until the victim has started all four, then kill it and bring up a survivor.
      const deadline = Date.now() + 10_000;
      while (executions(execLog).filter((e) => e.event === 'start').length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      victim.kill('SIGKILL');
      processes.push(await startWorkerProcess(manager, port, 'survivor', ['--key-file', keyFile, '--capacity', '4'], { SLUICE_TEST_EXEC_LOG: execLog }));
      const results = await Promise.all(runs);
      assert.equal(results.length, 4);
      for (const r of results) {
        assert.notEqual(r.pid, victim.pid, 'answered by the surviving node');
        assert.equal(r.attempt, 2, 'second attempt after the lost one');
      }
      const ends = executions(execLog).filter((e) => e.event === 'end');
      assert.deepEqual(ends.map((e) => e.id).sort(), [...ids].sort(), 'each task completed exactly once');
    } finally {
      await c.close();
    }
  });
});

describe('manager killed and restarted', () => {
  const processes: SluiceProcess[] = [];
  after(async () => Promise.all(processes.map((p) => p.stop())));

  it('workers and clients reconnect; unanswered tasks are resubmitted and answered', async () => {
    const { proc: first, port } = await startManagerProcess(['--key-file', keyFile, '--heartbeat', '200']);
    processes.push(first);
    const worker = await startWorkerProcess(first, port, 'steady', ['--key-file', keyFile, '--capacity', '4']);
    processes.push(worker);
    const c = await connect<tasks>({ manager: `127.0.0.1:${port}`, keyFile });
    try {
      const runs = Array.from({ length: 20 }, (_, i) => c.run('sleep', { ms: 200 }, { id: `restart-${i}` }));
      await first.waitForLog((l) => l.msg === 'worker joined');
      await new Promise((r) => setTimeout(r, 100));
      first.kill('SIGKILL');
      await first.exited;
      const second = new SluiceProcess(['manager', '--port', String(port), '--key-file', keyFile, '--heartbeat', '200']);
      processes.push(second);
      await second.waitForLog((l) => l.msg === 'worker joined', 20_000);
      const results = await Promise.all(runs);
      assert.equal(results.length, 20);
      assert.ok(second.countLogs((l) => l.msg === 'worker joined') >= 1, 'the worker re-registered with the new manager');
    } finally {
      await c.close();
    }
  });
});

describe('deadlines', () => {
  const processes: SluiceProcess[] = [];
  after(async () => Promise.all(processes.map((p) => p.stop())));

  it('a task whose deadline passes while queued is answered expired and never started', async () => {
    const execLog = join(dir, 'exec-deadline.ndjson');
    const { proc: manager, port } = await startManagerProcess(['--key-file', keyFile]);
    processes.push(manager);
    processes.push(await startWorkerProcess(manager, port, 'single', ['--key-file', keyFile, '--capacity', '1'], { SLUICE_TEST_EXEC_LOG: execLog }));
    const c = await connect<tasks>({ manager: `127.0.0.1:${port}`, keyFile });
    try {
      const blocker = c.run('sleep', { ms: 600 }, { id: 'blocker' });
      await new Promise((r) => setTimeout(r, 100));
      await assert.rejects(c.run('sleep', { ms: 10 }, { id: 'late', timeoutMs: 200 }), { code: 'expired' });
      await blocker;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(executions(execLog).filter((e) => e.id === 'late').length, 0, 'the expired task never started');
    } finally {
      await c.close();
    }
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { AuthError, ClientClosedError, ConnectError, connect, type Client } from './index.js';
import { ScriptedManager, echo, silent } from './scripted-manager.test-helpers.js';

const managers: ScriptedManager[] = [];
const clients: Client[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sluice-client-'));
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(managers.map((m) => m.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof ScriptedManager.start>[0] = {}): Promise<ScriptedManager> {
  const manager = await ScriptedManager.start(options);
  managers.push(manager);
  return manager;
}

function track<C extends Client>(client: C): C {
  clients.push(client);
  return client;
}

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves on the client's next `event`, or rejects after `ms`. */
function next(client: Client, event: 'connected' | 'disconnected', ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    client.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('reconnection', () => {
  it('the server drops the link: the client reconnects and resubmits the same ids, and answers arrive', async () => {
    const manager = await start({ script: silent });
    const c = track(await connect({ manager: manager.address, reconnect: { baseMs: 10, maxMs: 50 } }));
    const ids = ['r-1', 'r-2', 'r-3'];
    const runs = ids.map((id, i) => c.run('echo', i, { id, timeoutMs: 10_000 }));
    await manager.waitFor(() => manager.submits().length === 3, 2_000, 'first submits');
    const firstDeadlines = manager.submits().map((s) => s.deadlineMs!);
    manager.script = echo;
    const disconnected = next(c, 'disconnected');
    const reconnected = next(c, 'connected');
    manager.dropConnections();
    await disconnected;
    assert.equal(c.connected, false);
    assert.equal(c.inFlight, 3, 'unanswered tasks are kept while disconnected');
    await reconnected;
    assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
    const resubmitted = manager.received.filter((r) => r.connectionIndex === 1 && r.message.type === 'submit').map((r) => r.message);
    assert.deepEqual(resubmitted.map((m) => m.id), ids, 'same ids, same order');
    resubmitted.forEach((m, i) => {
      assert.ok(m.type === 'submit' && m.deadlineMs! <= firstDeadlines[i]!, 'the remaining deadline, not the original');
    });
  });

  it('tasks started while the manager is down wait (counting toward maxInFlight) and are sent on reconnection', async () => {
    const manager = await start();
    const c = track(await connect({ manager: manager.address, maxInFlight: 2, reconnect: { baseMs: 10, maxMs: 30 } }));
    const disconnected = next(c, 'disconnected');
    await manager.pause();
    await disconnected;
    const a = c.run('echo', 'a');
    const b = c.run('echo', 'b');
    const third = c.run('echo', 'c');
    assert.equal(c.inFlight, 2);
    assert.equal(c.waiting, 1);
    const reconnected = next(c, 'connected');
    await manager.resume();
    await reconnected;
    assert.deepEqual(await Promise.all([a, b, third]), ['a', 'b', 'c']);
  });

  it('a task sleeping in a busy retry is not resubmitted on reconnection, only when it wakes', async () => {
    const seen = new Map<string, number>();
    const manager = await start({
      script: (s, reply) => {
        const n = (seen.get(s.id) ?? 0) + 1;
        seen.set(s.id, n);
        if (n === 1) reply({ type: 'busy', id: s.id, reason: 'full', retryAfterMs: 300 });
        else reply({ type: 'completed', id: s.id, result: n });
      },
    });
    const c = track(await connect({ manager: manager.address, reconnect: { baseMs: 5, maxMs: 10 }, retry: { baseMs: 1, maxMs: 1 } }));
    const running = c.run('echo', null, { id: 'sleeper' });
    await manager.waitFor(() => manager.submits().length === 1, 2_000, 'first submit');
    const reconnected = next(c, 'connected');
    manager.dropConnections();
    await reconnected;
    assert.equal(await running, 2, 'submitted exactly twice: once, then once after the hint');
    assert.equal(manager.submits().length, 2);
  });
});

describe('a key refused after connecting', () => {
  it("emits 'error' with AuthError and keeps retrying, so a rotated key is picked up", async () => {
    const key = randomBytes(32);
    const manager = await start({ key });
    const c = track(await connect({ manager: manager.address, key, reconnect: { baseMs: 5, maxMs: 20 } }));
    const errors: Error[] = [];
    let twoErrors!: () => void;
    const refusedTwice = new Promise<void>((resolve) => (twoErrors = resolve));
    c.on('error', (error) => {
      if (errors.push(error) === 2) twoErrors();
    });
    const disconnected = next(c, 'disconnected');
    await manager.pause();
    await disconnected;
    const running = c.run('echo', 'survives');
    await manager.resume({ key: randomBytes(32) }); // the manager now expects another key
    await within(refusedTwice, 5_000, 'two refused reconnections');
    assert.ok(errors.every((e) => e instanceof AuthError), errors.map(String).join(', '));
    assert.equal(c.connected, false);
    const reconnected = next(c, 'connected');
    await manager.pause();
    await manager.resume({ key }); // rotated back
    await reconnected;
    assert.equal(await running, 'survives');
  });
});

describe('close', () => {
  it('rejects pending and waiting tasks with ClientClosedError, cancels them on the manager, and is idempotent', async () => {
    const manager = await start({ script: silent });
    const c = await connect({ manager: manager.address, maxInFlight: 1 });
    const sent = assert.rejects(c.run('echo', 1, { id: 'sent' }), (e: unknown) => e instanceof ClientClosedError && e.code === 'client_closed' && e.taskId === 'sent');
    const waiting = assert.rejects(c.submit('echo', 2, { id: 'waiting' }), ClientClosedError);
    await manager.waitFor(() => manager.submits().length === 1, 2_000, 'submit');
    const closing = c.close();
    assert.equal(c.close(), closing, 'the same promise');
    await closing;
    await sent;
    await waiting;
    await manager.waitFor(() => manager.cancels().some((m) => m.id === 'sent'), 2_000, 'cancel of the sent task');
    assert.ok(!manager.cancels().some((m) => m.id === 'waiting'), 'nothing sent for a task never sent');
    await assert.rejects(c.run('echo', 3), ClientClosedError);
    await assert.rejects(c.submit('echo', 3), ClientClosedError);
    assert.equal(c.connected, false);
    await manager.waitFor(() => manager.connections.size === 0, 2_000, 'socket closed');
  });

  it('await using closes the client at the end of the scope', async () => {
    const manager = await start();
    let leaked: Client | undefined;
    {
      await using c = await connect({ manager: manager.address });
      leaked = c;
      assert.equal(await c.run('echo', 'in scope'), 'in scope');
    }
    await assert.rejects(leaked.run('echo', 1), ClientClosedError);
    await manager.waitFor(() => manager.connections.size === 0, 2_000, 'socket closed');
  });

  it('stops reconnecting once closed', async () => {
    const manager = await start();
    const c = await connect({ manager: manager.address, reconnect: { baseMs: 5, maxMs: 10 } });
    const disconnected = next(c, 'disconnected');
    await manager.pause();
    await disconnected;
    await c.close();
    const accepted = manager.accepted;
    await manager.resume();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(manager.accepted, accepted, 'no connection after close');
  });
});

describe('connect', () => {
  it('rejects with ConnectError after connectTimeoutMs when nothing listens', async () => {
    const probe = await start();
    const address = probe.address;
    await probe.pause(); // the port is now closed
    const started = performance.now();
    await assert.rejects(connect({ manager: address, connectTimeoutMs: 300, reconnect: { baseMs: 10, maxMs: 50 } }), (e: unknown) => {
      assert.ok(e instanceof ConnectError, String(e));
      assert.equal(e.code, 'connect_failed');
      assert.ok(e.cause !== undefined, 'carries the last failure');
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2_000, `gave up after ${elapsed.toFixed(0)} ms`);
  });

  it('gives up on a peer that never completes the handshake within connectTimeoutMs', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createTcpServer((socket) => sockets.add(socket)); // accepts, says nothing
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await assert.rejects(connect({ manager: `127.0.0.1:${port}`, connectTimeoutMs: 300 }), ConnectError);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects with the signal reason when aborted', async () => {
    const probe = await start();
    const address = probe.address;
    await probe.pause();
    const reason = new Error('stop');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(connect({ manager: address, signal: controller.signal }), (e: unknown) => e === reason);
    await assert.rejects(connect({ manager: address, signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
  });

  it('rejects at once with AuthError when the manager refuses the key', async () => {
    const manager = await start({ key: randomBytes(32) });
    const started = performance.now();
    await assert.rejects(connect({ manager: manager.address, key: randomBytes(32), connectTimeoutMs: 5_000 }), (e: unknown) => e instanceof AuthError && e.code === 'auth_failed');
    assert.ok(performance.now() - started < 2_000, 'not retried until the timeout');
  });

  it('accepts the key as bytes, as hex text, and from a key file', async () => {
    const key = randomBytes(32);
    const manager = await start({ key });
    const file = join(dir, 'sluice.key');
    writeFileSync(file, `${key.toString('hex')}\n`);
    for (const options of [{ key }, { key: key.toString('hex') }, { keyFile: file }]) {
      const c = track(await connect({ manager: manager.address, ...options }));
      assert.equal(await c.run('echo', 'ok'), 'ok');
      await c.close();
    }
  });

  it('rejects bad options with InvalidArgumentError naming the option', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /`options`/],
      [{}, /`manager`/],
      [{ manager: 'nonsense' }, /manager/],
      [{ manager: { host: '', port: 1 } }, /`manager.host`/],
      [{ manager: { host: 'x', port: 70_000 } }, /`manager.port`/],
      [{ manager: '127.0.0.1:1', maxInFlight: 0 }, /`maxInFlight`.*0 \(number\)/],
      [{ manager: '127.0.0.1:1', timeoutMs: -5 }, /`timeoutMs`/],
      [{ manager: '127.0.0.1:1', connectTimeoutMs: Infinity }, /`connectTimeoutMs`/],
      [{ manager: '127.0.0.1:1', retry: true }, /`retry`/],
      [{ manager: '127.0.0.1:1', retry: { baseMs: -1 } }, /`retry.baseMs`/],
      [{ manager: '127.0.0.1:1', reconnect: { maxMs: 0 } }, /`reconnect.maxMs`/],
      [{ manager: '127.0.0.1:1', key: randomBytes(32), keyFile: 'x' }, /`key` and `keyFile`/],
      [{ manager: '127.0.0.1:1', key: randomBytes(16) }, /`key`/],
      [{ manager: '127.0.0.1:1', key: 'abc' }, /`key`/],
      [{ manager: '127.0.0.1:1', keyFile: join(dir, 'missing.key') }, /`keyFile`.*ENOENT/],
      [{ manager: '127.0.0.1:1', signal: {} }, /`signal`/],
    ];
    for (const [options, pattern] of cases) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = connect(options as Parameters<typeof connect>[0]);
      });
      await assert.rejects(promise!, (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message), `${JSON.stringify(options)}`);
    }
  });
});

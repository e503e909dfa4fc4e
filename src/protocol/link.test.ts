import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalLink } from './link.js';

type Msg = { n: number };

function pair(): [LocalLink<Msg, Msg>, LocalLink<Msg, Msg>] {
  return LocalLink.pair<Msg, Msg>('client', 'test', 'manager-1');
}

function collect(link: LocalLink<Msg, Msg>): { messages: number[]; closes: Array<Error | undefined> } {
  const seen = { messages: [] as number[], closes: [] as Array<Error | undefined> };
  link.on('message', (m) => seen.messages.push(m.n));
  link.on('close', (error) => seen.closes.push(error));
  return seen;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LocalLink', () => {
  it('delivers in order, after the sender returns, never inside send()', async () => {
    const [a, b] = pair();
    const seen = collect(b);
    a.send({ n: 1 });
    a.send({ n: 2 });
    assert.deepEqual(seen.messages, [], 'nothing is delivered re-entrantly');
    await settle();
    assert.deepEqual(seen.messages, [1, 2]);
  });

  it('delivers what a handler sends back in the same turn, in both directions', async () => {
    const [a, b] = pair();
    const atA = collect(a);
    b.on('message', (m) => b.send({ n: m.n * 10 }));
    for (let n = 1; n <= 3; n++) a.send({ n });
    await settle();
    assert.deepEqual(atA.messages, [10, 20, 30]);
  });

  it('close() delivers what was sent first, then closes both ends once, cleanly', async () => {
    const [a, b] = pair();
    const atA = collect(a);
    const atB = collect(b);
    a.send({ n: 1 });
    const closed = a.close();
    assert.equal(a.isClosed, true);
    a.send({ n: 2 });
    await closed;
    await settle();
    assert.deepEqual(atB.messages, [1]);
    assert.deepEqual(atB.closes, [undefined]);
    assert.deepEqual(atA.closes, [undefined]);
    assert.equal(b.isClosed, true);
    await a.close();
    await b.close();
    assert.equal(atA.closes.length + atB.closes.length, 2, 'close is idempotent');
  });

  it('destroy() is seen by the other end as a lost link', async () => {
    const [a, b] = pair();
    const atA = collect(a);
    const atB = collect(b);
    const reason = new Error('gone');
    a.destroy(reason);
    b.send({ n: 1 });
    await settle();
    assert.deepEqual(atA.closes, [reason]);
    assert.deepEqual(atA.messages, []);
    assert.equal(atB.closes.length, 1);
    assert.match(String(atB.closes[0]?.message), /closed by its other end/);
  });

  it('carries the peer\'s identity on both ends', () => {
    const [a, b] = pair();
    for (const end of [a, b]) {
      assert.equal(end.role, 'client');
      assert.equal(end.peerName, 'test');
      assert.equal(end.managerId, 'manager-1');
      assert.equal(end.remoteAddress, 'in-process');
    }
    assert.equal(a.id, b.id);
  });
});

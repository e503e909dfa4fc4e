// The page's stream follower, run in node against a real HTTP server on loopback: it must come
// back after a dropped or silent connection and wait for a key after a 401.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';

const PUBLIC = new URL('../../../src/dashboard/public/', import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped browser module
const { StatusStream } = (await import(new URL('status-stream.js', PUBLIC).href)) as any;

type Handler = (req: IncomingMessage, res: ServerResponse, connection: number) => void;

const servers: Array<ReturnType<typeof createServer>> = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

async function serve(handler: Handler): Promise<string> {
  let connections = 0;
  const server = createServer((req, res) => handler(req, res, ++connections));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/status/stream`;
}

function sse(res: ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(`event: status\ndata: {"n":${n}}\n\n`);
}

interface Stream { retryNow(): void; stop(): void }

/** Runs a stream until `done` says so (or 5 s pass); returns its states and events. */
async function follow(
  url: string,
  done: (states: string[], events: unknown[], stream: Stream) => boolean,
  options: Record<string, unknown> = {},
): Promise<{ states: string[]; events: unknown[] }> {
  const states: string[] = [];
  const events: unknown[] = [];
  let check = (): void => {};
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not done in 5 s: ${JSON.stringify({ states, events })}`)), 5_000);
    check = () => {
      if (done(states, events, stream)) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  const stream: Stream & { start(): void } = new StatusStream({
    url,
    headers: () => ({}),
    onEvent: (event: string, data: unknown) => {
      events.push({ event, data });
      check();
    },
    onState: (state: string) => {
      states.push(state);
      check();
    },
    baseDelayMs: 10,
    maxDelayMs: 50,
    ...options,
  });
  stream.start();
  try {
    await finished;
  } finally {
    stream.stop();
  }
  return { states, events };
}

describe('StatusStream', () => {
  it('reconnects after the server drops the stream, and goes live again', async () => {
    const url = await serve((_req, res, connection) => {
      sse(res, connection);
      if (connection === 1) setTimeout(() => res.destroy(), 20);
    });
    const { states, events } = await follow(url, (_s, e) => e.length >= 2);
    assert.deepEqual(events, [{ event: 'status', data: { n: 1 } }, { event: 'status', data: { n: 2 } }]);
    assert.deepEqual(states.slice(0, 2), ['connecting', 'live']);
    assert.ok(states.includes('reconnecting'), states.join());
    assert.equal(states.at(-1), 'live');
  });

  it('treats a silent stream as dropped', async () => {
    const url = await serve((_req, res, connection) => {
      if (connection === 1) res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      else sse(res, connection);
    });
    const { events, states } = await follow(url, (_s, e) => e.length >= 1, { stallMs: 150 });
    assert.deepEqual(events, [{ event: 'status', data: { n: 2 } }]);
    assert.ok(states.includes('reconnecting'));
  });

  it('waits after a 401 until asked to retry, then sends the key it is given', async () => {
    let key: string | undefined;
    let connections = 0;
    let connectionsWhileWaiting = 0;
    const url = await serve((req, res, connection) => {
      connections = connection;
      if (req.headers.authorization !== 'Bearer k') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"unauthorized","message":"Missing or wrong API key"}}');
        return;
      }
      sse(res, connection);
    });
    const { states } = await follow(url, (s, e, stream) => {
      if (s.at(-1) === 'unauthorized' && key === undefined) {
        key = 'k';
        setTimeout(() => {
          connectionsWhileWaiting = connections;
          stream.retryNow();
        }, 300);
      }
      return e.length >= 1;
    }, { headers: () => (key === undefined ? {} : { authorization: `Bearer ${key}` }) });
    assert.deepEqual(states.filter((s) => s !== 'connecting'), ['unauthorized', 'live']);
    assert.equal(connectionsWhileWaiting, 1, 'no retry after a 401 until asked, even with backoff at 10 ms');
  });
});

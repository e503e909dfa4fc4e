// The page's pure modules (plain browser ES modules, no DOM) run here in node as they are shipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

const PUBLIC = new URL('../../../src/dashboard/public/', import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any -- the modules are untyped JavaScript */
const { SseParser } = (await import(new URL('sse.js', PUBLIC).href)) as any;
const { History, taskReading, rejectedRate } = (await import(new URL('history.js', PUBLIC).href)) as any;
const { formatMs, formatDuration, formatCount, formatPercent } = (await import(new URL('format.js', PUBLIC).href)) as any;
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('SseParser', () => {
  const stream = 'event: status\ndata: {"a":1}\n\n: comment\r\nevent: alert\r\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: plain\rid: 7\r\r\n';

  it('parses named events, multi-line data, comments and every line ending', () => {
    const events = new SseParser().feed(stream);
    assert.deepEqual(events.map((e: { event: string; data: string }) => [e.event, e.data]), [
      ['status', '{"a":1}'], ['alert', '{"b":\n2}'], ['message', 'plain'],
    ]);
    assert.equal(events[2].id, '7');
  });

  it('gives the same events however the text is split', () => {
    const whole = new SseParser().feed(stream);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))];
      assert.deepEqual(events, whole, `split at ${cut}`);
    }
    const byChar = new SseParser();
    assert.deepEqual([...stream].flatMap((c) => byChar.feed(c)), whole);
  });
});

function snapshot(time: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const percentiles = { p50: 1, p90: 2, p99: 3, p999: 4 };
  return {
    time, managerId: 'm', uptimeMs: 0, maxLatencyMs: 0,
    queue: { depth: { high: 0, normal: 0, low: 0 }, total: 0, bound: 10, boundReason: 'cap', cap: 10, fill: 0, alertAt: { warning: 0.7, critical: 0.9 } },
    capacity: { slots: 1, busy: 0, workers: 1 },
    totals: { rejected: { full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0 } },
    rates: { admitted: 0, completed: 0, failed: 0, rejected: { full: 3, latency: 2, deadline: 0, displaced: 1, no_workers: 0, draining: 0 } },
    tasks: [{ name: 'a', completed: 1, failed: 0, waitMs: percentiles, serviceMs: { ...percentiles, p99: 30 } }],
    workers: [], alerts: [], healthy: true,
    ...extra,
  };
}

describe('History', () => {
  it('keeps the newest points up to its limit and skips repeats of the same snapshot', () => {
    const history = new History(3);
    for (const time of [1000, 2000, 2000, 3000, 4000]) history.push(snapshot(time));
    assert.equal(history.length, 3);
    assert.deepEqual(history.columns([(s: { queue: { bound: number } }) => s.queue.bound]), [[2, 3, 4], [10, 10, 10]]);
    assert.equal(history.push(snapshot(1000, { managerId: 'restarted' })), true, 'a restarted manager starts its clock again');
  });

  it('reads per-task figures, null where a task is missing, and names the busiest tasks first', () => {
    const history = new History();
    history.push(snapshot(1000, { tasks: [] }));
    history.push(snapshot(2000));
    history.push(snapshot(3000, { tasks: [{ name: 'b', completed: 9, failed: 0, waitMs: {}, serviceMs: {} }, { name: 'a', completed: 2, failed: 0, waitMs: {}, serviceMs: {} }] }));
    assert.deepEqual(history.columns([taskReading('a', 'serviceMs', 'p99')])[1], [null, 30, undefined]);
    assert.deepEqual(history.taskNames(), ['b', 'a']);
    assert.equal(rejectedRate(history.latest), 6);
  });
});

describe('formatting', () => {
  it('keeps figures short, with units, and never shows NaN', () => {
    assert.deepEqual([0, 0.25, 4.2, 42, 1500, 65_000].map(formatMs), ['0 ms', '0.25 ms', '4.2 ms', '42 ms', '1.50 s', '1m 5s']);
    assert.deepEqual([0, 59_000, 3_725_000, 90_061_000].map(formatDuration), ['0s', '59s', '1h 2m', '1d 1h']);
    assert.deepEqual([3, 2.5, 950, 12_345, 4_100_000].map(formatCount), ['3', '2.5', '950', '12.3k', '4.1M']);
    assert.equal(formatPercent(0.714), '71%');
    for (const format of [formatMs, formatDuration, formatCount, formatPercent]) assert.equal(format(Number.NaN), '–');
  });
});

// The side-by-side benchmark's own arithmetic: the load generator times from the intended send,
// the statistics and the recovery reading are what the report says they are.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { runOpenLoop, type SecondSample } from '../../bench/compare/load.js';
import { recoverySeconds } from '../../bench/compare/report.js';
import type { Measurement } from '../../bench/compare/run-one.js';
import { spread, fmtSpread } from '../../bench/compare/stats.js';
import { lineChart } from '../../bench/compare/svg.js';
import type { Producer } from '../../bench/compare/system.js';

describe('runOpenLoop', () => {
  it('answers every send once, and times a stall of the sender as latency (no coordinated omission)', async () => {
    let calls = 0;
    let stalled = false;
    const producer: Producer = {
      async submit() {
        calls++;
        if (calls === 50 && !stalled) {
          stalled = true;
          const until = Date.now() + 300;
          while (Date.now() < until); // the event loop is blocked: sends due meanwhile go out late
        }
        await sleep(5);
        return calls % 2 === 0 ? 'completed' : 'rejected';
      },
      close: async () => {},
    };
    const result = await runOpenLoop(producer, { mode: 'open', phases: [{ rate: 200, seconds: 1, measured: true }], deadlineMs: 10_000, drainCapMs: 5_000 }, () => {});
    const sent = result.perSecond.reduce((a, s) => a + s.sent, 0);
    const answered = result.perSecond.reduce((a, s) => a + s.accepted + s.rejected, 0);
    assert.equal(sent, calls);
    assert.equal(answered, sent);
    assert.equal(result.errors, 0);
    assert.ok(result.drainMs !== undefined);
    // Sends due during the 300 ms stall are timed from when they were due.
    const worst = Math.max(result.accepted.max, result.rejection.max);
    assert.ok(worst >= 200, `the stall shows as latency: worst ${worst} ms`);
    assert.ok(result.accepted.p50 >= 5, `latency includes the 5 ms answer: p50 ${result.accepted.p50}`);
  });
});

describe('spread', () => {
  it('gives the median with min and max, ignoring missing values', () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
    assert.deepEqual(spread([4, undefined, 1, Number.NaN]), { median: 2.5, min: 1, max: 4, n: 2 });
    assert.equal(spread([]).n, 0);
    assert.equal(fmtSpread(spread([1_000, 2_000, 1_500])), '1,500 (1,000–2,000)');
    assert.equal(fmtSpread(spread([])), '–');
  });
});

describe('recoverySeconds', () => {
  const second = (p99: number, sent = 10, answered = sent): SecondSample => ({ sent, accepted: answered, rejected: 0, p50: p99, p99, completed: 0, goodput: 0 });
  const measurement = (perSecond: SecondSample[]): Measurement => ({ samples: [], result: { perSecond } as Measurement['result'] });

  it('counts the seconds after the overload until every later second is fast', () => {
    const m = measurement([second(900), second(900), second(400), second(30), second(20), second(25)]);
    assert.equal(recoverySeconds(m, 2), 1);
  });

  it('does not count unanswered sends (past the drain cap) as recovered', () => {
    const m = measurement([second(900), second(5_000, 10, 4), second(0, 10, 0), second(0, 10, 0)]);
    assert.equal(recoverySeconds(m, 1), undefined);
  });
});

describe('lineChart', () => {
  it('draws one line and one legend entry per series, dropping what a log axis cannot show', () => {
    const svg = lineChart({ title: 'p99 <ms>', xLabel: 's', yLabel: 'ms', logY: true, lines: [
      { name: 'sluice', points: [[0, 10], [1, 260], [2, 0]] },
      { name: 'peer', points: [[0, 10], [1, 1_050], [2, Number.NaN]] },
    ] });
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.match(svg, />sluice</);
    assert.match(svg, /p99 &lt;ms>/);
    assert.doesNotMatch(svg, /NaN/);
  });
});

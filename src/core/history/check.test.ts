import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, summaryLine } from './check.js';
import type { EndEvent, HistoryEvent, StartEvent } from './events.js';

const submit = (id: string, at: number, deadline: number | null = null): HistoryEvent => ({ ev: 'submit', at, id, name: 'work', deadline, proc: 1 });
const answer = (id: string, at: number, outcome: 'completed' | 'expired' | 'worker_lost' = 'completed', via: 'manager' | 'local' = 'manager'): HistoryEvent => ({ ev: 'answer', at, id, outcome, via, proc: 1 });
const start = (id: string, at: number, token: number, pid = 10, attempt = 1): StartEvent => ({ ev: 'start', at, id, name: 'work', attempt, token, node: `n${pid}`, pid });
const end = (id: string, at: number, token: number, pid = 10, status: EndEvent['status'] = 'completed', delivered = true, attempt = 1): EndEvent => ({ ev: 'end', at, id, attempt, token, node: `n${pid}`, pid, status, delivered });
const kill = (pid: number, at: number): HistoryEvent => ({ ev: 'fault', at, kind: 'kill', target: 'node', node: `n${pid}`, pid });

/** One task run once and answered. */
function clean(id: string, t: number, token: number): HistoryEvent[] {
  return [submit(id, t, t + 5_000), start(id, t + 1, token), end(id, t + 11, token), answer(id, t + 12)];
}

describe('checkHistory', () => {
  it('passes a history where every task ran once and was answered once', () => {
    const verdict = checkHistory([...clean('a', 0, 1), ...clean('b', 5, 2)]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.accepted, 2);
    assert.equal(verdict.answered, 2);
    assert.deepEqual(verdict.outcomes, { completed: 2 });
    assert.deepEqual(verdict.outcomesByTask, { work: { completed: 2 } });
    assert.equal(verdict.executions, 2);
    assert.equal(verdict.extraExecutions.count, 0);
    assert.deepEqual(verdict.executionsPerTask, { work: 1 });
    assert.match(summaryLine(verdict), /^PASS: 2 accepted, 0 lost, 0 duplicate answers, 0 unexpected/);
  });

  it('counts a task without an answer as lost', () => {
    const verdict = checkHistory([...clean('a', 0, 1), submit('b', 0), start('b', 1, 2)]);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.lost, { count: 1, ids: ['b'] });
    assert.match(summaryLine(verdict), /^FAIL: 2 accepted, 1 lost/);
  });

  it('counts an answer later than deadline + grace as lost, and one within it as answered', () => {
    const late = checkHistory([submit('a', 0, 1_000), answer('a', 2_001, 'expired', 'local')]);
    assert.equal(late.lost.count, 1);
    const inTime = checkHistory([submit('a', 0, 1_000), answer('a', 1_999, 'expired', 'local')]);
    assert.equal(inTime.ok, true);
    assert.deepEqual(inTime.outcomes, { expired: 1 });
  });

  it('reports two answers for one task as a duplicate', () => {
    const verdict = checkHistory([...clean('a', 0, 1), answer('a', 20)]);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.duplicateAnswers, { count: 1, ids: ['a'] });
  });

  it('reports a manager answer arriving after the manager already answered as a duplicate', () => {
    const verdict = checkHistory([...clean('a', 0, 1), { ev: 'stray', at: 30, id: 'a', outcome: 'completed', proc: 1 }]);
    assert.equal(verdict.duplicateAnswers.count, 1);
    assert.equal(verdict.ok, false);
  });

  it('treats a manager answer after the client gave up locally as late, not duplicate', () => {
    const verdict = checkHistory([submit('a', 0, 100), answer('a', 100, 'expired', 'local'), { ev: 'stray', at: 150, id: 'a', outcome: 'expired', proc: 1 }]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.lateAnswers, 1);
  });

  it('reports answers and executions of ids nobody submitted as unexpected', () => {
    const verdict = checkHistory([
      ...clean('a', 0, 1),
      answer('ghost', 5),
      { ev: 'stray', at: 6, id: 'phantom', outcome: 'completed', proc: 1 },
      start('intruder', 7, 9), end('intruder', 8, 9),
    ]);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.unexpectedAnswers, { count: 2, ids: ['ghost', 'phantom'] });
    assert.deepEqual(verdict.unexpectedExecutions, { count: 1, ids: ['intruder'] });
  });

  it('explains a second execution after the first node was killed, and measures the re-dispatch', () => {
    const verdict = checkHistory([
      submit('a', 0), start('a', 10, 1, 10), kill(10, 50), start('a', 250, 7, 20, 2), end('a', 260, 7, 20, 'completed', true, 2), answer('a', 261),
    ]);
    assert.equal(verdict.ok, true);
    assert.deepEqual(verdict.extraExecutions, { count: 1, explained: 1, unexplained: 0, ids: [] });
    assert.deepEqual(verdict.redispatch.kill, { count: 1, missing: 0, p50: 200, p99: 200, max: 200 });
    assert.deepEqual(verdict.faults, { 'node-kill': 1 });
  });

  it('explains re-executions after a crashed thread and counts them per task name', () => {
    const verdict = checkHistory([
      submit('p', 0),
      start('p', 1, 1), end('p', 2, 1, 10, 'crashed'),
      start('p', 3, 2), end('p', 4, 2, 10, 'crashed'),
      start('p', 5, 3), end('p', 6, 3, 10, 'crashed'),
      answer('p', 7, 'worker_lost'),
    ]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.extraExecutions.explained, 2);
    assert.deepEqual(verdict.executionsPerTask, { work: 3 });
  });

  it('fails a second execution that no fault explains', () => {
    const verdict = checkHistory([submit('a', 0), start('a', 1, 1), end('a', 5, 1), start('a', 10, 2), end('a', 15, 2), answer('a', 16)]);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.extraExecutions, { count: 1, explained: 0, unexplained: 1, ids: ['a'] });
  });

  it('counts the late result of a paused node as stale, explained by the pause', () => {
    const verdict = checkHistory([
      submit('a', 0),
      start('a', 10, 1, 10),
      { ev: 'fault', at: 20, kind: 'pause', target: 'node', node: 'n10', pid: 10 },
      start('a', 1_100, 2, 20, 2), end('a', 1_110, 2, 20, 'completed', true, 2), answer('a', 1_111),
      { ev: 'fault', at: 2_000, kind: 'resume', target: 'node', node: 'n10', pid: 10 },
      end('a', 2_001, 1, 10, 'completed', false),
    ]);
    assert.equal(verdict.ok, true);
    assert.deepEqual(verdict.staleResults, { count: 1, delivered: 0 });
    assert.equal(verdict.redispatch.pause.p99, 1_080);
  });

  it('explains an attempt a paused node started on resuming, after the task was answered elsewhere', () => {
    const verdict = checkHistory([
      submit('a', 0),
      { ev: 'fault', at: 10, kind: 'pause', target: 'node', node: 'n10', pid: 10 },
      start('a', 1_000, 2, 20, 2), end('a', 1_040, 2, 20, 'completed', true, 2), answer('a', 1_041),
      { ev: 'fault', at: 2_000, kind: 'resume', target: 'node', node: 'n10', pid: 10 },
      start('a', 2_001, 1, 10), end('a', 2_004, 1, 10, 'aborted', false),
    ]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.extraExecutions.explained, 1);
    const unpaused = checkHistory([submit('a', 0), start('a', 1_000, 2, 20), end('a', 1_040, 2, 20), answer('a', 1_041), start('a', 2_001, 1, 10), end('a', 2_004, 1, 10)]);
    assert.equal(unpaused.extraExecutions.unexplained, 1);
  });

  it('explains an attempt started just after the manager was killed (its dispatch was in flight)', () => {
    const verdict = checkHistory([
      submit('a', 0),
      { ev: 'fault', at: 100, kind: 'kill', target: 'manager', pid: 99 },
      start('a', 101, 5, 10), end('a', 104, 5, 10),
      start('a', 3_000, 1, 20), end('a', 3_004, 1, 20), answer('a', 3_005),
    ]);
    assert.equal(verdict.extraExecutions.explained, 1);
    assert.equal(verdict.ok, true);
  });

  it('explains a re-execution after a manager restart even when the first attempt ended just before it', () => {
    const verdict = checkHistory([
      submit('a', 0), start('a', 1, 1, 10), end('a', 5, 1, 10),
      { ev: 'fault', at: 6, kind: 'kill', target: 'manager', pid: 99 },
      start('a', 900, 1, 10, 1), end('a', 905, 1, 10), answer('a', 906),
    ]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.extraExecutions.explained, 1);
    assert.equal(verdict.redispatch.manager.count, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyGate, GATE_MAX_MS } from './busy-gate.js';

describe('BusyGate', () => {
  it('is open until a refusal', () => {
    const gate = new BusyGate();
    for (let p = 0; p < 10; p++) assert.equal(gate.closedFor(p as 0, 0), 0);
  });

  it('closes priorities at or below the refused one for half the hint', () => {
    const gate = new BusyGate();
    gate.refused(5, 'full', 400, 1_000);
    assert.equal(gate.closedFor(5, 1_000), 200);
    assert.equal(gate.closedFor(0, 1_100), 100);
    assert.equal(gate.closedFor(6, 1_000), 0, 'a higher priority may displace queued work');
    assert.equal(gate.closedFor(5, 1_200), 0);
    assert.equal(gate.reason(5), 'full');
  });

  it('caps the closed time', () => {
    const gate = new BusyGate();
    gate.refused(9, 'latency', 30_000, 0);
    assert.equal(gate.closedFor(9, 0), GATE_MAX_MS);
  });

  it('closes every priority when there are no workers or the manager drains', () => {
    for (const reason of ['no_workers', 'draining']) {
      const gate = new BusyGate();
      gate.refused(0, reason, 1_000, 0);
      assert.equal(gate.closedFor(9, 0), 500);
      assert.equal(gate.reason(9), reason);
    }
  });

  it('ignores refusals about one task\'s deadline', () => {
    const gate = new BusyGate();
    gate.refused(5, 'deadline', 1_000, 0);
    assert.equal(gate.closedFor(5, 0), 0);
  });

  it('never shortens a longer closing', () => {
    const gate = new BusyGate();
    gate.refused(5, 'full', 1_000, 0);
    gate.refused(5, 'full', 10, 0);
    assert.equal(gate.closedFor(5, 0), 500);
  });
});

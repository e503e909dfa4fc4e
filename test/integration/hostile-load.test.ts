// The live fuzz, short form: 100 connections of random and mutated frames for 8 s against a keyed
// manager process while legitimate tasks run. Asserts liveness, correctness and a memory bound;
// the latency comparison is `npm run fuzz:live` (a benchmark, not a timed test).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runHostile } from '../../bench/hostile.js';

describe('live fuzz beside legitimate load', () => {
  it('keeps the manager up, answers every legitimate task, closes every attacker, holds memory', async () => {
    // Paced so the suite's other tests, some of them timed, keep a share of the two cores.
    // The attacker at normal priority: at nice 19 the suite's other tests could starve it.
    const r = await runHostile({ scenario: 'fuzz', seconds: 8, baselineSeconds: 1, seed: 6, lanes: 4, connections: 100, intervalMs: 300, tricklers: 0, stalled: 0, attackerPriority: 'normal' });
    assert.equal(r.legitimateErrors, 0);
    assert.ok(r.attack.tasks > 0, 'legitimate tasks completed during the attack');
    assert.ok(r.managerAlive, 'the manager process is still running');
    assert.ok(r.servesAfter, 'a new client connects and runs a task after the attack');
    assert.ok(r.attackStats.connections >= 300, `${r.attackStats.connections} attack connections`);
    assert.ok(r.attackStats.closedByServer >= 0.9 * r.attackStats.connections, `${r.attackStats.closedByServer} of ${r.attackStats.connections} closed by the manager`);
    // Flat, not growing with the attack: 512 KiB kept per attack connection would break this bound.
    const peak = Math.max(r.rssMiB.unattackedMax, r.rssMiB.attackMax);
    assert.ok(peak - r.rssMiB.start < 128, `manager RSS ${r.rssMiB.start.toFixed(1)} → ${peak.toFixed(1)} MiB`);
  });
});

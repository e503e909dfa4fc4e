import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftAlarm, ThresholdAlarm, resolveFillThresholds } from './alarms.js';

describe('ThresholdAlarm', () => {
  it('raises at the threshold, holds inside the hysteresis band and clears below it', () => {
    const alarm = new ThresholdAlarm(0.7, 0.6);
    const changes = [0.5, 0.69, 0.7, 0.8, 0.65, 0.71, 0.6, 0.59, 0.62, 0.75].map((fill, t) => alarm.update(fill, t));
    assert.deepEqual(changes, [undefined, undefined, 'raised', undefined, undefined, undefined, undefined, 'cleared', undefined, 'raised']);
    assert.equal(alarm.since, 9);
    assert.equal(alarm.isActive, true);
  });

  it('does not flap when the figure oscillates around the threshold', () => {
    const alarm = new ThresholdAlarm(0.7, 0.6);
    let changes = 0;
    for (let t = 0; t < 1_000; t++) if (alarm.update(t % 2 === 0 ? 0.69 : 0.72, t) !== undefined) changes++;
    assert.equal(changes, 1);
  });

  it('refuses a clear level above the raise level', () => {
    assert.throws(() => new ThresholdAlarm(0.5, 0.6), { code: 'invalid_argument' });
  });
});

describe('resolveFillThresholds', () => {
  it('defaults to 70% and 90% with a 10-point band', () => {
    assert.deepEqual({ ...resolveFillThresholds() }, { warning: 0.7, critical: 0.9, hysteresis: 0.1 });
  });

  it('names the option that is wrong', () => {
    assert.throws(() => resolveFillThresholds({ warning: 1.5 }), /fillWarning/);
    assert.throws(() => resolveFillThresholds({ warning: 0.9, critical: 0.8 }), /fillWarning.*fillCritical/);
    assert.throws(() => resolveFillThresholds({ hysteresis: 0.8 }), /fillHysteresis/);
  });
});

describe('DriftAlarm', () => {
  const settings = { factor: 2, clearFactor: 1.5, minExcessMs: 5, warmup: 5, alpha: 0.1 };

  it('stays quiet through warm-up, then raises on a jump above twice the norm', () => {
    const alarm = new DriftAlarm(settings);
    for (let t = 0; t < 5; t++) assert.equal(alarm.update(t === 0 ? 20 : 200, t), undefined, 'warm-up never alarms');
    for (let t = 5; t < 200; t++) alarm.update(20, t);
    assert.ok(Math.abs(alarm.norm! - 20) < 0.1);
    assert.equal(alarm.update(45, 200), 'raised');
    assert.equal(alarm.since, 200);
    assert.equal(alarm.update(45, 201), undefined, 'raised once');
    assert.equal(alarm.update(20, 202), 'cleared');
  });

  it('ignores small absolute changes on fast tasks and ticks without enough samples', () => {
    const alarm = new DriftAlarm(settings);
    for (let t = 0; t < 20; t++) alarm.update(0.2, t);
    assert.equal(alarm.update(3, 20), undefined, '15× slower but under 5 ms more');
    assert.equal(alarm.update(undefined, 21), undefined);
    assert.equal(alarm.update(10, 22), 'raised');
  });

  it('clears by itself once a lasting change has become the norm', () => {
    const alarm = new DriftAlarm(settings);
    for (let t = 0; t < 20; t++) alarm.update(20, t);
    assert.equal(alarm.update(60, 20), 'raised');
    let clearedAt: number | undefined;
    for (let t = 21; t < 200 && clearedAt === undefined; t++) if (alarm.update(60, t) === 'cleared') clearedAt = t;
    assert.ok(clearedAt !== undefined && clearedAt > 22, `cleared at ${clearedAt}`);
  });
});

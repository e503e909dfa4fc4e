import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ewma, PLANNED_DEVIATIONS, SERVICE_TIME_HORIZON_MS, ServiceTimeStats, ServiceTimes } from './ewma.js';

describe('Ewma', () => {
  it('is undefined before the first sample, which then sets the value', () => {
    const ewma = new Ewma(0.2);
    assert.equal(ewma.value, undefined);
    ewma.update(50);
    assert.equal(ewma.value, 50);
  });

  it('moves by alpha towards each new sample', () => {
    const ewma = new Ewma(0.5);
    ewma.update(10);
    ewma.update(20);
    assert.equal(ewma.value, 15);
    ewma.update(15);
    assert.equal(ewma.value, 15);
  });

  it('ignores non-finite samples and rejects an alpha outside (0, 1]', () => {
    const ewma = new Ewma(0.2);
    ewma.update(Number.NaN);
    ewma.update(Infinity);
    assert.equal(ewma.value, undefined);
    for (const alpha of [0, -0.1, 1.5, Number.NaN]) assert.throws(() => new Ewma(alpha), { code: 'invalid_argument' });
    assert.doesNotThrow(() => new Ewma(1));
  });
});

/** Samples this far apart are a slow stream: each weighs alpha. */
const APART = 10 * SERVICE_TIME_HORIZON_MS;

describe('ServiceTimes', () => {
  it('estimates nothing before any sample', () => {
    const times = new ServiceTimes();
    assert.equal(times.estimate('a'), undefined);
    assert.equal(times.overall, undefined);
    assert.deepEqual([...times.entries()], []);
  });

  it('keeps a mean per name and one over all samples; a slow stream weighs each sample by alpha 0.2', () => {
    const times = new ServiceTimes();
    times.record('a', 100, 0);
    times.record('a', 200, APART);
    times.record('b', 10, 2 * APART);
    assert.equal(times.mean('a'), 120); // 100 + 0.2 × 100
    assert.equal(times.mean('b'), 10);
    assert.equal(times.mean('never-seen'), 120 + 0.2 * (10 - 120));
  });

  it('plans each name above its mean by its deviation, and an unmeasured name by the overall figures', () => {
    const times = new ServiceTimes();
    times.record('a', 40, 0);
    assert.equal(times.estimate('a'), 40 + PLANNED_DEVIATIONS * 20); // first deviation: half the sample
    assert.equal(times.estimate('never-seen'), times.overall);
    assert.deepEqual([...times.entries()], [['a', times.estimate('a')]]);
  });

  it('ignores negative, NaN and infinite samples', () => {
    const times = new ServiceTimes();
    for (const ms of [-1, Number.NaN, Infinity]) times.record('a', ms, 0);
    assert.equal(times.overall, undefined);
    assert.equal(times.estimate('a'), undefined);
    times.record('a', 0, 0);
    assert.equal(times.estimate('a'), 0);
    assert.equal(times.mean('a'), 0);
  });

  it('tracks at most maxNames names; later ones feed only the overall estimate', () => {
    const times = new ServiceTimes(0.2, 1);
    times.record('a', 10, 0);
    times.record('b', 1000, 1);
    assert.deepEqual([...times.entries()].map(([name]) => name), ['a']);
    assert.equal(times.estimate('b'), times.overall);
  });
});

describe('ServiceTimeStats', () => {
  it('follows the mean deviation as RFC 6298 follows round-trip variation', () => {
    const stats = new ServiceTimeStats(0.2);
    assert.equal(stats.planned, undefined);
    assert.equal(stats.deviation, undefined);
    stats.update(10, 0);
    assert.equal(stats.deviation, 5);
    stats.update(14, APART); // |14 − 10| = 4: 5 + 0.25 × (4 − 5)
    assert.equal(stats.deviation, 4.75);
    assert.equal(stats.mean, 10.8);
    assert.equal(stats.planned, 10.8 + PLANNED_DEVIATIONS * 4.75);
  });

  it('averages a fast stream over its horizon: one odd sample among a thousand a second barely moves it', () => {
    const stats = new ServiceTimeStats(0.2);
    for (let ms = 0; ms < 2_000; ms++) stats.update(10, ms);
    const before = stats.mean!;
    stats.update(100, 2_000);
    assert.ok(stats.mean! - before < 0.2, `moved by ${stats.mean! - before}`); // alpha alone would move it 18
    for (let ms = 2_001; ms < 2_000 + 3 * SERVICE_TIME_HORIZON_MS; ms++) stats.update(20, ms);
    assert.ok(stats.mean! > 19 && stats.mean! < 20, `after three horizons of 20 ms: ${stats.mean}`);
  });

  it('weighs samples of the same instant alike', () => {
    const stats = new ServiceTimeStats(0.2);
    for (let i = 0; i < 1_000; i++) stats.update(i % 2 === 0 ? 5 : 15, 0);
    assert.ok(Math.abs(stats.mean! - 10) < 0.1, `mean ${stats.mean}`);
  });

  it('plans a steady stream at almost its mean, and a wandering one well above it', () => {
    const steady = new ServiceTimeStats(0.2);
    const wandering = new ServiceTimeStats(0.2);
    for (let ms = 0; ms < 200; ms++) {
      steady.update(10, ms);
      wandering.update(ms % 2 === 0 ? 5 : 15, ms);
    }
    assert.ok(steady.planned! - 10 < 0.5, `steady: ${steady.planned}`);
    assert.ok(Math.abs(wandering.mean! - 10) < 1, `wandering mean: ${wandering.mean}`);
    assert.ok(wandering.planned! > 18, `wandering planned: ${wandering.planned}`);
  });

  it('ignores non-finite samples and rejects an alpha outside (0, 1]', () => {
    const stats = new ServiceTimeStats(0.2);
    stats.update(Number.NaN, 0);
    stats.update(Infinity, 0);
    assert.equal(stats.mean, undefined);
    assert.equal(stats.planned, undefined);
    for (const alpha of [0, 1.5, Number.NaN]) assert.throws(() => new ServiceTimeStats(alpha), { code: 'invalid_argument' });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ewma, ServiceTimes } from './ewma.js';

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

describe('ServiceTimes', () => {
  it('estimates nothing before any sample', () => {
    const times = new ServiceTimes();
    assert.equal(times.estimate('a'), undefined);
    assert.equal(times.overall, undefined);
    assert.deepEqual([...times.entries()], []);
  });

  it('keeps an EWMA (alpha 0.2) per name and one over all samples', () => {
    const times = new ServiceTimes();
    times.record('a', 100);
    times.record('a', 200);
    times.record('b', 10);
    assert.equal(times.estimate('a'), 120); // 100 + 0.2 × 100
    assert.equal(times.estimate('b'), 10);
    assert.equal(times.overall, 120 + 0.2 * (10 - 120));
    assert.deepEqual([...times.entries()], [['a', 120], ['b', 10]]);
  });

  it('estimates an unmeasured name by the overall average', () => {
    const times = new ServiceTimes();
    times.record('a', 40);
    assert.equal(times.estimate('never-seen'), 40);
  });

  it('ignores negative, NaN and infinite samples', () => {
    const times = new ServiceTimes();
    for (const ms of [-1, Number.NaN, Infinity]) times.record('a', ms);
    assert.equal(times.overall, undefined);
    assert.equal(times.estimate('a'), undefined);
    times.record('a', 0);
    assert.equal(times.estimate('a'), 0);
  });

  it('tracks at most maxNames names; later ones feed only the overall estimate', () => {
    const times = new ServiceTimes(0.2, 1);
    times.record('a', 10);
    times.record('b', 1000);
    assert.deepEqual([...times.entries()].map(([name]) => name), ['a']);
    assert.equal(times.estimate('b'), times.overall);
  });
});

import { ServiceTimes } from '../estimates/ewma.js';

/**
 * Service times set directly: each recorded sample becomes the name's estimate and the overall
 * one, so queue tests can state exact boundaries. (The estimator itself is tested in ewma.test.ts.)
 */
export class FixedTimes extends ServiceTimes {
  readonly table = new Map<string, number>();
  overallMs: number | undefined;
  override record(name: string, ms: number, _now?: number): void {
    this.table.set(name, ms);
    this.overallMs = ms;
  }
  override estimate(name: string): number | undefined {
    return this.table.get(name) ?? this.overallMs;
  }
  override get overall(): number | undefined {
    return this.overallMs;
  }
}

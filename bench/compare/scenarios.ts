// What `npm run bench` measures. Capacity is 10 slots of a 10 ms await (≈ 1,000 tasks/s); sluice
// admits by --max-latency 250, the count-bounded peers hold at most 1,000 queued tasks.
import type { LoadPlan, Phase } from './load.js';
import type { RunConfig, TaskKind } from './system.js';

export const SLOTS = 10;
export const BOUND = 1_000;
export const MAX_LATENCY_MS = 250;
/** Nominal capacity for the 10 ms task: slots × 1000 / 10. */
export const CAPACITY = 1_000;
/** A completion counts as goodput when it arrives within this time of its intended send. */
export const DEADLINE_MS = 2_000;
/** Recovery: a second whose p99 is within this of the idle latency counts as recovered. */
export const RECOVERED_P99_MS = 50;

export interface Scenario {
  id: string;
  title: string;
  config: RunConfig;
  plan: LoadPlan;
  /** Recovery: the second at which the overload phase ends. */
  overloadEndsAt?: number;
  /** Shown under the scenario's title in the report. */
  note?: string;
}

const config = (task: TaskKind): RunConfig => ({ slots: SLOTS, bound: BOUND, maxLatencyMs: MAX_LATENCY_MS, task });
const warmUp: Phase = { rate: CAPACITY / 2, seconds: 2, measured: false };

export function scenarios(options: { quick: boolean }): Scenario[] {
  const overloadSeconds = options.quick ? 5 : 30;
  const drainCapMs = options.quick ? 5_000 : 15_000;
  const overload = (factor: number): Scenario => ({
    id: `overload-${factor}x`,
    title: `Overload ${factor}× capacity (${factor * CAPACITY}/s of 10 ms tasks for ${overloadSeconds} s)`,
    config: config('wait10'),
    plan: { mode: 'open', phases: [warmUp, { rate: factor * CAPACITY, seconds: overloadSeconds, measured: true }], deadlineMs: DEADLINE_MS, drainCapMs },
  });
  const throughput: Scenario = {
    id: 'throughput',
    title: 'Throughput (no-op tasks, 500 in flight, end to end)',
    config: config('noop'),
    plan: { mode: 'closed', window: 500, warmupSeconds: 2, seconds: options.quick ? 3 : 5 },
  };
  const recovery = (after: number, note: string): Scenario => ({
    id: after === 1 ? 'recovery-1x' : 'recovery',
    title: `Recovery (5× capacity for 10 s, then ${after}× for 10 s)`,
    note,
    config: config('wait10'),
    plan: {
      mode: 'open',
      phases: [warmUp, { rate: 5 * CAPACITY, seconds: 10, measured: true }, { rate: after * CAPACITY, seconds: 10, measured: true }],
      deadlineMs: DEADLINE_MS,
      drainCapMs,
    },
    overloadEndsAt: 12,
  });
  if (options.quick) return [throughput, overload(5)];
  return [
    throughput,
    {
      id: 'light',
      title: 'Latency at light load (open loop, 200 no-op tasks/s for 10 s)',
      config: config('noop'),
      plan: { mode: 'open', phases: [{ rate: 200, seconds: 2, measured: false }, { rate: 200, seconds: 10, measured: true }], deadlineMs: DEADLINE_MS, drainCapMs: 5_000 },
    },
    overload(2),
    overload(5),
    overload(10),
    recovery(1, 'After the overload, arrivals at capacity. A queue fed at its service rate is critically loaded (and 10 ms timers make the real capacity a little under 1,000/s), so no system returns to its light-load latency here; the run shows what each holds its latency at instead.'),
    recovery(0.8, 'After the overload, arrivals at 80% of capacity: a load a queue can drain, so the time to return to light-load latency is measurable.'),
  ];
}

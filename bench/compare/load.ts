// The load generator: runs in its own process so it never shares an event loop with the system
// it measures. Open loop: arrivals follow a Poisson process whose schedule does not wait for
// answers, and every latency is measured from the intended send time, so a generator or system
// that falls behind shows up as latency instead of being hidden (no coordinated omission).
import { performance } from 'node:perf_hooks';
import hdr from 'hdr-histogram-js';
import type { Outcome, Producer } from './system.js';

export interface Phase {
  /** Arrivals per second. */
  rate: number;
  seconds: number;
  /** Whether sends of this phase count in the summary (warm-up phases do not). */
  measured: boolean;
}

export type LoadPlan =
  | { mode: 'open'; phases: Phase[]; deadlineMs: number; drainCapMs: number }
  | { mode: 'closed'; window: number; warmupSeconds: number; seconds: number };

export interface SecondSample {
  /** Sends intended in this second, by outcome. */
  sent: number;
  accepted: number;
  rejected: number;
  /** Latency of the accepted sends intended in this second (ms). */
  p50: number;
  p99: number;
  /** Completions in this second, and those within the deadline. */
  completed: number;
  goodput: number;
}

export interface Percentiles { count: number; p50: number; p99: number; p999: number; max: number }

export interface LoadResult {
  perSecond: SecondSample[];
  /** End-to-end latency of accepted tasks sent in measured phases. */
  accepted: Percentiles;
  /** Time from the intended send to the refusal, for refused sends in measured phases. */
  rejection: Percentiles;
  /** How far behind its schedule the generator sent (all phases). */
  sendLag: Percentiles;
  measuredSeconds: number;
  /** Over measured phases, per second. */
  acceptedPerSecond: number;
  rejectedPerSecond: number;
  goodputPerSecond: number;
  /** Time from the last intended send to the last answer; undefined when the drain cap passed. */
  drainMs: number | undefined;
  outstandingAtCap: number;
  errors: number;
  firstError: string | undefined;
  /** Closed loop only: completed tasks per second. */
  throughput: number | undefined;
}

const histogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
const US = 1_000;
/** Longest run of sends between two turns of the event loop. */
const SLICE_MS = 5;

function percentiles(h: hdr.Histogram): Percentiles {
  const at = (p: number): number => (h.totalCount === 0 ? Number.NaN : h.getValueAtPercentile(p) / US);
  return { count: h.totalCount, p50: at(50), p99: at(99), p999: at(99.9), max: h.totalCount === 0 ? Number.NaN : h.maxValue / US };
}

/** Exponential inter-arrival gap for `rate` arrivals per second, in ms. */
function gapMs(rate: number): number {
  return (-Math.log(1 - Math.random()) * 1_000) / rate;
}

class Recorder {
  readonly start: number;
  readonly seconds: { sent: number; accepted: number; rejected: number; completed: number; goodput: number; latency: hdr.Histogram }[] = [];
  readonly accepted = histogram();
  readonly rejection = histogram();
  /** How late the generator sent, behind the schedule: large values mean it could not keep up. */
  readonly sendLag = histogram();
  errors = 0;
  firstError: string | undefined;
  outstanding = 0;
  lastAnswer = 0;
  constructor(start: number, readonly deadlineMs: number) {
    this.start = start;
  }

  #second(at: number): Recorder['seconds'][number] {
    const index = Math.max(0, Math.floor((at - this.start) / 1_000));
    while (this.seconds.length <= index) this.seconds.push({ sent: 0, accepted: 0, rejected: 0, completed: 0, goodput: 0, latency: histogram() });
    return this.seconds[index]!;
  }

  lag(ms: number): void {
    this.sendLag.recordValue(Math.max(1, Math.round(ms * US)));
  }

  send(producer: Producer, intended: number, measured: boolean): void {
    this.#second(intended).sent++;
    this.outstanding++;
    producer.submit().then((outcome) => this.#answer(outcome, intended, measured), (error: unknown) => {
      this.outstanding--;
      this.errors++;
      this.firstError ??= String(error);
    });
  }

  #answer(outcome: Outcome, intended: number, measured: boolean): void {
    const now = performance.now();
    this.outstanding--;
    this.lastAnswer = now;
    const latencyUs = Math.max(1, Math.round((now - intended) * US));
    const sent = this.#second(intended);
    if (outcome === 'rejected') {
      sent.rejected++;
      if (measured) this.rejection.recordValue(latencyUs);
      return;
    }
    sent.accepted++;
    sent.latency.recordValue(latencyUs);
    if (measured) this.accepted.recordValue(latencyUs);
    const done = this.#second(now);
    done.completed++;
    if (now - intended <= this.deadlineMs) done.goodput++;
  }

  perSecond(): SecondSample[] {
    return this.seconds.map(({ latency, ...counts }) => ({ ...counts, ...percentilesOf(latency) }));
  }
}

function percentilesOf(h: hdr.Histogram): { p50: number; p99: number } {
  const p = percentiles(h);
  return { p50: p.p50, p99: p.p99 };
}

/** Runs an open-loop plan; `onStart` is told the time origin so samplers can align. */
export async function runOpenLoop(producer: Producer, plan: Extract<LoadPlan, { mode: 'open' }>, onStart: () => void): Promise<LoadResult> {
  const start = performance.now();
  onStart();
  const recorder = new Recorder(start, plan.deadlineMs);
  let phaseStart = start;
  let measuredMs = 0;
  let firstMeasured: number | undefined;
  for (const phase of plan.phases) {
    const phaseEnd = phaseStart + phase.seconds * 1_000;
    if (phase.measured) {
      measuredMs += phase.seconds * 1_000;
      firstMeasured ??= phaseStart;
    }
    let next = phaseStart + gapMs(phase.rate);
    while (next < phaseEnd) {
      const tick = performance.now();
      // Send what is due, but never for longer than one slice: a generator that cannot keep up
      // must still read its answers (and a server must not see it stop reading), so it yields.
      // Sends it is late with are timed from when they were due.
      while (next <= tick && next < phaseEnd && performance.now() - tick < SLICE_MS) {
        recorder.lag(performance.now() - next);
        recorder.send(producer, next, phase.measured);
        next += gapMs(phase.rate);
      }
      if (next <= performance.now()) await new Promise((r) => setImmediate(r));
      else await new Promise((r) => setTimeout(r, Math.min(1, next - performance.now())));
    }
    phaseStart = phaseEnd;
  }
  const loadEnd = phaseStart;
  const capAt = loadEnd + plan.drainCapMs;
  while (recorder.outstanding > 0 && performance.now() < capAt) await new Promise((r) => setTimeout(r, 5));
  const drained = recorder.outstanding === 0;
  const perSecond = recorder.perSecond();
  const measuredSeconds = measuredMs / 1_000;
  const firstIndex = Math.floor(((firstMeasured ?? start) - start) / 1_000);
  const window = perSecond.slice(firstIndex, firstIndex + measuredSeconds);
  const sum = (key: keyof SecondSample): number => window.reduce((a, s) => a + s[key], 0);
  return {
    perSecond,
    accepted: percentiles(recorder.accepted),
    rejection: percentiles(recorder.rejection),
    sendLag: percentiles(recorder.sendLag),
    measuredSeconds,
    acceptedPerSecond: sum('accepted') / measuredSeconds,
    rejectedPerSecond: sum('rejected') / measuredSeconds,
    goodputPerSecond: sum('goodput') / measuredSeconds,
    drainMs: drained ? Math.max(0, recorder.lastAnswer - loadEnd) : undefined,
    outstandingAtCap: recorder.outstanding,
    errors: recorder.errors,
    firstError: recorder.firstError,
    throughput: undefined,
  };
}

/** Keeps `window` tasks in flight: the most each system completes per second, end to end. */
export async function runClosedLoop(producer: Producer, plan: Extract<LoadPlan, { mode: 'closed' }>, onStart: () => void): Promise<LoadResult> {
  let stop = false;
  let completed = 0;
  let rejected = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (!stop) {
      try {
        if ((await producer.submit()) === 'completed') completed++;
        else rejected++;
      } catch (error) {
        errors++;
        firstError ??= String(error);
        if (errors > 1_000) return;
      }
    }
  };
  onStart();
  const lanes = Array.from({ length: plan.window }, lane);
  await new Promise((r) => setTimeout(r, plan.warmupSeconds * 1_000));
  const before = completed;
  const rejectedBefore = rejected;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, plan.seconds * 1_000));
  const elapsed = (performance.now() - started) / 1_000;
  const throughput = (completed - before) / elapsed;
  const rejectedPerSecond = (rejected - rejectedBefore) / elapsed;
  stop = true;
  await Promise.race([Promise.all(lanes), new Promise((r) => setTimeout(r, 10_000))]);
  const none = percentiles(histogram());
  return {
    perSecond: [], accepted: none, rejection: none, sendLag: none, measuredSeconds: elapsed,
    acceptedPerSecond: throughput, rejectedPerSecond, goodputPerSecond: throughput,
    drainMs: undefined, outstandingAtCap: 0, errors, firstError, throughput,
  };
}

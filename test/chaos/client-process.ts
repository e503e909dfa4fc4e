// One chaos client: its own process, its own history. Submits at a steady rate (or keeps a number
// of tasks outstanding) for the given time, waits for every answer within a bound, prints a JSON
// summary on stdout and exits. Tasks still unanswered at the bound are left so: the checker counts
// them lost (closing the client would answer them `closed` and hide that).
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/index.js';
import { Prng } from './prng.js';

export interface ChaosClientConfig {
  manager: string;
  keyFile: string;
  history: string;
  seed: number;
  seconds: number;
  /** Tasks per second; or, with `outstanding`, the most started per second while topping up. */
  rate: number;
  /** Keep this many unanswered tasks (manager scenario); 0 for a steady rate. */
  outstanding: number;
  /** `work` sleeps a uniform whole number of ms in this range. */
  workMs: [number, number];
  /** Share of `work` tasks that sleep `longMs` instead (outlasting a drain timeout), 0 for none. */
  longShare: number;
  longMs: [number, number];
  /** Share of submissions that are poison tasks (poison scenario), 0 otherwise. */
  poisonShare: number;
  timeoutMs: number;
  /** Deadline of poison `loop` tasks, which only their deadline ends. */
  loopTimeoutMs: number;
  /** How long to wait for the last answers after submitting stops. */
  drainMs: number;
}

export const CHAOS_CLIENT_ENV = 'SLUICE_CHAOS_CLIENT';
export const POISON_MODES = ['throw', 'exit', 'loop', 'oom', 'unhandled'] as const;

async function main(): Promise<void> {
  const config = JSON.parse(process.env[CHAOS_CLIENT_ENV] ?? '') as ChaosClientConfig;
  const rng = new Prng(config.seed);
  const client = await connect({
    manager: config.manager, keyFile: config.keyFile, history: config.history, name: `chaos-client-${process.pid}`,
    maxInFlight: 100_000, connectTimeoutMs: 30_000, reconnect: { baseMs: 50, maxMs: 500 },
  });
  const outcomes: Record<string, number> = {};
  let pending = 0;
  let submitted = 0;
  const workMs = (): number => {
    const [min, max] = config.longShare > 0 && rng.chance(config.longShare) ? config.longMs : config.workMs;
    return rng.int(min, max);
  };
  const submitOne = (): void => {
    const poison = config.poisonShare > 0 && rng.chance(config.poisonShare);
    const mode = poison ? rng.pick(POISON_MODES) : undefined;
    const call = mode === undefined
      ? client.run('work', { ms: workMs() }, { timeoutMs: config.timeoutMs })
      : client.run('poison', { mode }, { timeoutMs: mode === 'loop' ? config.loopTimeoutMs : config.timeoutMs });
    const label = mode === undefined ? 'work' : `poison-${mode}`;
    submitted++;
    pending++;
    call.then(
      () => count(`${label}:completed`),
      (error: { code?: string }) => count(`${label}:${error.code ?? 'error'}`),
    );
  };
  const count = (key: string): void => {
    pending--;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  };

  const started = performance.now();
  const until = started + config.seconds * 1_000;
  // Bounded: one pass per 5 ms tick for `seconds`, at most `rate`/200 + outstanding submissions each.
  for (let now = started; now < until; now = performance.now()) {
    const due = Math.floor(((now - started) / 1_000) * config.rate) - submitted;
    const wanted = config.outstanding > 0 ? Math.min(due, config.outstanding - pending) : due;
    for (let i = 0; i < wanted; i++) submitOne();
    await sleep(5);
  }
  const drainUntil = performance.now() + config.drainMs;
  while (pending > 0 && performance.now() < drainUntil) await sleep(20);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, submitted, unanswered: pending, outcomes })}\n`);
  if (pending === 0) await client.close();
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

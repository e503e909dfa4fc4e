// npm run bench:attack-cost -- --scenario fuzz|slow [--without-key] [--seconds 10] [--runs 3] [--seed 42]
//
// What an attack costs a manager that serves nothing else: its CPU per attack connection, user
// and system apart. No legitimate load, so nothing but the attack moves it: the figure to watch
// when working on the attack's cost, where a p99 on two shared cores is too noisy to tell 10%.
// The attack is the one of `npm run fuzz:live` (100 connections of random and mutated frames)
// or of `npm run bench:slow-peers` (1,000 tricklers), from this process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dial } from '../src/protocol/dial.js';
import { generateKey, parseKey } from '../src/protocol/auth.js';
import { fuzz, trickle, type AttackStats } from '../test/helpers/hostile.js';
import { cpuTimes, freePort, sluice } from './hostile-processes.js';

export interface AttackCost { connections: number; frames: number; userUsPerConnection: number; systemUsPerConnection: number }

export async function measureAttackCost(options: { scenario: 'fuzz' | 'slow'; seconds: number; seed: number; withKey?: boolean }): Promise<AttackCost> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-attack-cost-'));
  const keyText = generateKey();
  const keyFile = join(dir, 'sluice.key');
  writeFileSync(keyFile, `${keyText}\n`);
  const key = parseKey(keyText);
  const port = await freePort();
  const manager = sluice(['manager', '--port', String(port), '--key-file', keyFile, '--max-handshake-failures', '0']);
  try {
    // Up once a client gets through its handshake (bounded: 10 s).
    for (let i = 0; ; i++) {
      const up = await dial({ host: '127.0.0.1', port, role: 'client', key }).then((c) => c.close().then(() => true), () => false);
      if (up) break;
      if (i >= 100) throw new Error('the manager did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = cpuTimes(manager.pid!);
    const untilMs = Date.now() + options.seconds * 1_000;
    const stats: AttackStats = options.scenario === 'fuzz'
      ? await fuzz({ port, key, connections: 100, untilMs, seed: options.seed, intervalMs: 100, withKey: options.withKey !== false })
      : await trickle({ port, count: 1_000, untilMs });
    const after = cpuTimes(manager.pid!);
    return {
      connections: stats.connections,
      frames: stats.frames,
      userUsPerConnection: ((after.userMs - before.userMs) * 1_000) / stats.connections,
      systemUsPerConnection: ((after.systemMs - before.systemMs) * 1_000) / stats.connections,
    };
  } finally {
    manager.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const usage = (message: string): never => {
    process.stderr.write(`bench/attack-cost: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(64);
  };
  const { values } = (() => {
    try {
      return parseArgs({ options: { scenario: { type: 'string', default: 'fuzz' }, seconds: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' }, seed: { type: 'string', default: '42' }, 'without-key': { type: 'boolean', default: false } } });
    } catch (error) {
      return usage((error as Error).message);
    }
  })();
  const count = (name: 'seconds' | 'runs' | 'seed', min: number): number => {
    const n = Number(values[name]);
    if (!Number.isSafeInteger(n) || n < min) usage(`Expected --${name} to be a whole number from ${min}, got ${JSON.stringify(values[name])}`);
    return n;
  };
  if (values.scenario !== 'fuzz' && values.scenario !== 'slow') usage(`Expected --scenario to be fuzz or slow, got ${JSON.stringify(values.scenario)}`);
  const scenario = values.scenario as 'fuzz' | 'slow';
  const [seconds, runs, seed] = [count('seconds', 1), count('runs', 1), count('seed', 0)];
  const results: AttackCost[] = [];
  for (let i = 0; i < runs; i++) results.push(await measureAttackCost({ scenario, seconds, seed: seed + i, withKey: values['without-key'] !== true }));
  const median = (pick: (r: AttackCost) => number): number => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  process.stdout.write(`${scenario}${values['without-key'] === true ? ' without the key' : ''}, ${runs} runs of ${seconds} s: manager CPU per attack connection, median: user ${median((r) => r.userUsPerConnection).toFixed(0)} µs, system ${median((r) => r.systemUsPerConnection).toFixed(0)} µs (${median((r) => r.connections)} connections, ${median((r) => r.frames)} frames a run)\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

// npm run fuzz:live -- --seconds 60        100 connections of random and mutated frames
// npm run bench:slow-peers -- --seconds 60  1,000 byte-a-second tricklers + clients that stop reading
//
// The command line of bench/hostile.ts: flags in, one table and one line of JSON out.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { runHostile, type CpuShare, type HostileOptions, type PhaseFigures } from './hostile.js';

/** A bad command line: its message on one line and exit 64, no stack. */
const usage = (message: string): never => {
  process.stderr.write(`bench/hostile: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(64);
};
const { values } = (() => {
  try {
    return parseArgs({
      options: {
        scenario: { type: 'string', default: 'fuzz' },
        seconds: { type: 'string', default: '60' },
        rounds: { type: 'string', default: '3' },
        baseline: { type: 'string' },
        seed: { type: 'string' },
        lanes: { type: 'string', default: '32' },
        rate: { type: 'string', default: '0' },
        connections: { type: 'string', default: '100' },
        interval: { type: 'string', default: '100' },
        tricklers: { type: 'string', default: '1000' },
        stalled: { type: 'string', default: '20' },
        burst: { type: 'string', default: '1000' },
        pin: { type: 'boolean', default: false },
        'no-control': { type: 'boolean', default: false },
        'without-key': { type: 'boolean', default: false },
        'honest-key-holders': { type: 'boolean', default: false },
        'attacker-priority': { type: 'string', default: 'low' },
      },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
})();
if (values.scenario !== 'fuzz' && values.scenario !== 'slow') usage(`Expected --scenario to be fuzz or slow, got ${JSON.stringify(values.scenario)}`);
for (const flag of ['without-key', 'honest-key-holders'] as const) {
  if (values.scenario !== 'fuzz' && values[flag] === true) usage(`--${flag} shapes the fuzz; it means nothing with --scenario ${values.scenario}`);
}
if (values['without-key'] === true && values['honest-key-holders'] === true) usage('Expected --without-key or --honest-key-holders, not both: without the key there are no key holders');
if (values.pin && process.env['SLUICE_BENCH_PINNED'] !== '1') {
  // Re-run this process (and so the manager, worker and client) on all CPUs but the last.
  const cpus = availableParallelism();
  const child = spawn('taskset', ['-c', cpus > 2 ? `0-${cpus - 2}` : '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, SLUICE_BENCH_PINNED: '1' } });
  child.once('error', (error) => {
    process.stderr.write(`bench/hostile: Could not run under taskset for --pin: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code) => process.exit(code ?? 1));
  await new Promise(() => {});
}
/** A whole number from `min`, or a clear refusal naming the flag. */
const count = (name: string, min = 0): number => {
  const text = values[name as keyof typeof values];
  const n = Number(text);
  if (typeof text !== 'string' || !Number.isSafeInteger(n) || n < min) usage(`Expected --${name} to be a whole number from ${min}, got ${JSON.stringify(text)}`);
  return n;
};
const seconds = count('seconds', 1);
const rounds = count('rounds', 1);
const control = values['no-control'] !== true;
const options: HostileOptions = {
  scenario: values.scenario as HostileOptions['scenario'],
  seconds,
  rounds,
  // Alone about as long as attacked, all phases together.
  baselineSeconds: values.baseline === undefined ? Math.max(5, Math.round(seconds / ((control ? 2 : 1) * rounds + 1))) : count('baseline', 1),
  seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : count('seed'),
  lanes: count('lanes', 1),
  rate: count('rate'),
  connections: count('connections'),
  fuzzWithKey: values['without-key'] !== true,
  honestKeyHolders: values['honest-key-holders'] === true,
  intervalMs: count('interval', 1),
  tricklers: count('tricklers'),
  stalled: count('stalled'),
  burst: count('burst', 1),
  pin: values.pin === true,
  control,
  attackerPriority: values['attacker-priority'] as HostileOptions['attackerPriority'],
};
if (!['idle', 'low', 'normal'].includes(values['attacker-priority'] as string)) {
  usage(`Expected --attacker-priority to be idle, low or normal, got ${JSON.stringify(values['attacker-priority'])}`);
}
const r = await runHostile(options).catch((error: unknown) => {
  process.stderr.write(`bench/hostile: ${error instanceof Error ? error.message : String(error)}\n`);
  return process.exit(1);
});
const ms = (n: number): string => `${n.toFixed(2)} ms`;
const cpu = (c: CpuShare | undefined): string => (c === undefined ? '' : [c.manager, c.worker, c.load, c.attacker, ...(control ? [c.decoy] : [])].map((n) => n.toFixed(0)).join(' / '));
const cells = (alone: string, controlled: string, attacked: string): string => (control ? `| ${alone} | ${controlled} | ${attacked} |` : `| ${alone} | ${attacked} |`);
const tasksPerSecond = (f: PhaseFigures | undefined): string => (f === undefined ? '' : String(Math.round(f.tasksPerSecond)));
const phaseMark = { alone: (t: string) => t, control: (t: string) => `_${t}_`, attack: (t: string) => `**${t}**` };
process.stdout.write(`
| ${options.scenario} (seed ${options.seed}; ${options.scenario === 'fuzz' ? `${options.connections} connections${options.fuzzWithKey === false ? ' without the key' : options.honestKeyHolders === true ? ', the key holders honest' : ''}, a frame or a reconnect every ${options.intervalMs} ms each` : `${options.tricklers} tricklers, ${options.stalled} stalled readers of ${options.burst} tasks each`}; ${rounds} × ${+(seconds / rounds).toFixed(1)} s of attack${control ? ' and as much on a decoy manager (the control)' : ''}, legitimate load alone ${options.baselineSeconds} s before each and after the last${options.pin === true ? '; attacker on its own CPU' : ''}${{ idle: '; attacker in the idle scheduling class', low: '; attacker at nice 19', normal: '; attacker at normal priority' }[options.attackerPriority ?? 'low']}) ${cells('alone', 'control: the attack on a decoy', 'under attack')}
${control ? '| --- | --- | --- | --- |' : '| --- | --- | --- |'}
| legitimate no-op tasks/s (${(options.rate ?? 0) > 0 ? `${options.rate}/s on schedule` : `${options.lanes} in flight`}) ${cells(tasksPerSecond(r.baseline), tasksPerSecond(r.control), tasksPerSecond(r.attack))}
| legitimate p50 ${cells(ms(r.baseline.p50Ms), r.control === undefined ? '' : ms(r.control.p50Ms), ms(r.attack.p50Ms))}
| legitimate p99 ${cells(ms(r.baseline.p99Ms), r.control === undefined ? '' : `${ms(r.control.p99Ms)} (×${r.controlRatio!.toFixed(2)})`, `${ms(r.attack.p99Ms)} (×${r.p99Ratio.toFixed(2)}${r.p99RatioToControl === undefined ? '' : `; ×${r.p99RatioToControl.toFixed(2)} the control`})`)}
| legitimate errors ${cells(String(r.legitimateErrors), '', '')}
| attack connections / frames / closed by the manager ${cells('', '', `${r.attackStats.connections} / ${r.attackStats.frames} / ${r.attackStats.closedByServer}`)}
| manager RSS: after warm-up → highest not attacked → highest attacked → end ${cells(`${r.rssMiB.start.toFixed(1)} → ${r.rssMiB.unattackedMax.toFixed(1)} → ${r.rssMiB.attackMax.toFixed(1)} → ${r.rssMiB.end.toFixed(1)} MiB`, '', '')}
| new clients while attacked: answered / tried (slowest) ${cells('', '', `${r.newcomers.served} / ${r.newcomers.tried} (${r.newcomers.slowestMs.toFixed(0)} ms)`)}
| CPU ms per second: manager / worker / load generator / attacker${control ? ' / decoy manager' : ''} ${cells(cpu(r.cpu.alone), cpu(r.cpu.control), cpu(r.cpu.attack))}
| legitimate p99 by phase in order (alone, _control_, **attacked**) ${cells(`${r.phases.map((p) => phaseMark[p.kind](p.p99Ms.toFixed(2))).join(' · ')} ms`, '', '')}
| manager alive, serves a new client after ${cells(r.managerAlive && r.servesAfter ? 'yes' : 'NO', '', '')}
`);
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(r.managerAlive && r.servesAfter && r.legitimateErrors === 0 ? 0 : 1);

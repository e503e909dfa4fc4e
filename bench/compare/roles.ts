// Entry point of the benchmark's child processes, one role each, talking to the orchestrator over
// IPC:  worker SYSTEM ENDPOINT CONFIG   |   load SYSTEM ENDPOINT CONFIG PLAN   |   sluice-manager MS  |  echo-server
import { serveEcho } from './raw-limits.js';
import { runClosedLoop, runOpenLoop, type LoadPlan } from './load.js';
import { serveManager } from './sluice-system.js';
import { systemNamed } from './systems.js';
import type { Endpoint, RunConfig } from './system.js';

const [role, ...args] = process.argv.slice(2);
const json = <T>(i: number): T => JSON.parse(args[i]!) as T;

// The orchestrator ends these processes; losing it (IPC closed) ends them too.
process.on('disconnect', () => process.exit(0));
// A clean exit on SIGTERM lets `--cpu-prof` (BENCH_CPU_PROF) write its profile.
process.on('SIGTERM', () => process.exit(0));

if (role === 'echo-server') {
  await serveEcho();
} else if (role === 'sluice-manager') {
  await serveManager(Number(args[0]));
} else if (role === 'worker') {
  await systemNamed(args[0]!).startWorker(json<Endpoint>(1), json<RunConfig>(2));
  process.send!('ready');
} else if (role === 'load') {
  const producer = await systemNamed(args[0]!).openProducer(json<Endpoint>(1), json<RunConfig>(2));
  const plan = json<LoadPlan>(3);
  const started = (): void => void process.send!('started');
  const result = plan.mode === 'open' ? await runOpenLoop(producer, plan, started) : await runClosedLoop(producer, plan, started);
  process.send!({ result });
  await Promise.race([producer.close(), new Promise((r) => setTimeout(r, 2_000))]);
  process.exit(0);
} else {
  throw new Error(`Expected a role (worker, load, sluice-manager, echo-server), got ${JSON.stringify(role)}`);
}

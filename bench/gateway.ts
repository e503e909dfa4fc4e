// npm run bench:gateway — HTTP requests/s through the gateway, beside a bare node:http "200 ok"
// server measured in the same run with the same load generator (autocannon, 100 connections,
// POST with a small JSON body). Each server runs in its own child process so the load generator
// and the server do not share an event loop. Scenarios:
//   bare          node:http answering "200 ok" (the reference)
//   fastify       fastify answering "200 ok" from a POST route: what a framework costs before any
//                 gateway logic (why the gateway is written on node:http)
//   gateway       a no-op task through `sluice dev --http-port` (manager + worker threads + gateway)
//   gateway-none  the same with `--isolation none`: handlers on the node's own event loop, no
//                 hand-over to a thread and back per task
//   queue-full    the same with the manager's queue full of long tasks: every answer is 503
// Each scenario runs BENCH_ROUNDS times (default 3), interleaved; the table shows the median run
// and the range. Environment: BENCH_SECONDS per run (default 5), BENCH_CONNECTIONS (default
// 100), BENCH_SCENARIOS (comma-separated subset; bare always runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const TASKS = fileURLToPath(new URL('../../test/fixtures/gateway-tasks.js', import.meta.url));
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 100);

type Scenario = 'bare' | 'fastify' | 'gateway' | 'gateway-none' | 'queue-full';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

// ── servers (child processes) ───────────────────────────────────────────────────────────────

const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const FULL_QUEUE = 100;
const FULL_SLOTS = 2;

async function serveBare(): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

async function serveFastify(): Promise<number> {
  const { default: fastify } = await import('fastify');
  const app = fastify({ logger: false });
  app.post('/v1/tasks/:name', async (_request, reply) => reply.type('text/plain').send('ok'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

interface Child { child: ChildProcess; port: number; managerPort?: number }

function devFlags(scenario: Scenario): string[] {
  if (scenario === 'queue-full') return ['--capacity', String(FULL_SLOTS), '--max-queue', String(FULL_QUEUE)];
  // A no-op task is I/O-shaped: many slots share one thread, as for tasks that await.
  if (scenario === 'gateway') return ['--capacity', '128', '--threads', '1'];
  return ['--capacity', '128', '--isolation', 'none'];
}

/** Spawns the bare server (this file in `serve` mode) or `sluice dev --http-port 0`. */
async function startChild(scenario: Scenario): Promise<Child> {
  const args = scenario === 'bare' || scenario === 'fastify'
    ? [SELF, 'serve', scenario]
    : [SLUICE_BIN, 'dev', '--tasks', TASKS, '--port', '0', '--http-port', '0', '--log-format', 'json', '--log-level', 'info',
      ...devFlags(scenario)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const selfServed = scenario === 'bare' || scenario === 'fastify';
  const output = selfServed ? child.stdout! : child.stderr!;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: output });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (selfServed || String(entry['msg']).startsWith('sluice dev ready')) {
        lines.removeAllListeners('line');
        lines.on('line', () => {}); // keep draining the child's logs
        resolve(entry);
      }
    });
    child.once('exit', (code) => reject(new Error(`${scenario} server exited with ${code}`)));
  });
  if (selfServed) return { child, port: ready['port'] as number };
  return { child, port: Number(String(ready['http']).split(':')[1]), managerPort: Number(String(ready['manager']).split(':')[1]) };
}

/**
 * Fills the manager's queue with ten-minute sleeps, so nothing more fits for the whole run. It
 * submits sleeps until one is refused rather than counting to slots + queue: what a worker node
 * holds beyond its busy slots (prefetch) would otherwise leave room, and a probe admitted into
 * that room would wait ten minutes.
 */
async function fillQueue(managerPort: number): Promise<{ close(): Promise<void> }> {
  const { connect } = await import('../src/client/index.js');
  const client = await connect({ manager: `127.0.0.1:${managerPort}` });
  // Admitted sleeps never answer within the run; a refusal answers at once.
  const refused = (): Promise<boolean> => {
    const run = client.run('sleep', { ms: 600_000 }, { retry: false });
    return Promise.race([
      run.then(() => false, (error: Error) => error.name === 'BusyError'),
      new Promise<boolean>((resolve) => setTimeout(resolve, 100, false)),
    ]);
  };
  for (let batch = 0; batch < 50; batch++) {
    const outcomes = await Promise.all(Array.from({ length: 10 }, refused));
    if (outcomes.includes(true)) return client;
  }
  await client.close();
  throw new Error('the queue did not fill');
}

// ── the load generator (this process) ───────────────────────────────────────────────────────

async function measure(autocannon: Autocannon, scenario: Scenario): Promise<AutocannonResult> {
  const { child, port, managerPort } = await startChild(scenario);
  const filler = scenario === 'queue-full' ? await fillQueue(managerPort!) : undefined;
  try {
    const options = {
      url: `http://127.0.0.1:${port}/v1/tasks/noop`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      connections,
    };
    await autocannon({ ...options, duration: 2 }); // warm-up: JIT, pool threads, keep-alive sockets
    return await autocannon({ ...options, duration: seconds });
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
    await filler?.close();
  }
}

function statuses(result: AutocannonResult): string {
  return Object.entries(result.statusCodeStats).map(([code, { count }]) => `${code}×${count}`).join(' ');
}

/** The run whose rate is the median of the rounds (rounds is odd, so it is one real run). */
function medianRun(runs: AutocannonResult[]): AutocannonResult {
  return [...runs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(runs.length / 2)]!;
}

async function main(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const all: Scenario[] = ['bare', 'fastify', 'gateway', 'gateway-none', 'queue-full'];
  const chosen = process.env['BENCH_SCENARIOS']?.split(',');
  const scenarios = all.filter((s) => s === 'bare' || chosen === undefined || chosen.includes(s));
  const runs = new Map<Scenario, AutocannonResult[]>(scenarios.map((s) => [s, []]));
  // Rounds interleave the scenarios, so a noisy neighbour on a shared machine slows each of them
  // alike instead of skewing the ratio of whichever ran during the noise.
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      process.stderr.write(`round ${round}/${rounds}: ${scenario} (${seconds} s, ${connections} connections)…\n`);
      runs.get(scenario)!.push(await measure(autocannon, scenario));
    }
  }
  const results = new Map(scenarios.map((s) => [s, medianRun(runs.get(s)!)]));
  const bare = results.get('bare')!.requests.average;
  const rows = scenarios.map((scenario) => {
    const r = results.get(scenario)!;
    const rates = runs.get(scenario)!.map((run) => run.requests.average);
    return {
      scenario,
      'req/s': Math.round(r.requests.average),
      'min–max': `${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}`,
      'vs bare': `${((100 * r.requests.average) / bare).toFixed(0)}%`,
      'p50 ms': r.latency.p50,
      'p99 ms': r.latency.p99,
      statuses: statuses(r),
      errors: r.errors + r.timeouts,
    };
  });
  console.table(rows);
  const target = (scenario: Scenario, share: number): string => {
    const got = results.get(scenario)!.requests.average / bare;
    return `${scenario}: ${(100 * got).toFixed(0)}% of bare (target ≥ ${100 * share}%) ${got >= share ? 'OK' : 'BELOW TARGET'}`;
  };
  if (results.has('gateway')) console.log(target('gateway', 0.6));
  if (results.has('gateway-none')) console.log(target('gateway-none', 0.6));
  if (results.has('queue-full')) console.log(target('queue-full', 0.8));
  console.log(JSON.stringify({ connections, seconds, rounds, results: rows }));
}

if (process.argv[2] === 'serve') {
  // A clean exit on SIGINT lets `node --cpu-prof` write its profile when a server is profiled alone.
  process.once('SIGINT', () => process.exit(0));
  const port = process.argv[3] === 'fastify' ? await serveFastify() : await serveBare();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} else {
  await main();
}

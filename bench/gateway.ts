// npm run bench:gateway — HTTP requests/s through the gateway, beside a bare node:http "200 ok"
// server measured in the same run with the same load generator (autocannon, 100 connections,
// POST with a small JSON body). Each server runs in its own child process so the load generator
// and the server do not share a core. Scenarios:
//   bare          node:http answering "200 ok" (the reference)
//   gateway-http  the gateway over a scripted in-process client: the HTTP layer alone
//   gateway       a no-op task through an in-process dev setup (manager + worker threads + client + gateway)
//   queue-full    the same setup with the manager's queue full of long tasks: every answer is 503
// Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 100), BENCH_SCENARIOS
// (comma-separated subset; bare always runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const TASKS = fileURLToPath(new URL('../../test/fixtures/gateway-tasks.js', import.meta.url));
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 100);

type Scenario = 'bare' | 'gateway-http' | 'gateway' | 'queue-full';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

// ── servers (child processes) ───────────────────────────────────────────────────────────────

async function serve(scenario: Scenario): Promise<number> {
  if (scenario === 'bare') {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
    server.keepAliveTimeout = 5_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  }
  const { startGateway } = await import('../src/gateway/index.js');
  if (scenario === 'gateway-http') {
    const { FakeClient } = await import('../src/gateway/fake-client.test-helpers.js');
    const gateway = await startGateway({ client: new FakeClient({ record: false }), port: 0 });
    return gateway.address.port;
  }
  const { startManager } = await import('../src/manager/index.js');
  const { startWorker } = await import('../src/worker/index.js');
  const { connect } = await import('../src/client/index.js');
  const full = scenario === 'queue-full';
  const manager = await startManager({ port: 0, maxQueue: full ? 100 : 10_000 });
  const address = `127.0.0.1:${manager.address.port}`;
  await startWorker({ manager: address, tasks: TASKS, capacity: full ? 2 : 64, threads: 1 });
  while (manager.snapshot().workers.length === 0) await new Promise((r) => setTimeout(r, 10));
  const client = await connect({ manager: address });
  if (full) {
    // Two running and a hundred queued ten-minute sleeps: nothing more fits for the whole run.
    for (let i = 0; i < 102; i++) await client.submit('sleep', { ms: 600_000 }, { retry: false });
    while (manager.snapshot().queued < 100) await new Promise((r) => setTimeout(r, 10));
  }
  const gateway = await startGateway({ client, port: 0, maxPending: 10_000 });
  return gateway.address.port;
}

// ── the load generator (this process) ───────────────────────────────────────────────────────

async function startChild(scenario: Scenario): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SELF, 'serve', scenario], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${scenario} server exited with ${code}`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function measure(autocannon: Autocannon, scenario: Scenario): Promise<AutocannonResult> {
  const { child, port } = await startChild(scenario);
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
  }
}

function statuses(result: AutocannonResult): string {
  return Object.entries(result.statusCodeStats).map(([code, { count }]) => `${code}×${count}`).join(' ');
}

async function main(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const all: Scenario[] = ['bare', 'gateway-http', 'gateway', 'queue-full'];
  const chosen = process.env['BENCH_SCENARIOS']?.split(',');
  const scenarios = all.filter((s) => s === 'bare' || chosen === undefined || chosen.includes(s));
  const results = new Map<Scenario, AutocannonResult>();
  for (const scenario of scenarios) {
    process.stderr.write(`measuring ${scenario} (${seconds} s, ${connections} connections)…\n`);
    results.set(scenario, await measure(autocannon, scenario));
  }
  const bare = results.get('bare')!.requests.average;
  const rows = scenarios.map((scenario) => {
    const r = results.get(scenario)!;
    return {
      scenario,
      'req/s': Math.round(r.requests.average),
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
  if (results.has('queue-full')) console.log(target('queue-full', 0.8));
  console.log(JSON.stringify({ connections, seconds, results: rows }));
}

if (process.argv[2] === 'serve') {
  // A clean exit on SIGINT lets `node --cpu-prof` write its profile when a server is profiled alone.
  process.once('SIGINT', () => process.exit(0));
  const port = await serve(process.argv[3] as Scenario);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} else {
  await main();
}

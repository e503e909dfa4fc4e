// The HTTP gateway as a user starts it: `sluice gateway` as its own process in front of a keyed
// manager, and `sluice manager --http-port` embedding it. Real processes, real HTTP on loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { generateKey } from '../../src/protocol/auth.js';
import { FIXTURES, SLUICE_BIN, SluiceProcess, startDevProcess, startManagerProcess, startWorkerProcess } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-gateway-cli-'));
const keyFile = join(dir, 'sluice.key');
writeFileSync(keyFile, `${generateKey()}\n`);
const apiKeysFile = join(dir, 'api-keys');
const API_KEY = 'k-0123456789abcdef0123';
writeFileSync(apiKeysFile, `# one key per line\n\n${API_KEY}\n`);

async function post(port: number, task: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await request(`http://127.0.0.1:${port}/v1/tasks/${task}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

async function get(port: number, path: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  await res.body.dump();
  return res.statusCode;
}

async function startGatewayProcess(flags: string[]): Promise<{ proc: SluiceProcess; port: number }> {
  const proc = new SluiceProcess(['gateway', '--port', '0', ...flags]);
  const line = await proc.waitForLog((l) => l.msg === 'gateway listening');
  return { proc, port: line['port'] as number };
}

/** Runs the CLI to completion and returns its exit code and stderr. */
function exitOf(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], { env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit in time`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('sluice gateway in front of a keyed manager', () => {
  let manager: SluiceProcess;
  let worker: SluiceProcess;
  let gateway: SluiceProcess;
  let managerPort: number;
  let httpPort: number;

  before(async () => {
    ({ proc: manager, port: managerPort } = await startManagerProcess(['--key-file', keyFile]));
    worker = await startWorkerProcess(manager, managerPort, 'w1', ['--key-file', keyFile, '--capacity', '2']);
    ({ proc: gateway, port: httpPort } = await startGatewayProcess([
      '--manager', `127.0.0.1:${managerPort}`, '--key-file', keyFile, '--api-keys-file', apiKeysFile,
    ]));
  });

  after(async () => {
    await gateway?.stop();
    await worker?.stop();
    await manager?.stop();
  });

  it('runs a task for a caller with an API key', async () => {
    const r = await post(httpPort, 'echo', { hello: 'gateway' }, { authorization: `Bearer ${API_KEY}` });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { result: { hello: 'gateway' } });
  });

  it('answers 401 without the API key, and keeps health open on loopback', async () => {
    const r = await post(httpPort, 'echo', {});
    assert.equal(r.status, 401);
    assert.equal(await get(httpPort, '/healthz'), 200);
    assert.equal(await get(httpPort, '/readyz'), 200);
  });

  it('exits 0 on SIGTERM', async () => {
    await gateway.stop();
    const { code } = await gateway.exited;
    assert.equal(code, 0);
  });
});

describe('sluice manager --http-port', () => {
  let manager: SluiceProcess;
  let httpPort: number;

  before(async () => {
    manager = new SluiceProcess(['manager', '--port', '0', '--http-port', '0']);
    httpPort = (await manager.waitForLog((l) => l.msg === 'gateway listening'))['port'] as number;
  });

  after(async () => {
    await manager?.stop();
  });

  it('is live at once, and ready only once a worker joins', async () => {
    assert.equal(await get(httpPort, '/healthz'), 200);
    assert.equal(await get(httpPort, '/readyz'), 503);
    const port = (manager.logs.find((l) => l.msg === 'manager listening')!['port']) as number;
    const worker = await startWorkerProcess(manager, port, 'w1');
    try {
      assert.equal(await get(httpPort, '/readyz'), 200);
      assert.equal((await post(httpPort, 'echo', [1, 2])).status, 200);
    } finally {
      await worker.stop();
    }
  });
});

describe('gateway flags', () => {
  it('refuse bad input with exit 64, naming the flag', async () => {
    const empty = join(dir, 'empty-keys');
    writeFileSync(empty, '# nothing here\n');
    const cases: Array<[string[], RegExp]> = [
      [['gateway', '--manager', '127.0.0.1:1', '--port', 'x'], /--port "x"/],
      [['gateway', '--manager', '127.0.0.1:1', '--api-keys-file', empty], /--api-keys-file .*at least one key/],
      [['gateway', '--manager', '127.0.0.1:1', '--api-keys-file', join(dir, 'missing')], /Cannot read --api-keys-file/],
      [['gateway', '--manager', '127.0.0.1:1', '--max-pending', '0'], /--max-pending "0"/],
      [['gateway'], /Missing --manager/],
      [['manager', '--port', '0', '--max-pending', '10'], /--max-pending needs --http-port/],
      [['dev', '--tasks', 'x.js', '--http-port', '70000'], /--http-port "70000"/],
    ];
    for (const [args, message] of cases) {
      const r = await exitOf(args);
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('exits 69 when the manager is unreachable', async () => {
    const r = await exitOf(['gateway', '--manager', '127.0.0.1:1', '--port', '0']);
    assert.equal(r.code, 69, r.stderr);
  });
});

describe('sluice dev --isolation none', () => {
  let dev: SluiceProcess;
  let httpPort: number;

  before(async () => {
    ({ proc: dev, httpPort } = await startDevProcess(`${FIXTURES}integration-tasks.js`, ['--isolation', 'none', '--capacity', '4']));
  });

  after(async () => {
    await dev?.stop();
  });

  it('runs handlers on the node\'s own event loop and answers results and failures', async () => {
    assert.deepEqual(await post(httpPort, 'echo', { width: 300 }), { status: 200, json: { result: { width: 300 } } });
    const failed = await post(httpPort, 'boom', { message: 'bad width' });
    assert.equal(failed.status, 500);
    assert.deepEqual(failed.json, { error: { code: 'task_failed', message: 'bad width', name: 'TypeError' } });
  });
});

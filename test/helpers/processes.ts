import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The CLI entry of this checkout, run with the same node binary. */
export const SLUICE_BIN = fileURLToPath(new URL('../../../bin/sluice.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

export interface LogLine { msg?: string; [key: string]: unknown }

/**
 * A sluice CLI process with its JSON log lines (stderr) collected, so tests wait on what the
 * process says it did instead of sleeping.
 */
export class SluiceProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdout: string[] = [];
  readonly #waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [SLUICE_BIN, ...args, '--log-format', 'json', '--log-level', 'debug'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.stdout.push(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        entry = { msg: line, raw: true };
      }
      this.logs.push(entry);
      for (const waiter of this.#waiters) {
        if (waiter.match(entry)) {
          this.#waiters.delete(waiter);
          waiter.resolve(entry);
        }
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line (past or future) that matches; rejects after timeoutMs. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l); } };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; last lines:\n${this.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      this.exited.then(() => {
        if (!this.#waiters.has(waiter)) return;
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`process exited while waiting for a log line; last lines:\n${this.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      }, () => {});
    });
  }

  countLogs(match: (line: LogLine) => boolean): number {
    return this.logs.filter(match).length;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within graceMs. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function startManagerProcess(flags: string[] = [], env: Record<string, string> = {}): Promise<{ proc: SluiceProcess; port: number }> {
  const proc = new SluiceProcess(['manager', '--port', '0', ...flags], env);
  const line = await proc.waitForLog((l) => l.msg === 'manager listening');
  return { proc, port: line['port'] as number };
}

/** Starts a worker node and waits until the manager says it joined. */
export async function startWorkerProcess(
  manager: SluiceProcess,
  port: number,
  name: string,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<SluiceProcess> {
  const joinedBefore = manager.countLogs((l) => l.msg === 'worker joined');
  const proc = new SluiceProcess(['worker', '--manager', `127.0.0.1:${port}`, '--name', name, '--tasks', `${FIXTURES}integration-tasks.js`, ...flags], env);
  let seen = 0;
  await manager.waitForLog((l) => l.msg === 'worker joined' && ++seen > joinedBefore, 20_000);
  return proc;
}

/** `sluice dev` with its HTTP gateway, both on free ports; resolves once it is ready. */
export async function startDevProcess(
  tasks: string,
  flags: string[] = [],
  env: Record<string, string> = {},
  readyTimeoutMs = 15_000,
): Promise<{ proc: SluiceProcess; port: number; httpPort: number }> {
  const proc = new SluiceProcess(['dev', '--tasks', tasks, '--port', '0', '--http-port', '0', ...flags], env);
  const ready = await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('sluice dev ready'), readyTimeoutMs);
  const [, httpPort] = String(ready['http']).split(':');
  const [, port] = String(ready['manager']).split(':');
  return { proc, port: Number(port), httpPort: Number(httpPort) };
}

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI to completion (bounded by timeoutMs) and collects its output. */
export function runSluice(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], { env: { ...process.env, SLUICE_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The processes of one chaos run — a manager and named worker nodes started through the CLI, all
// on 127.0.0.1 — and the faults the runner injects into them, each recorded in the run's history.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { FaultEvent, HistoryRecorder } from '../../src/core/history/events.js';
import { historyTime } from '../../src/protocol/history-file.js';
import { generateKey } from '../../src/protocol/auth.js';
import { FIXTURES, SluiceProcess } from '../helpers/processes.js';
import type { Prng } from './prng.js';

export interface NodeSpec {
  name: string;
  isolation: 'thread' | 'process';
  capacity: number;
  threads?: number;
  maxHeapMb?: number;
}

export interface ClusterSettings {
  heartbeatMs: number;
  maxAttempts: number;
  drainTimeoutMs: number;
  nodes: NodeSpec[];
}

/** `ready`: registered with a manager since its last start, so faults may hit it. */
interface NodeState { spec: NodeSpec; proc: SluiceProcess | undefined; paused: boolean; ready: boolean }

/** How long any one process may take to start, stop or drain before the run gives up on it. */
const PROCESS_STEP_MS = 30_000;

export class ChaosCluster {
  readonly keyFile: string;
  readonly nodes = new Map<string, NodeState>();
  #port = 0;
  #manager: SluiceProcess | undefined;

  constructor(readonly dir: string, readonly settings: ClusterSettings, readonly history: HistoryRecorder) {
    this.keyFile = join(dir, 'sluice.key');
    writeFileSync(this.keyFile, `${generateKey()}\n`);
    for (const spec of settings.nodes) this.nodes.set(spec.name, { spec, proc: undefined, paused: false, ready: false });
  }

  get managerAddress(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get managerUp(): boolean {
    return this.#manager !== undefined;
  }

  /** Node names that are running, registered and not paused. */
  get liveNodes(): string[] {
    return [...this.nodes.values()].filter((n) => n.proc !== undefined && n.ready && !n.paused).map((n) => n.spec.name);
  }

  get downNodes(): string[] {
    return [...this.nodes.values()].filter((n) => n.proc === undefined).map((n) => n.spec.name);
  }

  async start(): Promise<void> {
    this.#port = await freePort();
    await this.startManager();
    for (const name of this.nodes.keys()) await this.startNode(name);
  }

  async startManager(): Promise<void> {
    // The port was just freed by the killed manager; a few tries cover a slow release.
    for (let attempt = 1; ; attempt++) {
      const proc = new SluiceProcess([
        'manager', '--port', String(this.#port), '--key-file', this.keyFile,
        '--heartbeat', String(this.settings.heartbeatMs), '--max-attempts', String(this.settings.maxAttempts),
      ]);
      try {
        await proc.waitForLog((l) => l.msg === 'manager listening', PROCESS_STEP_MS);
        this.#manager = proc;
        this.#record('restart', 'manager', proc.pid);
        return;
      } catch (error) {
        proc.kill();
        if (attempt >= 5) throw error;
      }
    }
  }

  killManager(): void {
    const proc = this.#manager;
    if (proc === undefined) return;
    this.#manager = undefined;
    proc.kill('SIGKILL');
    this.#record('kill', 'manager', proc.pid);
  }

  async startNode(name: string): Promise<void> {
    const node = this.#node(name);
    const { spec } = node;
    const args = [
      'worker', '--manager', this.managerAddress, '--key-file', this.keyFile, '--name', spec.name,
      '--tasks', `${FIXTURES}chaos-tasks.js`, '--capacity', String(spec.capacity), '--isolation', spec.isolation,
      '--drain-timeout', String(this.settings.drainTimeoutMs),
    ];
    if (spec.threads !== undefined) args.push('--threads', String(spec.threads));
    if (spec.maxHeapMb !== undefined) args.push('--max-heap', String(spec.maxHeapMb));
    const proc = new SluiceProcess(args, { SLUICE_HISTORY: join(this.dir, `${spec.name}.ndjson`) });
    node.proc = proc;
    node.paused = false;
    node.ready = false;
    this.#record('restart', 'node', proc.pid, name);
    try {
      await proc.waitForLog((l) => l.msg === 'registered with manager', PROCESS_STEP_MS);
      node.ready = true;
    } catch (error) {
      const exit = await Promise.race([proc.exited, Promise.resolve(undefined)]);
      throw new Error(`worker node ${name} did not register (exit ${JSON.stringify(exit)}; stdout ${JSON.stringify(proc.stdout.slice(-5))})`, { cause: error });
    }
  }

  killNode(name: string): void {
    const node = this.#node(name);
    const proc = node.proc;
    if (proc === undefined) return;
    node.proc = undefined;
    node.paused = false;
    proc.kill('SIGKILL');
    this.#record('kill', 'node', proc.pid, name);
  }

  /** kill -9 of one of the node's pool processes; false when it has none (thread isolation). */
  killChild(name: string, rng: Prng): boolean {
    const proc = this.#node(name).proc;
    if (proc === undefined) return false;
    const children = childPids(proc.pid);
    if (children.length === 0) return false;
    process.kill(rng.pick(children), 'SIGKILL');
    this.#record('kill-child', 'node', proc.pid, name);
    return true;
  }

  pauseNode(name: string): void {
    const node = this.#node(name);
    if (node.proc === undefined || node.paused) return;
    node.paused = true;
    // The whole process group would include the pool's children; the node process alone is what
    // the manager hears from, and its children stop being fed while it is stopped.
    node.proc.kill('SIGSTOP');
    this.#record('pause', 'node', node.proc.pid, name);
  }

  resumeNode(name: string): void {
    const node = this.#node(name);
    if (node.proc === undefined || !node.paused) return;
    node.paused = false;
    node.proc.kill('SIGCONT');
    this.#record('resume', 'node', node.proc.pid, name);
  }

  /** SIGTERM: the node drains and exits; resolves once it has. */
  async terminateNode(name: string): Promise<void> {
    const node = this.#node(name);
    const proc = node.proc;
    if (proc === undefined) return;
    this.#record('term', 'node', proc.pid, name);
    await proc.stop(PROCESS_STEP_MS);
    node.proc = undefined;
  }

  /** Undoes every fault still in force: resumes paused nodes, restarts dead ones and the manager. */
  async heal(): Promise<void> {
    if (this.#manager === undefined) await this.startManager();
    for (const node of this.nodes.values()) {
      if (node.paused) this.resumeNode(node.spec.name);
      if (node.proc === undefined) await this.startNode(node.spec.name);
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) if (node.paused) node.proc?.kill('SIGCONT');
    await Promise.all([...this.nodes.values()].map((n) => n.proc?.stop(PROCESS_STEP_MS)));
    await this.#manager?.stop(PROCESS_STEP_MS);
    this.#manager = undefined;
  }

  #node(name: string): NodeState {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no node named ${name}`);
    return node;
  }

  #record(kind: FaultEvent['kind'], target: FaultEvent['target'], pid: number, node?: string): void {
    this.history.record({ ev: 'fault', at: historyTime(), kind, target, pid, ...(node === undefined ? {} : { node }) });
  }
}

/** Pids whose parent is `pid`, read from /proc (Linux). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

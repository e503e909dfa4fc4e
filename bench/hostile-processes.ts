// The processes of the hostile-peer benchmarks: sluice roles as child processes, and what they
// cost (CPU time and RSS, read from /proc: Linux).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { SLUICE_BIN } from '../test/helpers/processes.js';
import { PROFILE_ARGS } from './compare/children.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A sluice command in a process of its own, through `wrapper` if given (`taskset -c 1` …). Logs
 * go nowhere: under attack the manager still formats them, as it would in production.
 * BENCH_CPU_PROF=DIR: it writes a CPU profile there.
 */
export function sluice(args: string[], wrapper: readonly string[] = []): ChildProcess {
  const command = [...wrapper, process.execPath, ...PROFILE_ARGS, SLUICE_BIN, ...args, '--log-format', 'json', '--log-level', 'info'];
  return spawn(command[0] as string, command.slice(1), { stdio: 'ignore' });
}

export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/** CPU time of a process so far, in ms, user and system apart (clock ticks of 10 ms). */
export function cpuTimes(pid: number): { userMs: number; systemMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name, which may hold spaces: utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userMs: Number(fields[11]) * 10, systemMs: Number(fields[12]) * 10 };
}

/** CPU time (user + system) of a process so far, in ms. */
export function cpuMs(pid: number): number {
  const { userMs, systemMs } = cpuTimes(pid);
  return userMs + systemMs;
}

/** CPU time (user + system) of this process so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

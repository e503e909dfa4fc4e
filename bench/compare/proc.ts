// Reading a local process's memory from /proc (Linux): every server in the comparison runs on
// this machine, so its resident memory is measured the same way whatever the system.
import { readdirSync, readFileSync } from 'node:fs';

export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the first process whose command name is `comm` (e.g. 'redis-server'), if any. */
export function findPid(comm: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

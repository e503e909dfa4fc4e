// The benchmark's child processes (bench/compare/roles.ts): started, awaited and ended alike.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROLES = fileURLToPath(new URL('./roles.js', import.meta.url));

/** BENCH_CPU_PROF=DIR: every child process writes a V8 CPU profile there (open in Chrome DevTools). */
export const PROFILE_ARGS = process.env['BENCH_CPU_PROF'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`];

export function child(args: string[]): ChildProcess {
  return fork(ROLES, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...PROFILE_ARGS] });
}

/** SIGTERM (the roles exit cleanly, so profiles get written), SIGKILL after a grace period. */
export async function end(process: ChildProcess | undefined): Promise<void> {
  if (process === undefined || process.exitCode !== null || process.signalCode !== null) return;
  const exited = once(process, 'exit');
  process.kill('SIGTERM');
  const timer = setTimeout(() => process.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first IPC message matching, rejecting if the process exits first. */
export function message<T>(process: ChildProcess, match: (m: unknown) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!match(m)) return;
      process.off('exit', onExit);
      process.off('message', onMessage);
      resolve(m as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`${process.spawnargs.slice(2, 4).join(' ')} exited with ${code}`));
    process.on('message', onMessage);
    process.once('exit', onExit);
  });
}


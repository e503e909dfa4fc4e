import { SluiceError, InvalidArgumentError } from '../core/errors.js';
import { UsageError } from './flags.js';
import { keygen, keygenUsage } from './commands/keygen.js';
import { managerCommand, managerUsage } from './commands/manager.js';
import { workerCommand, workerUsage } from './commands/worker.js';
import { devCommand, devUsage } from './commands/dev.js';
import { runCommand, runUsage } from './commands/run.js';
import { gatewayCommand, gatewayUsage } from './commands/gateway.js';
import { statusCommand, statusUsage } from './commands/status.js';

const EXIT_USAGE = 64;
const EXIT_UNAVAILABLE = 69;
const EXIT_CONFIG = 78; // EX_CONFIG: the task module named by --tasks cannot be loaded

const commands: Record<string, { run: (argv: string[]) => number | Promise<number>; usage: string; summary: string }> = {
  dev: { run: devCommand, usage: devUsage, summary: 'manager + worker pool in one process, for a laptop' },
  manager: { run: managerCommand, usage: managerUsage, summary: 'run a manager (admission, queue, dispatch)' },
  worker: { run: workerCommand, usage: workerUsage, summary: 'run a worker node that executes tasks' },
  gateway: { run: gatewayCommand, usage: gatewayUsage, summary: 'serve the HTTP gateway in front of a manager' },
  run: { run: runCommand, usage: runUsage, summary: 'run one task and print its result' },
  status: { run: statusCommand, usage: statusUsage, summary: 'show the queue, workers and alerts of a manager' },
  keygen: { run: keygen, usage: keygenUsage, summary: 'print a new shared key' },
};

const mainUsage = `Usage: sluice <command> [options]

A distributed task queue whose queues never grow without bound.

Commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join('\n')}

Run \`sluice <command> --help\` for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainUsage}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`${(createRequire(import.meta.url)('../../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`sluice: unknown command ${JSON.stringify(name)}\n\n${mainUsage}\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidArgumentError) {
      process.stderr.write(`sluice ${name}: ${error.message}\nRun \`sluice ${name} --help\` for usage.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof SluiceError && error.code === 'invalid_task_module') {
      process.stderr.write(`sluice ${name}: ${error.message}\n`);
      return EXIT_CONFIG;
    }
    if (error instanceof SluiceError && ['auth_failed', 'connect_failed', 'protocol_error'].includes(error.code)) {
      process.stderr.write(`sluice ${name}: ${error.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    process.stderr.write(`sluice ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Commands that finished (run, keygen) must not be held open by a lingering handle.
    if (process.argv[2] === 'run' || process.argv[2] === 'keygen' || process.argv[2] === 'status') setImmediate(() => process.exit(code)).unref();
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

import { connect } from '../../client/index.js';
import { BusyError, ExpiredError, TaskFailedError } from '../../client/errors.js';
import { parsePriority } from '../../core/priority.js';
import { DEFAULT_MANAGER_ADDRESS, UsageError, helpFlag, integerFlag, keyFlags, keyFromFlags, logFlags, managerFlag, parseFlags, tlsFromFlags } from '../flags.js';

export const EXIT_FAILED = 1;
export const EXIT_BUSY = 75; // EX_TEMPFAIL: try again later
export const EXIT_DEADLINE = 124; // as timeout(1)

export const runUsage = `Usage: sluice run TASK [ARGS_JSON] [options]

Runs one task and prints its result as JSON on stdout.
Exit codes: 0 done, 1 the task failed, 75 still busy after retries, 124 deadline passed,
64 bad command line, 69 manager unreachable or refused the key.

Options:
  --manager HOST:PORT    manager address; env SLUICE_MANAGER (default ${DEFAULT_MANAGER_ADDRESS})
  --key-file FILE        shared key; env SLUICE_KEY_FILE
  --tls-ca FILE          CA (PEM) the manager's certificate must chain to (enables TLS)
  --priority P           high|normal|low or 0–9 (default normal)
  --timeout MS           deadline for the task; also ends the wait
  --retries N            busy retries before giving up (default 50; 0 = none)
  --max-attempts N       executions if workers are lost mid-task (default: the manager's)
  --id ID                task id (resubmitting an id attaches to the running task)`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { manager: { type: 'string' }, priority: { type: 'string' }, timeout: { type: 'string' }, retries: { type: 'string' }, 'max-attempts': { type: 'string' }, id: { type: 'string' }, ...keyFlags, ...logFlags, ...helpFlag },
    true,
  );
  if (values['help'] === true) {
    process.stdout.write(`${runUsage}\n`);
    return 0;
  }
  const [name, argsText, ...extra] = positionals;
  if (name === undefined) throw new UsageError('Missing TASK: expected the name of a task, e.g. `sluice run resize \'{"width":300}\'`');
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}: expected TASK and at most one ARGS_JSON`);
  let args: unknown = null;
  if (argsText !== undefined) {
    try {
      args = JSON.parse(argsText);
    } catch (error) {
      throw new UsageError(`Invalid ARGS_JSON: expected JSON such as '{"width":300}', got ${JSON.stringify(argsText)} (${(error as Error).message})`);
    }
  }
  let priority;
  try {
    priority = parsePriority(values['priority']);
  } catch (error) {
    throw new UsageError(`Invalid --priority: ${(error as Error).message}`);
  }
  const timeoutMs = integerFlag(values, 'timeout', 1, 86_400_000);
  const retries = integerFlag(values, 'retries', 0, 10_000);
  const maxAttempts = integerFlag(values, 'max-attempts', 1, 100);
  const tls = await tlsFromFlags(values);
  const client = await connect({
    manager: managerFlag(values),
    key: await keyFromFlags(values),
    ...(tls === undefined ? {} : { tls }),
    name: 'sluice-run',
    connectTimeoutMs: timeoutMs ?? 10_000,
  });
  try {
    const result = await client.run(name, args, {
      priority,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(typeof values['id'] === 'string' ? { id: values['id'] } : {}),
      ...(retries === undefined ? {} : { retry: retries === 0 ? false : { maxRetries: retries } }),
    });
    process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof TaskFailedError) {
      process.stderr.write(`task failed: ${error.remoteName}: ${error.remoteMessage}\n`);
      return EXIT_FAILED;
    }
    if (error instanceof BusyError) {
      process.stderr.write(`busy: still refused after retries (${error.reason}); retry after ${error.retryAfterMs} ms\n`);
      return EXIT_BUSY;
    }
    if (error instanceof ExpiredError) {
      process.stderr.write('expired: the deadline passed before the task finished\n');
      return EXIT_DEADLINE;
    }
    throw error;
  } finally {
    await client.close();
  }
}

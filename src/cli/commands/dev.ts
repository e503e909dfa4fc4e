import { startManager } from '../../manager/manager.js';
import { startWorker } from '../../worker/index.js';
import { helpFlag, logFlags, parseFlags } from '../flags.js';
import { createCliLogger } from '../logger.js';
import { untilShutdown } from '../shutdown.js';
import { managerFlags, managerFlagsHelp, managerOptionsFromFlags } from './manager.js';
import { poolFlags, poolFlagsHelp, poolOptionsFromFlags } from './worker.js';

export const devUsage = `Usage: sluice dev --tasks FILE [options]

Runs a manager and a worker pool in one process, in memory, for a laptop. Clients, \`sluice run\`
and other worker nodes connect to it exactly as to a manager started alone.

Options:
${poolFlagsHelp}
${managerFlagsHelp}
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT    json|pretty (default: pretty on a terminal)`;

export async function devCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...managerFlags, ...poolFlags, ...logFlags, ...helpFlag });
  if (values['help'] === true) {
    process.stdout.write(`${devUsage}\n`);
    return 0;
  }
  const logger = createCliLogger(values);
  const pool = poolOptionsFromFlags(values);
  const managerOptions = await managerOptionsFromFlags(values, logger);
  const manager = await startManager(managerOptions);
  const { host, port } = manager.address;
  const dialHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let node;
  try {
    node = await startWorker({
      ...pool,
      manager: { host: dialHost, port },
      key: managerOptions.key,
      ...(managerOptions.tls ? { tls: { ca: managerOptions.tls.ca ?? managerOptions.tls.cert, servername: 'localhost' } } : {}),
      name: 'dev',
      logger,
    });
  } catch (error) {
    await manager.close();
    throw error;
  }
  const keyHint = managerOptions.key === undefined ? '' : ' --key-file <your key file>';
  logger.info(
    { manager: `${host}:${port}`, tasks: pool.tasks },
    `sluice dev ready — try: npx sluice run <task> '<json args>' --manager ${dialHost}:${port}${keyHint}`,
  );
  const signal = await untilShutdown(logger);
  logger.info({ signal }, 'shutting down');
  await node.drain({ timeoutMs: 5_000 });
  await node.close();
  await manager.close();
  return 0;
}

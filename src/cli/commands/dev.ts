import { startManager } from '../../manager/manager.js';
import { startWorker } from '../../worker/index.js';
import { helpFlag, logFlags, parseFlags } from '../flags.js';
import { createCliLogger } from '../logger.js';
import { untilShutdown } from '../shutdown.js';
import { embeddedGatewayFlags, embeddedGatewayFlagsHelp, type EmbeddedGateway } from './gateway.js';
import { embedGateway, managerFlags, managerFlagsHelp, managerOptionsFromFlags, planGateway } from './manager.js';
import { poolFlags, poolFlagsHelp, poolOptionsFromFlags } from './worker.js';

export const devUsage = `Usage: sluice dev --tasks FILE [options]

Runs a manager and a worker pool in one process, in memory, for a laptop. Clients, \`sluice run\`
and other worker nodes connect to it exactly as to a manager started alone.

Options:
${poolFlagsHelp}
${managerFlagsHelp}
${embeddedGatewayFlagsHelp}
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT    json|pretty (default: pretty on a terminal)`;

export async function devCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...managerFlags, ...poolFlags, ...embeddedGatewayFlags, ...logFlags, ...helpFlag });
  if (values['help'] === true) {
    process.stdout.write(`${devUsage}\n`);
    return 0;
  }
  const logger = createCliLogger(values);
  const pool = poolOptionsFromFlags(values);
  const managerOptions = await managerOptionsFromFlags(values, logger);
  // Every flag is checked before anything starts: a typo must not cost a startup.
  const plan = await planGateway(values, managerOptions);
  const manager = await startManager(managerOptions);
  const { host, port } = manager.address;
  const dialHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let node;
  let http: EmbeddedGateway | undefined;
  try {
    // The pool and the gateway reach the manager through in-process links: the same messages
    // and semantics as over its port, without encoding or sockets.
    node = await startWorker({ ...pool, manager, name: 'dev', logger });
    http = await embedGateway(plan, manager, logger);
  } catch (error) {
    await node?.close();
    await manager.close();
    throw error;
  }
  const keyHint = managerOptions.key === undefined ? '' : ' --key-file <your key file>';
  const httpAddress = http === undefined ? undefined : `${http.gateway.address.host}:${http.gateway.address.port}`;
  logger.info(
    { manager: `${host}:${port}`, tasks: pool.tasks, ...(httpAddress === undefined ? {} : { http: httpAddress }) },
    `sluice dev ready — try: npx sluice run <task> '<json args>' --manager ${dialHost}:${port}${keyHint}`
      + (httpAddress === undefined ? '' : ` or curl -X POST http://${httpAddress}/v1/tasks/<task> -H 'content-type: application/json' -d '<json args>'`
        + `; dashboard at http://${httpAddress}/`),
  );
  const signal = await untilShutdown(logger);
  logger.info({ signal }, 'shutting down');
  await http?.close();
  await node.drain({ timeoutMs: 5_000 });
  await node.close();
  await manager.close();
  return 0;
}

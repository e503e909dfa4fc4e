import { startManager, type Manager } from '../../manager/manager.js';
import { DEFAULT_MANAGER_PORT, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_HANDSHAKE_FAILURES, DEFAULT_MAX_QUEUE, type ManagerOptions } from '../../manager/options.js';
import type { Logger } from '../../core/logger.js';
import { DEFAULT_DRIFT, DEFAULT_FILL_CRITICAL, DEFAULT_FILL_HYSTERESIS, DEFAULT_FILL_WARNING } from '../../core/watch/alarms.js';
import { UsageError, helpFlag, integerFlag, numberFlag, keyFlags, keyFromFlags, logFlags, parseFlags, stringFlag, tlsFromFlags, type FlagSpec, type FlagValues } from '../flags.js';
import { createCliLogger } from '../logger.js';
import { untilShutdown } from '../shutdown.js';
import { embeddedGatewayFlags, embeddedGatewayFlagsHelp, planEmbeddedGateway, startEmbeddedGateway, type EmbeddedGateway, type EmbeddedGatewayPlan } from './gateway.js';

export const managerFlags: FlagSpec = {
  host: { type: 'string' },
  port: { type: 'string' },
  'max-queue': { type: 'string' },
  'max-latency': { type: 'string' },
  'max-attempts': { type: 'string' },
  'heartbeat': { type: 'string' },
  'max-handshake-failures': { type: 'string' },
  'fill-warning': { type: 'string' },
  'fill-critical': { type: 'string' },
  'fill-hysteresis': { type: 'string' },
  'service-time-factor': { type: 'string' },
  'no-timings': { type: 'boolean' },
  ...keyFlags,
};

export const managerFlagsHelp = `  --host HOST            address to listen on (default 127.0.0.1; non-loopback needs --key-file)
  --port PORT            port for clients and workers (default ${DEFAULT_MANAGER_PORT}; 0 = any free port)
  --key-file FILE        shared key (from \`sluice keygen\`); env SLUICE_KEY_FILE
  --tls-cert FILE        TLS certificate (PEM); with --tls-key enables TLS
  --tls-key FILE         TLS private key (PEM)
  --tls-ca FILE          CA (PEM) that peers' certificates must chain to (mutual TLS)
  --max-queue N          hard cap on queued tasks (default ${DEFAULT_MAX_QUEUE})
  --max-latency MS       target queueing latency: admit only what can start within MS
  --max-attempts N       executions per task when workers are lost (default ${DEFAULT_MAX_ATTEMPTS})
  --heartbeat MS         keep-alive interval; 3 missed = peer gone (default 1000)
  --max-handshake-failures N
                         failed handshakes per IP per minute before it is refused
                         for the rest of the minute (default ${DEFAULT_MAX_HANDSHAKE_FAILURES}; 0 = no limit)
  --fill-warning R       raise a warning alert when the queue is this full, 0–1 (default ${DEFAULT_FILL_WARNING})
  --fill-critical R      raise a critical alert when the queue is this full (default ${DEFAULT_FILL_CRITICAL})
  --fill-hysteresis R    a fill alert clears this far below its threshold (default ${DEFAULT_FILL_HYSTERESIS})
  --service-time-factor F  alert when a task's recent p90 service time passes F × its norm (default ${DEFAULT_DRIFT.factor})
  --no-timings           keep counters but no wait/service-time histograms (to measure their cost)`;

export const managerUsage = `Usage: sluice manager [options]

Runs a manager: admits, queues, prioritises and dispatches tasks to worker nodes.

Options:
${managerFlagsHelp}
${embeddedGatewayFlagsHelp}
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT    json|pretty (default: pretty on a terminal)`;

/** Turns the manager's flags into options; shared by `manager` and `dev`. */
export async function managerOptionsFromFlags(values: FlagValues, logger: Logger): Promise<ManagerOptions> {
  const tls = await tlsFromFlags(values);
  if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) {
    throw new UsageError('TLS needs both --tls-cert and --tls-key');
  }
  return {
    host: stringFlag(values, 'host'),
    port: integerFlag(values, 'port', 0, 65535),
    key: await keyFromFlags(values),
    tls: tls === undefined ? undefined : { cert: tls.cert!, key: tls.key!, ...(tls.ca ? { ca: tls.ca } : {}) },
    maxQueue: integerFlag(values, 'max-queue', 1, 10_000_000),
    maxLatencyMs: integerFlag(values, 'max-latency', 1, 3_600_000),
    maxAttempts: integerFlag(values, 'max-attempts', 1, 100),
    heartbeatMs: integerFlag(values, 'heartbeat', 50, 60_000),
    maxHandshakeFailures: integerFlag(values, 'max-handshake-failures', 0, 1_000_000),
    alerts: {
      fillWarning: numberFlag(values, 'fill-warning', 0.01, 1),
      fillCritical: numberFlag(values, 'fill-critical', 0.01, 1),
      fillHysteresis: numberFlag(values, 'fill-hysteresis', 0, 0.99),
      serviceTimeFactor: numberFlag(values, 'service-time-factor', 1.01, 1_000),
    },
    ...(values['no-timings'] === true ? { measureTimes: false } : {}),
    logger,
  };
}

/** Room for this gateway's tasks that are running on workers rather than queued. */
const EMBEDDED_PENDING_RUNNING_ALLOWANCE = 1_000;

/**
 * Checks `--http-port` and its companions. The gateway's pending bound defaults to what the
 * manager can hold: the queue cap plus an allowance for running tasks, so the gateway's own bound
 * refuses only what the manager would refuse anyway.
 */
export function planGateway(values: FlagValues, options: ManagerOptions): Promise<EmbeddedGatewayPlan | undefined> {
  return planEmbeddedGateway(values, (options.maxQueue ?? DEFAULT_MAX_QUEUE) + EMBEDDED_PENDING_RUNNING_ALLOWANCE);
}

/** Starts the planned gateway in the manager's process; ready once a worker node has joined. */
export async function embedGateway(plan: EmbeddedGatewayPlan | undefined, manager: Manager, logger: Logger): Promise<EmbeddedGateway | undefined> {
  if (plan === undefined) return undefined;
  return startEmbeddedGateway(plan, manager, () => manager.snapshot().workers.length > 0, logger, () => manager.metrics());
}

export async function managerCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...managerFlags, ...embeddedGatewayFlags, ...logFlags, ...helpFlag });
  if (values['help'] === true) {
    process.stdout.write(`${managerUsage}\n`);
    return 0;
  }
  const logger = createCliLogger(values);
  const options = await managerOptionsFromFlags(values, logger);
  const plan = await planGateway(values, options);
  const manager: Manager = await startManager(options);
  let http: EmbeddedGateway | undefined;
  try {
    http = await embedGateway(plan, manager, logger);
  } catch (error) {
    await manager.close();
    throw error;
  }
  const signal = await untilShutdown(logger);
  logger.info({ signal }, 'shutting down');
  await http?.close();
  await manager.close();
  return 0;
}

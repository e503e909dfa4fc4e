import { readFile } from 'node:fs/promises';
import { connect, type Client } from '../../client/index.js';
import type { Logger } from '../../core/logger.js';
import type { LocalManager } from '../../protocol/link.js';
import type { TaskMap } from '../../core/tasks.js';
import { loadDashboardAssets } from '../../dashboard/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/index.js';
import {
  DEFAULT_BODY_LIMIT_BYTES, DEFAULT_GATEWAY_PORT, DEFAULT_JOB_TTL_MS, DEFAULT_MAX_JOBS, DEFAULT_MAX_PENDING,
  DEFAULT_SYNC_TIMEOUT_MS, MIN_API_KEY_LENGTH,
} from '../../gateway/options.js';
import {
  UsageError, helpFlag, integerFlag, keyFlags, keyFromFlags, logFlags, parseFlags, requiredString, stringFlag,
  tlsFromFlags, type FlagSpec, type FlagValues,
} from '../flags.js';
import { createCliLogger } from '../logger.js';
import { untilShutdown } from '../shutdown.js';

/** The HTTP options shared by `gateway` and the gateway embedded by `manager`/`dev --http-port`. */
export const gatewayFlags: FlagSpec = {
  'api-keys-file': { type: 'string' },
  'max-pending': { type: 'string' },
  'max-jobs': { type: 'string' },
  'job-ttl': { type: 'string' },
  'body-limit': { type: 'string' },
  'default-timeout': { type: 'string' },
  'expose-stacks': { type: 'boolean' },
  'public-health': { type: 'boolean' },
};

export const gatewayFlagsHelp = `  --api-keys-file FILE   API keys, one per line (# comments); then every /v1 route needs
                         Authorization: Bearer <key>
  --max-pending N        synchronous requests waiting at once; past it 503 at once
                         (default: the manager's --max-queue plus its slots, else ${DEFAULT_MAX_PENDING})
  --max-jobs N           async job results kept (default ${DEFAULT_MAX_JOBS})
  --job-ttl MS           how long a finished job's result is kept (default ${DEFAULT_JOB_TTL_MS})
  --body-limit BYTES     largest request body; past it 413 (default ${DEFAULT_BODY_LIMIT_BYTES})
  --default-timeout MS   deadline of requests without Sluice-Timeout-Ms (default ${DEFAULT_SYNC_TIMEOUT_MS})
  --expose-stacks        include the handler's stack in 500 task_failed answers
  --public-health        serve /healthz, /readyz and /metrics beyond loopback`;

/** Embedding flags for `manager` and `dev`: the gateway runs in the same process. */
export const embeddedGatewayFlags: FlagSpec = {
  'http-port': { type: 'string' },
  'http-host': { type: 'string' },
  ...gatewayFlags,
};

export const embeddedGatewayFlagsHelp = `  --http-port PORT       also serve the HTTP gateway on PORT (0 = any free port)
  --http-host HOST       address for the HTTP gateway (default 127.0.0.1)
${gatewayFlagsHelp}`;

export const gatewayUsage = `Usage: sluice gateway --manager HOST:PORT [options]

Serves the HTTP gateway as its own process, a client of the manager: POST /v1/tasks/NAME runs a
task and answers its result, or 503 + Retry-After at once when the system is full. Several
gateways may front one manager. A live dashboard of the manager's queue is served at /.

Options:
  --manager HOST:PORT    manager address; env SLUICE_MANAGER
  --key-file FILE        shared key (from \`sluice keygen\`); env SLUICE_KEY_FILE
  --tls-ca FILE          CA (PEM) the manager's certificate must chain to (enables TLS)
  --host HOST            address to listen on (default 127.0.0.1)
  --port PORT            HTTP port (default ${DEFAULT_GATEWAY_PORT}; 0 = any free port)
${gatewayFlagsHelp}
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT    json|pretty (default: pretty on a terminal)`;

/** Reads an API-keys file: one key per line; blank lines and `#` comments are skipped. */
async function readApiKeys(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read --api-keys-file ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const keys = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (keys.length === 0) {
    throw new UsageError(`Invalid --api-keys-file ${JSON.stringify(path)}: expected at least one key (one per line, at least ${MIN_API_KEY_LENGTH} characters)`);
  }
  return keys;
}

/** The gateway options the flags set; `client`, `host` and `port` are the caller's. */
export async function gatewayOptionsFromFlags(values: FlagValues, defaultMaxPending?: number): Promise<Omit<GatewayOptions, 'client'>> {
  const apiKeysFile = stringFlag(values, 'api-keys-file');
  const maxJobs = integerFlag(values, 'max-jobs', 1, 10_000_000);
  const jobTtl = integerFlag(values, 'job-ttl', 1, 2_147_483_647);
  const options: Omit<GatewayOptions, 'client'> = {
    maxPending: integerFlag(values, 'max-pending', 1, 10_000_000) ?? defaultMaxPending,
    bodyLimitBytes: integerFlag(values, 'body-limit', 1, 1024 * 1024 * 1024),
    defaultTimeoutMs: integerFlag(values, 'default-timeout', 1, 2_147_483_647),
    exposeStacks: values['expose-stacks'] === true,
    publicHealth: values['public-health'] === true,
    jobs: { ...(maxJobs === undefined ? {} : { maxJobs }), ...(jobTtl === undefined ? {} : { ttlMs: jobTtl }) },
    // The dashboard page at `/`; its data comes from /v1/status, under the same API keys.
    assets: await loadDashboardAssets(),
  };
  if (apiKeysFile !== undefined) options.apiKeys = await readApiKeys(apiKeysFile);
  return options;
}

export interface EmbeddedGateway {
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** What `--http-port` and its companions ask for, checked before anything starts. */
export interface EmbeddedGatewayPlan {
  readonly host: string;
  readonly port: number;
  readonly options: Omit<GatewayOptions, 'client'>;
}

/** Checks the embedding flags; undefined when `--http-port` is absent (no gateway). */
export async function planEmbeddedGateway(values: FlagValues, defaultMaxPending: number): Promise<EmbeddedGatewayPlan | undefined> {
  const port = integerFlag(values, 'http-port', 0, 65535);
  if (port === undefined) {
    const stray = Object.keys(gatewayFlags).concat('http-host').find((flag) => values[flag] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} needs --http-port: the gateway runs only when it has a port`);
    return undefined;
  }
  return { host: stringFlag(values, 'http-host') ?? '127.0.0.1', port, options: await gatewayOptionsFromFlags(values, defaultMaxPending) };
}

/**
 * Starts the gateway inside a manager's process. Its client reaches the manager through an
 * in-process link: the same messages and semantics as a standalone gateway's, without sockets.
 */
export async function startEmbeddedGateway(
  plan: EmbeddedGatewayPlan,
  manager: LocalManager,
  readiness: () => boolean,
  logger: Logger,
  extraMetrics?: () => Promise<string>,
): Promise<EmbeddedGateway> {
  const client: Client<TaskMap> = await connect({ manager, name: 'gateway' });
  try {
    const gateway = await startGateway({
      ...plan.options,
      client,
      ownClient: true,
      host: plan.host,
      port: plan.port,
      readiness: () => client.connected && readiness(),
      processMetrics: true,
      ...(extraMetrics === undefined ? {} : { extraMetrics }),
      logger,
    });
    return { gateway, close: () => gateway.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}

export async function gatewayCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    manager: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
    ...keyFlags, ...gatewayFlags, ...logFlags, ...helpFlag,
  });
  if (values['help'] === true) {
    process.stdout.write(`${gatewayUsage}\n`);
    return 0;
  }
  const logger = createCliLogger(values);
  // Every flag is checked before connecting: a typo must not wait out a connect timeout.
  const options = await gatewayOptionsFromFlags(values);
  const host = stringFlag(values, 'host') ?? '127.0.0.1';
  const port = integerFlag(values, 'port', 0, 65535) ?? DEFAULT_GATEWAY_PORT;
  const manager = requiredString(values, 'manager', 'HOST:PORT of a manager', 'SLUICE_MANAGER');
  const key = await keyFromFlags(values);
  const tls = await tlsFromFlags(values);
  const client: Client<TaskMap> = await connect({
    manager,
    key,
    ...(tls === undefined ? {} : { tls }),
    name: 'gateway',
  });
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      ...options,
      client,
      ownClient: true,
      host,
      port,
      processMetrics: true,
      logger,
    });
  } catch (error) {
    await client.close();
    throw error;
  }
  const signal = await untilShutdown(logger);
  logger.info({ signal }, 'shutting down');
  await gateway.close();
  return 0;
}

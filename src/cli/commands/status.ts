import { connect, type Client } from '../../client/index.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { ProtocolError } from '../../protocol/errors.js';
import { validateStatusSnapshot, type StatusSnapshot } from '../../protocol/status.js';
import { DEFAULT_MANAGER_ADDRESS, UsageError, helpFlag, integerFlag, keyFlags, keyFromFlags, managerFlag, parseFlags, stringFlag, tlsFromFlags, type FlagValues } from '../flags.js';
import { untilShutdown } from '../shutdown.js';
import { formatStatus } from '../status-view.js';

export const EXIT_HEALTHY = 0;
export const EXIT_ALERTING = 1;
export const EXIT_UNREACHABLE = 2;
const DEFAULT_STATUS_TIMEOUT_MS = 5_000;

export const statusUsage = `Usage: sluice status [--manager HOST:PORT | --gateway URL] [options]

Shows the manager's status: queue depth, bound and fill, capacity, rates, per-task wait and
service percentiles, worker nodes and active alerts.
Exit codes: 0 healthy, 1 alerting, 2 unreachable (or no answer in time), 64 bad command line.

Options:
  --manager HOST:PORT    manager address; env SLUICE_MANAGER (default ${DEFAULT_MANAGER_ADDRESS})
  --key-file FILE        shared key; env SLUICE_KEY_FILE
  --tls-ca FILE          CA (PEM) the manager's certificate must chain to (enables TLS)
  --gateway URL          read GET URL/v1/status from an HTTP gateway instead (API key: env SLUICE_API_KEY)
  --watch                refresh in place once a second until interrupted
  --json                 print the snapshot as JSON (with --watch: one line per snapshot)
  --timeout MS           how long to wait for the manager (default ${DEFAULT_STATUS_TIMEOUT_MS})`;

/** Where snapshots come from: the manager over the protocol, or a gateway over HTTP. */
interface StatusSource {
  once(): Promise<StatusSnapshot>;
  /** Calls `onSnapshot` for each new snapshot (and `onLost` while the source is unreachable) until stopped. */
  watch(onSnapshot: (s: StatusSnapshot) => void, onLost: (why: string) => void): () => void;
  close(): Promise<void>;
}

class Unreachable extends Error {}

async function managerSource(values: FlagValues, timeoutMs: number): Promise<StatusSource> {
  const tls = await tlsFromFlags(values);
  const key = await keyFromFlags(values);
  let client: Client;
  try {
    client = await connect({
      manager: managerFlag(values),
      key,
      ...(tls === undefined ? {} : { tls }),
      name: 'sluice-status',
      connectTimeoutMs: timeoutMs,
      logger: silentLogger,
    });
  } catch (error) {
    // A malformed --manager is a bad command line (64), not an unreachable manager (2).
    if (error instanceof InvalidArgumentError) throw error;
    throw new Unreachable((error as Error).message, { cause: error });
  }
  return {
    once: () => client.status({ timeoutMs }).catch((error: unknown) => {
      throw new Unreachable((error as Error).message, { cause: error });
    }),
    watch: (onSnapshot, onLost) => {
      const onDisconnected = (): void => onLost('connection to the manager lost; reconnecting');
      client.on('status', onSnapshot);
      client.on('disconnected', onDisconnected);
      const stop = client.watchStatus();
      // The first tick may be up to a second away: show the state now.
      client.status({ timeoutMs }).then(onSnapshot, () => onLost('no answer from the manager'));
      return () => {
        stop();
        client.off('status', onSnapshot);
        client.off('disconnected', onDisconnected);
      };
    },
    close: () => client.close(),
  };
}

function gatewaySource(base: string, timeoutMs: number): StatusSource {
  let url: URL;
  try {
    url = new URL('/v1/status', base);
  } catch {
    throw new UsageError(`Invalid --gateway ${JSON.stringify(base)}: expected a URL such as http://127.0.0.1:7401`);
  }
  const apiKey = process.env['SLUICE_API_KEY'];
  const once = async (): Promise<StatusSnapshot> => {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
    } catch (error) {
      throw new Unreachable(`${url.href}: ${(error as Error).message}`, { cause: error });
    }
    const text = await res.text();
    if (res.status !== 200) throw new Unreachable(`${url.href} answered ${res.status}: ${text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Unreachable(`${url.href} answered something other than JSON`);
    }
    const snapshot = validateStatusSnapshot(body);
    if (snapshot instanceof ProtocolError) throw new Unreachable(`${url.href}: ${snapshot.message}`);
    return snapshot;
  };
  return {
    once,
    watch: (onSnapshot, onLost) => {
      let stopped = false;
      const poll = (): void => {
        if (stopped) return;
        once().then(onSnapshot, (error: Error) => onLost(error.message)).finally(() => {
          if (!stopped) setTimeout(poll, 1_000);
        });
      };
      poll();
      return () => {
        stopped = true;
      };
    },
    close: async () => {},
  };
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    manager: { type: 'string' }, gateway: { type: 'string' }, watch: { type: 'boolean' }, json: { type: 'boolean' },
    timeout: { type: 'string' }, ...keyFlags, ...helpFlag,
  });
  if (values['help'] === true) {
    process.stdout.write(`${statusUsage}\n`);
    return 0;
  }
  const timeoutMs = integerFlag(values, 'timeout', 1, 600_000) ?? DEFAULT_STATUS_TIMEOUT_MS;
  const gateway = stringFlag(values, 'gateway');
  if (gateway !== undefined && values['manager'] !== undefined) throw new UsageError('--manager and --gateway are mutually exclusive: read the status from one of them');
  const json = values['json'] === true;
  const render = (s: StatusSnapshot): string => (json ? `${JSON.stringify(s)}\n` : formatStatus(s, Date.now()));
  let source: StatusSource;
  try {
    source = gateway !== undefined ? gatewaySource(gateway, timeoutMs) : await managerSource(values, timeoutMs);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    process.stderr.write(`sluice status: unreachable: ${error.message}\n`);
    return EXIT_UNREACHABLE;
  }
  try {
    if (values['watch'] !== true) {
      const snapshot = await source.once();
      process.stdout.write(render(snapshot));
      return snapshot.healthy ? EXIT_HEALTHY : EXIT_ALERTING;
    }
    return await watch(source, render, json);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    process.stderr.write(`sluice status: unreachable: ${error.message}\n`);
    return EXIT_UNREACHABLE;
  } finally {
    await source.close();
  }
}

/** Until interrupted; the exit code reflects the last state seen. */
async function watch(source: StatusSource, render: (s: StatusSnapshot) => string, json: boolean): Promise<number> {
  const tty = process.stdout.isTTY === true && !json;
  let last: StatusSnapshot | undefined;
  let reachable = true;
  const stop = source.watch((s) => {
    if (last !== undefined && s.time <= last.time) return;
    last = s;
    reachable = true;
    // Home the cursor and clear below: the view is redrawn in place without scrolling.
    process.stdout.write(tty ? `\x1b[H\x1b[J${render(s)}` : render(s));
  }, (why) => {
    reachable = false;
    if (json) process.stderr.write(`sluice status: ${why}\n`);
    else process.stdout.write(tty ? `\x1b[H\x1b[J${why}\n` : `${why}\n`);
  });
  await untilShutdown(silentLogger);
  stop();
  if (!reachable || last === undefined) return EXIT_UNREACHABLE;
  return last.healthy ? EXIT_HEALTHY : EXIT_ALERTING;
}

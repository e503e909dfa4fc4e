import type { Logger } from '../core/logger.js';

/**
 * Resolves with the first SIGINT or SIGTERM. A second signal while shutting down exits at once,
 * so an operator is never stuck behind a slow drain.
 */
export function untilShutdown(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

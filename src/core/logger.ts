/**
 * The logging surface every role accepts: pino's method shape, so a pino logger fits as is. The
 * library never logs on its own; the CLI passes a real logger, embedders pass theirs or none.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child ? logger.child(bindings) : logger;
}

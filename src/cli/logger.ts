import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../core/logger.js';
import { UsageError, choiceFlag, type FlagValues } from './flags.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Structured logs on stderr (stdout stays for results): JSON lines when piped, colourised
 * one-liners on a terminal. `--log-format` overrides the guess.
 */
export function createCliLogger(values: FlagValues, defaultLevel: (typeof LEVELS)[number] = 'info'): Logger {
  const level = choiceFlag(values, 'log-level', LEVELS) ?? (process.env['SLUICE_LOG_LEVEL'] as (typeof LEVELS)[number] | undefined) ?? defaultLevel;
  if (!LEVELS.includes(level)) throw new UsageError(`Invalid SLUICE_LOG_LEVEL ${JSON.stringify(level)}: expected one of ${LEVELS.join(', ')}`);
  const format = choiceFlag(values, 'log-format', ['json', 'pretty'] as const) ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const options = { level, base: { pid: process.pid } };
  if (format === 'json') return pino(options, pino.destination({ fd: 2, sync: true }));
  return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFile } from 'node:fs/promises';
import { parseKey } from '../protocol/auth.js';

/** A bad command line: printed with the command's usage, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  readonly exitCode = 64;
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], options: FlagSpec, allowPositionals = false): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as FlagValues, positionals };
  } catch (error) {
    // node:util names the flag already ("Unknown option '--frob'"); keep its words.
    throw new UsageError((error as Error).message);
  }
}

export function stringFlag(values: FlagValues, name: string, env?: string): string | undefined {
  const value = values[name];
  if (typeof value === 'string') return value;
  if (env !== undefined && process.env[env] !== undefined && process.env[env] !== '') return process.env[env];
  return undefined;
}

/** Where `sluice run` and `sluice status` look without --manager: a local `sluice dev` or manager. */
export const DEFAULT_MANAGER_ADDRESS = '127.0.0.1:7400';

/** `--manager`, else SLUICE_MANAGER, else a local manager on its default port. */
export function managerFlag(values: FlagValues): string {
  return stringFlag(values, 'manager', 'SLUICE_MANAGER') ?? DEFAULT_MANAGER_ADDRESS;
}

export function requiredString(values: FlagValues, name: string, expected: string, env?: string): string {
  const value = stringFlag(values, name, env);
  if (value === undefined) {
    throw new UsageError(`Missing --${name}: expected ${expected}${env === undefined ? '' : ` (or set ${env})`}`);
  }
  return value;
}

/** Parses `--name N` as an integer within [min, max]; the message names the flag and the range. */
export function integerFlag(values: FlagValues, name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`Invalid --${name} ${JSON.stringify(text)}: expected an integer from ${min} to ${max}`);
  }
  return n;
}

/** Parses `--name X` as a decimal number within [min, max]; the message names the flag and the range. */
export function numberFlag(values: FlagValues, name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`Invalid --${name} ${JSON.stringify(text)}: expected a number from ${min} to ${max}`);
  }
  return n;
}

export function choiceFlag<T extends string>(values: FlagValues, name: string, choices: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T)) {
    throw new UsageError(`Invalid --${name} ${JSON.stringify(raw)}: expected one of ${choices.join(', ')}`);
  }
  return raw as T;
}

async function readFlagFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read --${flag} ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The shared key from `--key-file` or `SLUICE_KEY_FILE`; undefined when neither is given. */
export async function keyFromFlags(values: FlagValues): Promise<Buffer | undefined> {
  const path = stringFlag(values, 'key-file', 'SLUICE_KEY_FILE');
  if (path === undefined) return undefined;
  const text = await readFlagFile('key-file', path);
  try {
    return parseKey(text);
  } catch (error) {
    throw new UsageError(`Invalid --key-file ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
}

export const keyFlags: FlagSpec = {
  'key-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
};

export interface TlsFiles { cert?: Buffer; key?: Buffer; ca?: Buffer }

export async function tlsFromFlags(values: FlagValues): Promise<TlsFiles | undefined> {
  const files: TlsFiles = {};
  for (const [flag, field] of [['tls-cert', 'cert'], ['tls-key', 'key'], ['tls-ca', 'ca']] as const) {
    const path = stringFlag(values, flag);
    if (path !== undefined) files[field] = await readFlagFile(flag, path);
  }
  return Object.keys(files).length === 0 ? undefined : files;
}

export const logFlags: FlagSpec = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
};

export const helpFlag: FlagSpec = { help: { type: 'boolean', short: 'h' } };

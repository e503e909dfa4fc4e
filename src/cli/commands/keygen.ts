import { generateKey } from '../../protocol/auth.js';
import { helpFlag, parseFlags } from '../flags.js';

export const keygenUsage = `Usage: sluice keygen > sluice.key

Prints a new random 32-byte shared key (hex) from the operating system's CSPRNG.
Give the same key file to the manager, every worker node and every client (--key-file).`;

export function keygen(argv: string[]): number {
  const { values } = parseFlags(argv, helpFlag);
  if (values['help'] === true) {
    process.stdout.write(`${keygenUsage}\n`);
    return 0;
  }
  process.stdout.write(`${generateKey()}\n`);
  return 0;
}

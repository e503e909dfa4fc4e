/**
 * Base of every error sluice raises. `code` is stable: callers and the wire protocol switch on it,
 * never on `message`.
 */
export class SluiceError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value sluice cannot use; the message names the option and what was expected. */
export class InvalidArgumentError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('invalid_argument', message, options);
  }
}

/** Formats a received value for error messages: `0 (number)`, `"x" (string)`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (string)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${String(value)} (${typeof value})`;
}

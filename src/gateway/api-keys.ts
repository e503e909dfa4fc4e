import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^bearer +/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The API keys a gateway accepts. A presented token is hashed and compared with every key's hash
 * by `timingSafeEqual`: equal lengths by construction, no early exit on a match, so the time taken
 * tells nothing about any key or which one matched.
 *
 * Each key has an owner tag (a labelled hash, never the key) that scopes the jobs and idempotency
 * keys made with it: one caller cannot read another's jobs or attach to another's task.
 */
export class ApiKeys {
  readonly #digests: Buffer[];
  readonly #tags: string[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
    this.#tags = keys.map((key) => digest(`sluice-gateway-owner\0${key}`).toString('hex').slice(0, 12));
  }

  /** The owner tag of the key an `Authorization: Bearer …` header carries; undefined when none matches. */
  check(authorization: string | undefined): string | undefined {
    if (authorization === undefined) return undefined;
    const match = BEARER.exec(authorization);
    if (match === null) return undefined;
    const presented = digest(authorization.slice(match[0].length).trim());
    let found = -1;
    for (let i = 0; i < this.#digests.length; i++) {
      if (timingSafeEqual(presented, this.#digests[i] as Buffer) && found === -1) found = i;
    }
    return found === -1 ? undefined : this.#tags[found];
  }
}

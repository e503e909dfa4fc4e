import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../core/logger.js';
import { FailureLog, LOGGED_FAILURES_PER_SECOND } from './failure-log.js';

function recordingLogger(): { logger: Logger; lines: Array<{ msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const record = (fields: object | string, msg?: string): void => void lines.push({ msg: msg ?? '', fields: fields as Record<string, unknown> });
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  return { logger, lines };
}

describe('FailureLog', () => {
  it('logs the first failures of a second one by one and the rest as one counted line', () => {
    const { logger, lines } = recordingLogger();
    const log = new FailureLog(logger);
    for (let i = 0; i < 500; i++) log.failed({ remoteAddress: `10.0.0.1:${i}`, reason: 'garbage' });
    assert.equal(lines.length, LOGGED_FAILURES_PER_SECOND);
    log.close();
    assert.equal(lines.length, LOGGED_FAILURES_PER_SECOND + 1);
    assert.deepEqual(lines.at(-1)?.fields, { failures: 500 - LOGGED_FAILURES_PER_SECOND });
  });
});

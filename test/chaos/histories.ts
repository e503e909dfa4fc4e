import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEvent } from '../../src/core/history/events.js';

/**
 * Reads NDJSON history files (or every *.ndjson in a directory). A line that does not parse — a
 * file cut short by hand — is counted, not fatal: the checker then sees the gap.
 */
export function readHistories(paths: readonly string[]): { events: HistoryEvent[]; files: number; badLines: number } {
  const files = paths.flatMap((path) => (statSync(path).isDirectory()
    ? readdirSync(path).filter((f) => f.endsWith('.ndjson')).map((f) => join(path, f))
    : [path]));
  const events: HistoryEvent[] = [];
  let badLines = 0;
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as HistoryEvent);
      } catch {
        badLines++;
      }
    }
  }
  return { events, files: files.length, badLines };
}

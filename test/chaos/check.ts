// npm run chaos:check -- FILE|DIR… — judges recorded histories: the verdict as JSON on stdout,
// then a summary line; exit 0 on PASS, 1 on FAIL, 64 on a bad command line.
import { checkHistory, summaryLine } from '../../src/core/history/check.js';
import { readHistories } from './histories.js';

const paths = process.argv.slice(2);
if (paths.length === 0 || paths.includes('--help')) {
  process.stderr.write('Usage: npm run chaos:check -- FILE|DIR…  (NDJSON histories; a directory means its *.ndjson files)\n');
  process.exit(paths.length === 0 ? 64 : 0);
}
const { events, files, badLines } = readHistories(paths);
const verdict = checkHistory(events);
process.stdout.write(`${JSON.stringify({ files, badLines, ...verdict }, null, 2)}\n${summaryLine(verdict)}\n`);
process.exitCode = verdict.ok && badLines === 0 ? 0 : 1;

// The hostile-peer benchmarks' command lines: a bad flag is one line naming it, and exit 64,
// before any process is started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const script = (name: string): string => fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));

function run(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script(name), ...args], { timeout: 20_000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stderr });
    });
  });
}

describe('hostile benchmark command lines', () => {
  for (const [name, args, flag] of [
    ['hostile-cli', ['--rounds', '0'], '--rounds'],
    ['hostile-cli', ['--seconds', 'ten'], '--seconds'],
    ['hostile-cli', ['--attacker-priority', 'high'], '--attacker-priority'],
    ['hostile-cli', ['--colour'], 'colour'],
    ['hostile-cli', ['--without-key', '--honest-key-holders'], '--honest-key-holders'],
    ['hostile-cli', ['--scenario', 'flood'], '--scenario'],
    ['hostile-cli', ['--scenario', 'slow', '--without-key'], '--without-key'],
    ['attack-cost', ['--scenario', 'flood'], '--scenario'],
    ['attack-cost', ['--runs', '-1'], '--runs'],
  ] as const) {
    it(`${name} ${args.join(' ')}: exit 64, naming ${flag}`, async () => {
      const { code, stderr } = await run(name, [...args]);
      assert.equal(code, 64, stderr);
      assert.match(stderr, new RegExp(flag));
      assert.equal(stderr.trim().split('\n').length, 1, `one line, no stack: ${stderr}`);
    });
  }
});

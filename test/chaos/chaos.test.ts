// The short form of every chaos scenario (the long forms run by `npm run chaos`): real manager,
// worker node and client processes on 127.0.0.1, faults injected, histories judged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './scenarios.js';
import type { ScenarioReport } from './run.js';

const RUNNER = fileURLToPath(new URL('./run.js', import.meta.url));
const SECONDS = 4;
const SEED = 20_261_123;
const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-ci-'));

/** Runs one scenario in its own process, bounded; resolves with its report and exit code. */
async function runScenario(name: string): Promise<{ code: number | null; report: ScenarioReport; stderr: string }> {
  const child = spawn(process.execPath, [RUNNER, '--scenario', name, '--seconds', String(SECONDS), '--seed', String(SEED), '--dir', join(dir, name)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const bound = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const [code] = await once(child, 'exit');
  clearTimeout(bound);
  const line = stdout.trim().split('\n').pop() ?? '';
  let report: ScenarioReport;
  try {
    report = JSON.parse(line) as ScenarioReport;
  } catch {
    throw new Error(`chaos ${name} printed no report (exit ${String(code)}):\n${stderr.slice(-3_000)}`);
  }
  return { code: code as number | null, report, stderr };
}

describe('chaos scenarios, short form', { concurrency: 1 }, () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(`${name}: nothing lost, nothing answered twice, nothing unexpected`, async () => {
      const { code, report, stderr } = await runScenario(name);
      const failed = report.checks.filter((c) => c.gating && !c.ok);
      assert.deepEqual(failed, [], stderr.slice(-3_000));
      assert.equal(code, 0);
      assert.ok(report.verdict.accepted > 0, 'the clients submitted work');
      assert.equal(report.verdict.lost.count, 0);
      assert.equal(report.verdict.duplicateAnswers.count, 0);
      assert.equal(report.verdict.unexpectedAnswers.count + report.verdict.unexpectedExecutions.count, 0);
      // Faults were really injected (the rolling restart and the poison need no runner faults).
      if (name === 'kill') assert.ok((report.verdict.faults['node-kill'] ?? 0) + (report.verdict.faults['node-kill-child'] ?? 0) > 0);
      if (name === 'pause') assert.ok((report.verdict.faults['node-pause'] ?? 0) > 0);
      if (name === 'manager') assert.ok((report.verdict.faults['manager-kill'] ?? 0) > 0);
      if (name === 'rolling') assert.ok((report.verdict.faults['node-term'] ?? 0) > 0);
      if (name === 'poison') assert.ok(Object.keys(report.verdict.outcomesByTask['poison'] ?? {}).length > 0);
    });
  }
});

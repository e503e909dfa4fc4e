// The layering rule (core → protocol → roles → cli | dashboard) is enforced by ESLint in `npm test`. These
// cases prove the rule really fires, so a config change cannot silently switch it off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries', () => {
  const cases: Array<[string, string, boolean]> = [
    ['src/core/x.ts', "import { Socket } from 'node:net';", true],
    ['src/core/x.ts', "import { readFile } from 'node:fs/promises';", true],
    ['src/core/x.ts', "import { dial } from '../protocol/dial.js';", true],
    ['src/core/x.ts', "import { startManager } from '../manager/manager.js';", true],
    ['src/core/x.ts', "import { createHash } from 'node:crypto';", false],
    ['src/protocol/x.ts', "import { Manager } from '../manager/manager.js';", true],
    ['src/protocol/x.ts', "import { Socket } from 'node:net';", false],
    ['src/manager/x.ts', "import { main } from '../cli/main.js';", true],
    ['src/manager/x.ts', "import { connect } from '../client/index.js';", true],
    ['src/worker/x.ts', "import { Dispatcher } from '../manager/dispatcher.js';", true],
    ['src/client/x.ts', "import { startWorker } from '../worker/index.js';", true],
    ['src/gateway/x.ts', "import { connect } from '../client/index.js';", false],
    ['src/gateway/x.ts', "import { Manager } from '../manager/manager.js';", true],
    ['src/cli/x.ts', "import { startManager } from '../manager/manager.js';", false],
    ['src/cli/x.ts', "import { loadDashboardAssets } from '../dashboard/index.js';", false],
    ['src/gateway/x.ts', "import { loadDashboardAssets } from '../dashboard/index.js';", true],
    ['src/manager/x.ts', "import { loadDashboardAssets } from '../dashboard/assets.js';", true],
    ['src/dashboard/x.ts', "import { main } from '../cli/main.js';", true],
    ['src/dashboard/x.ts', "import type { StaticAsset } from '../gateway/index.js';", false],
  ];
  for (const [file, code, forbidden] of cases) {
    it(`${forbidden ? 'refuses' : 'allows'} ${code} in ${file}`, async () => {
      const found = await violations(file, `${code}\nexport {};\n`);
      assert.equal(found.length > 0, forbidden, found.join('; '));
    });
  }
});

// No code is made from data: no eval, no new Function, no vm, and the one dynamic import loads the
// task module the operator named on the worker's command line, never anything from the wire.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'vendor' ? [] : sources(path);
    return /\.[cm]?[jt]s$/.test(entry.name) && !/\.test(-helpers)?\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Source without comments and string contents, so only code is matched. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``')
    .replace(/'(?:\\.|[^'\\\n])*'/g, (s) => (/^'node:[a-z_/]+'$/.test(s) ? s : "''"))
    .replace(/"(?:\\.|[^"\\\n])*"/g, '""');
}

const files = [...sources(join(root, 'src')), ...sources(join(root, 'bin'))];

describe('no code from data', () => {
  it('scans every source file', () => {
    assert.ok(files.length > 50, `found ${files.length} files`);
  });

  // [what, pattern, matched against the raw text (module names are strings) or code only]
  const forbidden: Array<[string, RegExp, 'raw' | 'code', string]> = [
    ['eval', /\beval\s*\(/, 'code', 'const f = eval(text);'],
    ['new Function', /\bnew\s+Function\b|\bFunction\s*\(/, 'code', "const f = new Function('a', body);"],
    ['the vm module', /(\bfrom|\bimport|\brequire)\s*\(?\s*['"](node:)?vm['"]/, 'raw', "import { runInThisContext } from 'node:vm';"],
    ['setTimeout with a string', /\bset(Timeout|Interval|Immediate)\s*\(\s*['"`]/, 'raw', "setTimeout('go()', 1);"],
  ];
  for (const [what, pattern, on, planted] of forbidden) {
    it(`uses no ${what}`, () => {
      assert.ok(pattern.test(on === 'raw' ? planted : code(planted)), 'the check fires on a planted example');
      const hits = files.filter((f) => {
        const text = readFileSync(f, 'utf8');
        return pattern.test(on === 'raw' ? text : code(text));
      }).map((f) => relative(root, f));
      assert.deepEqual(hits, []);
    });
  }

  it('imports dynamically only constant module names and the operator\'s task module', () => {
    const dynamic: string[] = [];
    for (const file of files) {
      for (const match of code(readFileSync(file, 'utf8')).matchAll(/\bimport\s*\(\s*([^)]*)\)/g)) {
        const argument = (match[1] as string).trim();
        if (/^'node:[a-z_/]+'$/.test(argument)) continue;
        dynamic.push(`${relative(root, file)}: import(${argument})`);
      }
    }
    assert.deepEqual(dynamic, ['src/worker/pool/task-module.ts: import(moduleUrl)']);
    // …whose URL reaches it only from the worker's own configuration: the pool's options, in the
    // node (isolation "none"), or the data or env the pool gave its thread or child, which hand it
    // to a ModuleRunner once, at start.
    const uses = (pattern: RegExp): string[] => files
      .filter((file) => pattern.test(code(readFileSync(file, 'utf8'))) && !file.endsWith('task-module.ts'))
      .map((file) => relative(root, file))
      .sort();
    assert.deepEqual(uses(/\bloadTaskModule\(/), ['src/worker/pool/inline-backend.ts']);
    assert.deepEqual(uses(/\bnew ModuleRunner\(/), ['src/worker/pool/entry.ts', 'src/worker/pool/thread-entry.ts']);
    const inline = readFileSync(join(root, 'src/worker/pool/inline-backend.ts'), 'utf8');
    assert.match(inline, /loadTaskModule\(this\.#options\.tasksModule\)/);
    const entry = readFileSync(join(root, 'src/worker/pool/entry.ts'), 'utf8');
    assert.match(entry, /new ModuleRunner\(process\.env\[TASKS_MODULE_ENV\]\)/);
    const threadEntry = readFileSync(join(root, 'src/worker/pool/thread-entry.ts'), 'utf8');
    assert.match(threadEntry, /new ModuleRunner\(data\.tasksModule\)/);
    assert.match(threadEntry, /const data = workerData as ThreadWorkerData;/);
    const taskModule = code(readFileSync(join(root, 'src/worker/pool/task-module.ts'), 'utf8'));
    assert.equal(taskModule.match(/\bloadTaskModule\(/g)?.length, 2, 'defined once, called once: by ModuleRunner with its constructor argument');
    const options = readFileSync(join(root, 'src/worker/pool/options.ts'), 'utf8');
    assert.match(options, /protocol !== 'file:'/, 'task modules are local files only');
  });
});

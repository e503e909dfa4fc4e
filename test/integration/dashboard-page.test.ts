// The dashboard page as the gateway serves it over real HTTP on loopback, in front of a real
// manager and worker node: every file the page loads is there with its media type, reloads cost
// a 304, the page's routes refuse writes and cannot shadow the API, and the package ships it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadDashboardAssets } from '../../src/dashboard/index.js';
import { startGateway, type StaticAsset } from '../../src/gateway/index.js';
import { GatewayStack } from '../helpers/gateway-stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const KEY = 'dashboard-test-key-0123456789';

let stack: GatewayStack;
let base: string;
let assets: StaticAsset[];
before(async () => {
  stack = await GatewayStack.start();
  assets = await loadDashboardAssets();
  const { gateway } = await stack.front({ assets, apiKeys: [KEY] });
  base = `http://127.0.0.1:${gateway.address.port}`;
});
after(() => stack.close());

/** The same-origin URLs a document or module refers to (src/href attributes, import specifiers). */
function references(text: string, from: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:src|href)="([^"]+)"|from '([^']+)'/g)) {
    const ref = match[1] ?? match[2]!;
    if (ref.startsWith('data:')) continue;
    found.add(new URL(ref, `http://x${from}`).pathname);
  }
  return [...found];
}

describe('GET / (the dashboard)', () => {
  it('serves the page without an API key, with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await res.text(), /<script type="module" src="\/dashboard\/app\.js">/);
  });

  it('serves every file the page and its modules load, uPlot included, with its media type', async () => {
    const seen = new Set<string>();
    const queue = ['/'];
    while (queue.length > 0 && seen.size < 50) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(base + path);
      assert.equal(res.status, 200, `${path} answers 200`);
      const type = res.headers.get('content-type') ?? '';
      if (path.endsWith('.js')) assert.match(type, /^text\/javascript/, path);
      if (path.endsWith('.css')) assert.match(type, /^text\/css/, path);
      const text = await res.text();
      if (path === '/' || (path.endsWith('.js') && !path.includes('/vendor/'))) queue.push(...references(text, path));
    }
    assert.ok(seen.has('/dashboard/vendor/uPlot.esm.js'), 'uPlot comes from the gateway, not the network');
    assert.ok(seen.has('/dashboard/status-stream.js'));
    for (const { path } of assets) assert.ok(seen.has(path), `${path} is loaded by the page (no dead asset)`);
  });

  it('answers a reload with 304 and no body, HEAD without a body, and refuses writes', async () => {
    const first = await fetch(`${base}/dashboard/app.js`);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    await first.arrayBuffer();
    const again = await fetch(`${base}/dashboard/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers.get('content-length')) > 0);
    const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
    await post.arrayBuffer();
  });

  it('keeps the API behind its key and unknown paths 404', async () => {
    const api = await fetch(`${base}/v1/jobs/nope`);
    assert.equal(api.status, 401);
    await api.arrayBuffer();
    const missing = await fetch(`${base}/dashboard/nope.js`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });

  it('refuses assets that would shadow the API or the gateway\'s own routes', async () => {
    for (const path of ['/v1/status', '/metrics', 'no-slash', '/a b']) {
      await assert.rejects(
        startGateway({ client: stack.client, port: 0, assets: [{ path, contentType: 'text/plain', body: 'x' }] }),
        (error: Error) => error.message.includes('assets[0].path') && error.message.includes('outside /v1/'),
        path,
      );
    }
    await assert.rejects(
      startGateway({ client: stack.client, port: 0, assets: [{ path: '/a', contentType: 'text/plain', body: 'x' }, { path: '/a', contentType: 'text/plain', body: 'y' }] }),
      /assets\[1\]\.path/,
    );
  });
});

describe('the package', () => {
  it('ships the page, its modules and the code that serves them', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    for (const file of ['src/dashboard/public/index.html', 'src/dashboard/public/app.js', 'src/dashboard/public/dashboard.css', 'dist/src/dashboard/assets.js']) {
      assert.ok(files.has(file), `${file} is in the package`);
    }
    assert.ok(!files.has('scripts/ensure-chromium.sh'), 'test set-up stays out of the package');
  });
});

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { StaticAsset } from '../gateway/index.js';

/**
 * The dashboard: a page at `/` and its ES modules, read from the package (no build step, no
 * network). The page itself holds no data; it reads `/v1/status` and `/v1/status/stream`, which
 * need an API key when the gateway has keys.
 */

/** Where the browser files live in the package: `src/dashboard/public`, shipped as is. */
const PUBLIC_DIR = new URL('../../../src/dashboard/public/', import.meta.url);
/** URL prefix of everything but the page itself. */
export const DASHBOARD_PREFIX = '/dashboard/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page's modules, in `public/`; the browser loads them by these names under the prefix. */
const PAGE_FILES = ['app.js', 'charts.js', 'format.js', 'history.js', 'sse.js', 'status-stream.js', 'view.js', 'dashboard.css'];

/**
 * Everything comes from the page's own origin; the scripts are files, never inline. uPlot sets
 * element styles from script (allowed by CSP); its stylesheet is one of the files.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function typeOf(file: string): string {
  const type = TYPES[file.slice(file.lastIndexOf('.'))];
  if (type === undefined) throw new Error(`no media type for dashboard file ${file}`);
  return type;
}

/** Reads the page, its modules and uPlot (a dependency) into assets for `startGateway({ assets })`. */
export async function loadDashboardAssets(): Promise<StaticAsset[]> {
  const require = createRequire(import.meta.url);
  const uplotDir = new URL('./', pathToFileURL(require.resolve('uplot/dist/uPlot.esm.js')));
  const read = (url: URL): Promise<Buffer> => readFile(url);
  const files = await Promise.all(PAGE_FILES.map((file) => read(new URL(file, PUBLIC_DIR))));
  const assets: StaticAsset[] = [
    { path: '/', contentType: TYPES['.html']!, body: await read(new URL('index.html', PUBLIC_DIR)), headers: PAGE_HEADERS },
    ...PAGE_FILES.map((file, i) => ({ path: DASHBOARD_PREFIX + file, contentType: typeOf(file), body: files[i]! })),
    { path: `${DASHBOARD_PREFIX}vendor/uPlot.esm.js`, contentType: TYPES['.js']!, body: await read(new URL('uPlot.esm.js', uplotDir)) },
    { path: `${DASHBOARD_PREFIX}vendor/uPlot.min.css`, contentType: TYPES['.css']!, body: await read(new URL('uPlot.min.css', uplotDir)) },
  ];
  return assets;
}

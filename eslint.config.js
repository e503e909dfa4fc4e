// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layers depend downward only: core → protocol → roles → cli | dashboard. Each entry lists what a layer
// may not import; the build fails on a violation (see DESIGN.md "Layers").
const io = ['node:net', 'node:tls', 'node:http', 'node:https', 'node:fs', 'node:fs/promises',
  'node:child_process', 'node:worker_threads', 'node:dgram', 'node:dns', 'node:timers',
  'node:timers/promises', 'node:process', 'node:cluster', 'node:readline', 'node:vm',
  'net', 'tls', 'http', 'https', 'fs', 'child_process', 'worker_threads', 'vm', 'piscina',
  'tinypool', 'pino'];
const roles = ['manager', 'worker', 'client', 'gateway'];
const layer = (files, banned, patterns) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      paths: banned.map((name) => ({ name, message: 'this layer must stay free of I/O (DESIGN.md "Layers")' })),
      patterns: patterns.map((group) => ({ group: [group], message: 'layers import downward only (DESIGN.md "Layers")' })),
    }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'src/dashboard/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', BroadcastChannel: 'readonly', performance: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  // The dashboard's browser modules: plain ES modules served as they are.
  {
    files: ['src/dashboard/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', sessionStorage: 'readonly', getComputedStyle: 'readonly',
        ResizeObserver: 'readonly', TextDecoderStream: 'readonly', Response: 'readonly', HTMLElement: 'readonly', Node: 'readonly' },
    },
  },
  layer(['src/core/**'], io, ['**/protocol/**', ...roles.map((r) => `**/${r}/**`), '**/cli/**', '**/dashboard/**']),
  layer(['src/protocol/**'], [], [...roles.map((r) => `**/${r}/**`), '**/cli/**', '**/dashboard/**']),
  // Roles never import each other, except the gateway, which is a client of the manager.
  ...roles.map((role) => layer([`src/${role}/**`], [], [
    '**/cli/**', '**/dashboard/**',
    ...roles.filter((other) => other !== role && !(role === 'gateway' && other === 'client')).map((other) => `**/${other}/**`),
  ])),
  // The dashboard sits beside the CLI, above the roles: it may use the gateway's types, not the CLI.
  layer(['src/dashboard/**'], [], ['**/cli/**']),
  {
    files: ['src/core/**', 'src/protocol/**', 'src/manager/**', 'src/worker/**', 'src/client/**', 'src/gateway/**'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
);

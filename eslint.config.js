// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * The layers of src/, and what each may import (besides itself): a module imports only from layers below it.
 * docs/architecture.md draws them. `cli` and the worker's entry point (src/*.ts) are on top and may import
 * anything; `sim/` is a separate instrument and never imports src/.
 */
const LAYERS = {
  domain: [],
  util: ['domain'],
  metrics: ['domain'],
  config: ['domain', 'util'],
  state: ['domain'],
  source: ['domain', 'util', 'config'],
  lake: ['domain', 'util', 'config'],
  capture: ['domain', 'util', 'config', 'source', 'lake', 'metrics'],
  lineage: ['domain', 'util', 'config', 'lake'],
  activities: ['domain', 'util', 'config', 'state', 'source', 'lake', 'capture', 'metrics', 'lineage'],
  temporal: ['domain', 'util', 'config'],
  workflows: ['domain', 'state', 'activities'],
  verify: ['domain', 'util', 'config', 'source', 'lake', 'capture'],
};
const SRC_FOLDERS = [...Object.keys(LAYERS), 'cli'];

/** An import path that reaches into one of `folders` (any depth of `../`). */
const reaching = (folders) => `^(?:\\.\\./)+(?:${folders.join('|')})(?:/|$)`;

/** The no-restricted-imports patterns of one layer: every folder it may not import. */
function layerPatterns(layer) {
  const banned = SRC_FOLDERS.filter((f) => f !== layer && !LAYERS[layer].includes(f));
  return [
    {
      regex: reaching(banned),
      message: `src/${layer} may import only ${LAYERS[layer].join(', ') || 'nothing of ours'} (layers: docs/architecture.md).`,
    },
  ];
}

/** Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O modules. */
const workflowPatterns = [
  {
    group: ['**/activities/*', '!**/activities/contracts.js'],
    allowTypeImports: true,
    message: 'Import activities as types only (import type); shared constants live in src/domain.',
  },
  { group: ['mssql', 'tedious', '@azure/*', 'pino', '@duckdb/*'], message: 'Workflow code must not do I/O.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tidemark/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  ...Object.keys(LAYERS).map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        layer === 'workflows'
          ? {
              paths: nodeBuiltins.map((name) => ({
                name,
                message: 'Workflow code must be deterministic: do I/O in activities.',
              })),
              patterns: [...layerPatterns(layer), ...workflowPatterns],
            }
          : { patterns: layerPatterns(layer) },
      ],
    },
  })),
  {
    // The simulator is an independent instrument: it implements SQL Server, never Tidemark's view of it.
    files: ['sim/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?:\\.\\./)+src/', message: 'sim/ never imports src/.' }] },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'sim/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // node:test's test() and describe() return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
);

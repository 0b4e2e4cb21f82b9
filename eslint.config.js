// Lint rules, including the import boundaries of STYLE.md: who may import electron,
// onnxruntime-node and better-sqlite3, and which way the layers point.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/** @param {string[]} names @param {string} why */
const banned = (names, why) => names.map((name) => ({ name, message: why }));

const electronOnlyInDesktop = banned(
  ['electron'],
  'Only src/main/desktop and src/main/index.ts may import electron: the core must run headless.',
);
const ortOnlyInRunner = banned(
  ['onnxruntime-node'],
  "Only the runner's onnx module imports onnxruntime-node: sessions never live in the core.",
);
const sqliteOnlyInDb = banned(['better-sqlite3'], 'Only src/main/core/db imports better-sqlite3.');

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', '.cache/**', 'resources/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': [
        'error',
        { 'ts-ignore': true, 'ts-expect-error': 'allow-with-description' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ThrowStatement > Literal',
          message: 'Throw an Error (or a LodgeError), never a string.',
        },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    files: ['src/main/core/**/*.ts', 'src/main/cli.ts', 'src/main/cli/**/*.ts'],
    ignores: ['src/main/core/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronOnlyInDesktop, ...ortOnlyInRunner, ...sqliteOnlyInDb],
          patterns: ['**/desktop/**', '**/runner/**'],
        },
      ],
    },
  },
  {
    files: ['src/main/core/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronOnlyInDesktop, ...ortOnlyInRunner],
          patterns: ['**/api/**', '**/engine/**', '**/desktop/**'],
        },
      ],
    },
  },
  {
    files: ['src/main/runner/**/*.ts'],
    ignores: ['src/main/runner/onnx/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronOnlyInDesktop, ...ortOnlyInRunner, ...sqliteOnlyInDb],
          patterns: ['**/core/**', '**/desktop/**'],
        },
      ],
    },
  },
  {
    files: ['src/main/runner/onnx/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [...electronOnlyInDesktop, ...sqliteOnlyInDb], patterns: ['**/core/**', '**/desktop/**'] },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronOnlyInDesktop, ...ortOnlyInRunner, ...sqliteOnlyInDb],
          patterns: ['**/main/**', '**/renderer/**', '**/preload/**', 'node:*'],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronOnlyInDesktop, ...ortOnlyInRunner, ...sqliteOnlyInDb],
          patterns: ['**/main/**', '**/preload/**', 'node:*'],
        },
      ],
    },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [...ortOnlyInRunner, ...sqliteOnlyInDb], patterns: ['**/main/**', '**/renderer/**'] },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.js', '*.config.*', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);

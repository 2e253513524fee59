// ESLint over every TypeScript file of the project with the type-checked rules of typescript-eslint
// (one program from tsconfig.test.json, which includes them all), and the few plain ES modules.
// Which of our files may import which is not here: test/import-graph.test.ts is its one place.
// This file adds only what that test cannot see: the pure folders import no Node built-in.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Pure code (style.md, "pure core, I/O at the edge"): it gets data and `now` passed in. */
const PURE = [
  'report/**',
  'exporter/verdict/**',
  'exporter/peers/**',
  'exporter/metrics/**',
  'agent/probes/classify.ts',
  'agent/probes/phases.ts',
];
const NO_IO = 'pure code does no I/O (style.md): the caller at the edge does it and passes the data in';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tap/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    rules: {
      // A let that a callback reads before its one assignment (the callback runs later) stays a let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap's t.test() queues the subtest and its promise never rejects (a failure is a failed
      // test point): the rule is wrong for it, right for every other promise.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      // An async function without await is how this code turns a throw into a rejection where an
      // interface wants a promise (stores, auth modes), and how a tap callback ends its test.
      '@typescript-eslint/require-await': 'off',
      // Passing on what a catch caught is right: its type is unknown, its value the real error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: PURE,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: NO_IO, allowTypeImports: true })),
          patterns: [{ group: ['node:*'], message: NO_IO, allowTypeImports: true }],
        },
      ],
    },
  },
  {
    // The test summary and the lab's TCP proxy: plain Node modules, no type information.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' } },
  },
);

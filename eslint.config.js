// One lint config for the whole repo; packages run `eslint .` from their folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import vitest from '@vitest/eslint-plugin';

/**
 * The rooms of a service, and the one way imports point (docs/architecture.md): entry points
 * (http, consumer, relay) -> domain -> data-access. An entry point does not import another; the
 * domain holds no driver and no Express; data-access knows no rule. The composition roots
 * (main.ts, service.ts, the pipelines beside them, cli/) may import any room; no room imports them.
 */
const ENTRY_ROOMS = ['http', 'consumer', 'relay', 'cli'];
const room = (name, message) => ({ group: [`../${name}/*`, `../../${name}/*`], message });
const roomRules = [
  {
    files: ['services/*/src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: ENTRY_ROOMS.map((r) =>
            room(r, 'domain/ never imports an entry point: entry points call the domain'),
          ),
          paths: ['express', 'ioredis', 'kafkajs', 'mongodb', 'ws'].map((name) => ({
            name,
            message: 'the domain holds no driver and no Express: go through data-access',
            allowTypeImports: false,
          })),
        },
      ],
    },
  },
  {
    files: ['services/*/src/data-access/**/*.ts', 'services/*/src/directory/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [...ENTRY_ROOMS, 'domain'].map((r) =>
            room(
              r,
              'data-access/ knows no rule and no entry point: it is called, it does not call up',
            ),
          ),
        },
      ],
    },
  },
  ...ENTRY_ROOMS.filter((r) => r !== 'cli').map((entry) => ({
    files: [`services/*/src/${entry}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: ENTRY_ROOMS.filter((r) => r !== entry).map((r) =>
            room(
              r,
              `${entry}/ does not import another entry point (${r}/): share through the domain`,
            ),
          ),
        },
      ],
    },
  })),
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read config through the service config module.',
        },
      ],
    },
  },
  {
    // Entry points that legitimately print or read the environment.
    files: [
      '**/*.cli.ts',
      'scripts/**',
      'bench/**',
      '**/cli.ts',
      '**/config.ts',
      '**/test/**',
      '**/*.test.ts',
      'infra/local/src/**',
      'packages/testkit/src/**',
    ],
    rules: { 'no-console': 'off', 'no-restricted-properties': 'off' },
  },
  ...roomRules,
  {
    // No import cycles, inside a package or across the workspace (the TypeScript resolver follows
    // `./x.js` to `x.ts` and `@suite/*` to its source).
    files: ['packages/*/src/**/*.ts', 'services/*/src/**/*.ts', 'infra/local/src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          conditionNames: ['source', 'types', 'import', 'default'],
        }),
      ],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Functions a person can read: a longer one is split into named steps.
    files: ['packages/*/src/**/*.ts', 'services/*/src/**/*.ts', 'infra/local/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // A behaviour test says what happens and what follows, one claim: "when …, then …" (the
    // scripts/ tests check artifacts, a chart or a document, and name what they check instead).
    files: ['services/**/*.test.ts', 'packages/**/*.test.ts', 'infra/**/*.test.ts'],
    plugins: { vitest },
    rules: {
      'vitest/valid-title': [
        'error',
        {
          mustMatch: {
            it: ['^when .+, then .+', 'a behaviour test is titled "when …, then …"'],
            test: ['^when .+, then .+', 'a behaviour test is titled "when …, then …"'],
          },
        },
      ],
    },
  },
  // Formatting is a lint error: the code reads the way prettier (.prettierrc) prints it. Last, so
  // it also turns off the stylistic rules that would fight it.
  prettierRecommended,
);

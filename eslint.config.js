// One lint config for the whole repo; packages run `eslint .` from their folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read config through the service config module.' },
      ],
    },
  },
  {
    // Entry points that legitimately print or read the environment.
    files: ['**/*.cli.ts', 'scripts/**', 'bench/**', '**/cli.ts', '**/config.ts', '**/test/**', '**/*.test.ts', 'infra/local/src/**', 'packages/testkit/src/**'],
    rules: { 'no-console': 'off', 'no-restricted-properties': 'off' },
  },
);

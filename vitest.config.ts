import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Workspace packages export TypeScript sources under the "source" condition. Vitest's
 * global-setup runner ignores custom conditions, so map each export's source as an alias too.
 */
function workspaceSourceAliases() {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of ['packages', 'services', 'infra']) {
    for (const name of readdirSync(dir)) {
      const manifest = join(dir, name, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        name: string;
        exports?: Record<string, { source?: string }>;
      };
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
        if (!target.source) continue;
        const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
        aliases.push({
          find: new RegExp(`^${specifier.replace(/[/.-]/g, '\\$&')}$`),
          replacement: resolvePath(dir, name, target.source),
        });
      }
    }
  }
  return aliases;
}

const resolve = {
  alias: workspaceSourceAliases(),
  conditions: ['source', 'node', 'import', 'default'],
};

/** Tests that drive an external tool besides the servers: helm, schemathesis (Python), Chromium, npm's registry. */
const TOOLS = [
  'scripts/helm-chart.test.ts',
  'scripts/helm-topics-job.test.ts',
  'scripts/helm-alerts.test.ts',
  'scripts/api-fuzz.int.test.ts',
  'scripts/runtime-image.int.test.ts',
  'services/stream-gateway/test/browser.int.test.ts',
];

export default defineConfig({
  resolve,
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'infra/local/src/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', ...TOOLS],
          environment: 'node',
        },
      },
      {
        resolve,
        test: {
          name: 'tools',
          include: TOOLS,
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          pool: 'forks',
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: [
            'packages/*/test/**/*.int.test.ts',
            'services/*/test/**/*.int.test.ts',
            'scripts/**/*.int.test.ts',
          ],
          exclude: ['**/node_modules/**', ...TOOLS],
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // Files run in parallel; each isolates its data (database, key prefix, topics).
          pool: 'forks',
        },
      },
    ],
  },
});

import { basename, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The one test setup every package shares. Besides the console output, each run writes a JSON
 * report to `.vitest-reports/<package>.json` at the workspace root, which `tools/check-skips.mjs`
 * reads in CI: a skipped test there fails the run instead of passing as green.
 */
export function packageTests(packageDir: string, overrides: { testTimeout?: number } = {}) {
  const name = basename(packageDir);
  return defineConfig({
    resolve: {
      // Tests run against the workspace's sources, not stale builds: `@sluice/x` and
      // `@sluice/x/sub` resolve to packages/x/src. Code run in real workers and child processes
      // loads the built dist instead, which nx builds before every test run.
      alias: [
        { find: /^@sluice\/([a-z-]+)$/, replacement: resolve(packageDir, '../$1/src/index.ts') },
        { find: /^@sluice\/([a-z-]+)\/(.+)$/, replacement: resolve(packageDir, '../$1/src/$2.ts') },
      ],
    },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 30_000,
      reporters: ['default', 'json'],
      outputFile: { json: resolve(packageDir, '../../.vitest-reports', `${name}.json`) },
    },
  });
}

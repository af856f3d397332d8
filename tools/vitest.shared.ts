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

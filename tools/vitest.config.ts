import { resolve } from 'node:path';
import { mergeConfig } from 'vitest/config';
import { packageTests } from './vitest.shared.ts';

// The generator's end-to-end test builds, lints and tests a scaffolded package in a temporary
// workspace, which takes a minute or two on a loaded 2-core machine. tools/ sits one level below
// the workspace root (packages sit two), so the JSON report path is set here.
export default mergeConfig(packageTests(import.meta.dirname, { testTimeout: 300_000 }), {
  test: {
    include: ['generators/**/*.test.ts'],
    hookTimeout: 300_000,
    outputFile: { json: resolve(import.meta.dirname, '../.vitest-reports/tools.json') },
  },
});

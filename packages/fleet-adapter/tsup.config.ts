import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', redis: 'src/redis.ts' }),
  // The redis entry registers its `SLUICE_BUDGET` scheme with the main entry's attachBudget, so it
  // must import the package itself rather than bundle a second copy of the scheme table.
  external: ['@sluice/fleet-adapter'],
});

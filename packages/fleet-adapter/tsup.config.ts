import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', redis: 'src/redis.ts' }),
  esbuildPlugins: [
    {
      // The redis entry registers its `SLUICE_BUDGET` scheme in attachBudget's scheme table. A
      // bundled copy of attach-budget would have a table of its own, so the redis entry imports
      // it from the package's main entry instead.
      name: 'redis-entry-shares-attach-budget',
      setup(build) {
        build.onResolve({ filter: /\/attach\/attach-budget\.js$/ }, (args) =>
          /[\\/]src[\\/]redis[\\/]/.test(args.importer)
            ? { path: '@sluice/fleet-adapter', external: true }
            : undefined,
        );
      },
    },
  ],
});

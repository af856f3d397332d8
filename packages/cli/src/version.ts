import pkg from '../package.json' with { type: 'json' };

/** The version of @sluice/cli, from its package.json (bundled in at build time). */
export const VERSION: string = pkg.version;

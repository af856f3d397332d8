import type { Options } from 'tsup';

/**
 * The one build every package shares: ESM + CJS + declarations for Node 20.
 * A package passes its own entry points; everything else stays the same across the workspace.
 */
export function packageBuild(entry: Record<string, string> | string[] = ['src/index.ts']): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
  };
}

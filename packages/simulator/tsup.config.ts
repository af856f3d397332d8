import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

// The recordings are found relative to the module (`import.meta.url`); the shim gives the CJS
// build the same value.
export default defineConfig({ ...packageBuild(), shims: true });

import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

// `testing` is its own entry so that importing the descriptor never loads msw.
export default defineConfig(packageBuild({ index: 'src/index.ts', testing: 'src/testing.ts' }));

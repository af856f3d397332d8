import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

export default defineConfig(packageBuild({ index: 'src/index.ts', bin: 'src/bin.ts' }));

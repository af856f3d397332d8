import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.shared';

export default defineConfig(packageBuild());

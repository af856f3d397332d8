#!/usr/bin/env node
// Runs every `bench/*.bench.ts` of the package in the current directory, one Node process each
// (so one benchmark's heap and JIT state cannot skew the next). TypeScript is loaded with jiti.
// Each benchmark writes its own `bench-results/<name>.json` at the workspace root.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(process.cwd(), 'bench');
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
  : [];
for (const file of files) {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'jiti/register', join(dir, file)],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}

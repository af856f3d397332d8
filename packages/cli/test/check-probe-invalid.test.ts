import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runSluice } from './run-sluice.js';

/** Valid JSON objects that are not valid Sluice configs; each names the path its fix is for. */
const BAD_CONFIGS = [
  {
    name: 'a negative maxConcurrency',
    path: 'providers.glm.maxConcurrency',
    config: {
      providers: { glm: { use: 'zhipu', apiKey: 'x', maxConcurrency: -1 } },
      routes: { main: { provider: 'glm', model: 'glm-4.5' } },
    },
  },
  {
    name: 'a typo’d key',
    path: 'providers.glm.maxConcurency',
    config: {
      providers: { glm: { use: 'zhipu', apiKey: 'x', maxConcurency: 3 } },
      routes: { main: { provider: 'glm', model: 'glm-4.5' } },
    },
  },
  {
    name: 'a fallback to an unknown route',
    path: 'routes.main.fallbacks',
    config: {
      providers: { glm: { use: 'zhipu', apiKey: 'x' } },
      routes: { main: { provider: 'glm', model: 'glm-4.5', fallbacks: ['nowhere'] } },
    },
  },
];

function writeConfig(config: unknown, name = 'bad.json'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-probe-bad-')), name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('sluice check --probe with an invalid config', () => {
  for (const bad of BAD_CONFIGS) {
    test(`${bad.name}: the same invalid-route table and JSON as plain check; exit 1`, async () => {
      const file = writeConfig(bad.config);
      const plain = await runSluice(['check', '--config', file]);
      const probed = await runSluice(['check', '--probe', '--config', file]);
      const plainJSON = await runSluice(['check', '--config', file, '--json']);
      const probedJSON = await runSluice(['check', '--probe', '--config', file, '--json']);

      for (const run of [plain, probed, plainJSON, probedJSON]) {
        expect(run.code).toBe(1);
        expect(run.stderr).not.toContain('(root): is required');
      }
      expect(probed.stdout).toMatch(/invalid-route\s+main/);
      expect(probed.stdout).toContain(`fix: ${bad.path}`);
      expect(probed.stdout).toBe(plain.stdout);
      expect(probed.stderr).toBe(plain.stderr);
      const route = (JSON.parse(probedJSON.stdout) as { routes: Array<Record<string, unknown>> })
        .routes[0]!;
      expect(route).toMatchObject({ name: 'main', state: 'invalid-route' });
      expect(route.fix).toMatch(new RegExp(`^${bad.path.replace(/\./g, '\\.')}`));
      const strip = (text: string) => text.replace(/"generatedAt": \d+/, '');
      expect(strip(probedJSON.stdout)).toBe(strip(plainJSON.stdout));
    }, 30_000);
  }

  test('an auto-detected sluice.config.json: the invalid-route table naming the path; exit 1', async () => {
    const file = writeConfig(BAD_CONFIGS[0]!.config, 'sluice.config.json');
    const run = await runSluice(['check', '--probe'], { cwd: join(file, '..') });

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/invalid-route\s+main/);
    expect(run.stdout).toContain('fix: providers.glm.maxConcurrency: write a whole number >= 0');
    expect(run.stdout).toContain(`config: ${file}`);
    expect(run.stderr).not.toContain('(root): is required');
  }, 30_000);
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runSluice } from './run-sluice.js';
import { closedPort, zhipuConfigFile } from './test-config.js';

const SECRET = 'sk-path-0123456789abcdef0123';

/** A sluice.config.json in a fresh directory; `instance` adds (or misspells) fields. */
function configFile(endpoint: string, instance: Record<string, unknown> = {}): string {
  return zhipuConfigFile('path', endpoint, SECRET, { retry: { maxAttempts: 1 }, ...instance });
}

async function refusingConfig(instance: Record<string, unknown> = {}) {
  return configFile(`http://127.0.0.1:${await closedPort()}/v4`, instance);
}

function lastLine(text: string): string | undefined {
  return text.trimEnd().split('\n').at(-1);
}

function expectNoSecret(...outputs: string[]) {
  for (const out of outputs) expect(out).not.toContain(SECRET);
}

describe('sluice chat names the config file it read under an error', () => {
  test('a request that fails while running (--config); exit 1', async () => {
    const file = await refusingConfig();
    for (const extra of [[], ['--json']]) {
      const run = await runSluice(['chat', 'hi', '--config', file, ...extra]);

      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^sluice: Connection refused on route "default"/);
      expect(run.stderr).toContain(`\nconfig: ${file}\n`);
      expectNoSecret(run.stdout, run.stderr);
    }
  }, 30_000);

  test('a sluice.config.json found in the working directory, without --config', async () => {
    const file = await refusingConfig();
    const run = await runSluice(['chat', 'hi'], { cwd: join(file, '..') });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`config: ${file}\n`);
    expectNoSecret(run.stdout, run.stderr);
  }, 30_000);

  test('an unknown --route; exit 2', async () => {
    const file = await refusingConfig();
    const run = await runSluice(['chat', 'hi', '--config', file, '--route', 'nope']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no route named "nope"');
    expect(lastLine(run.stderr)).toBe(`config: ${file}`);
  });

  test('an invalid config; exit 2, and the key never shows', async () => {
    const file = await refusingConfig({ maxConcurency: 3 });
    const run = await runSluice(['chat', 'hi', '--config', file]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('providers.glm.maxConcurency');
    expect(run.stderr).toContain(`config: ${file}\n`);
    expectNoSecret(run.stdout, run.stderr);
  });

  test('names the other sluice.config.* beside it that it did not read, as check does', async () => {
    const file = await refusingConfig();
    writeFileSync(join(file, '..', 'sluice.config.mjs'), 'export default {};\n');
    const run = await runSluice(['chat', 'hi', '--config', file]);

    expect(run.stderr).toContain(`config: ${file} (also found, not read: sluice.config.mjs)\n`);
  }, 30_000);

  test('with --simulate no config was read, and none is named', async () => {
    const run = await runSluice(['chat', 'hi', '--simulate', '--route', 'nope']);

    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('config:');
  });
});

describe('sluice fleet names the config file it read', () => {
  test('under the first errors of a summary with failures, and as "config" in --json; exit 1', async () => {
    const file = await refusingConfig();
    const args = ['fleet', '--config', file, '--children', '0', '--tasks', '1'];
    const [table, json] = await Promise.all([runSluice(args), runSluice([...args, '--json'])]);

    expect(table.code).toBe(1);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^first network error: .*ECONNREFUSED/);
    expect(lines.at(-1)).toBe(`config: ${file}`);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { config: string }).config).toBe(file);
    expectNoSecret(table.stdout, table.stderr, json.stdout, json.stderr);
  }, 30_000);

  test('under an invalid config or an unknown --route; exit 2, and the key never shows', async () => {
    const invalid = await refusingConfig({ maxConcurency: 3 });
    const badConfig = await runSluice(['fleet', '--config', invalid]);
    const sound = await refusingConfig();
    const badRoute = await runSluice(['fleet', '--config', sound, '--route', 'nope']);

    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('providers.glm.maxConcurency');
    expect(badConfig.stderr).toContain(`config: ${invalid}\n`);
    expect(badRoute.code).toBe(2);
    expect(badRoute.stderr).toContain('no route named "nope"');
    expect(badRoute.stderr).toContain(`config: ${sound}\n`);
    expectNoSecret(badConfig.stdout, badConfig.stderr, badRoute.stdout, badRoute.stderr);
  });

  test('a summary without failures, on the simulator, names no config', async () => {
    const run = await runSluice(['fleet', '--simulate', '--children', '0', '--tasks', '1']);

    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('config:');
  }, 30_000);
});

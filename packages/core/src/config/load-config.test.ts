import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.js';
import { findConfigFile, loadConfig } from './load-config.js';
import { resolveConfig } from './resolve-config.js';

// The TS config imports the descriptor and config sources directly (not the whole core index):
// jiti transpiles every TS file it loads, and the smaller graph keeps the test quick.
const DESCRIPTOR_SOURCE = resolve(import.meta.dirname, '../descriptor/index.ts');
const DEFINE_CONFIG_SOURCE = resolve(import.meta.dirname, './define-config.ts');

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
  return file;
}

/** A provider package in the temp dir's node_modules, exporting a plain descriptor. */
async function writeProviderPackage(name: string, exportLine: string): Promise<void> {
  await write(
    `node_modules/${name}/package.json`,
    JSON.stringify({ name, type: 'module', exports: { '.': './index.js' } }),
  );
  await write(
    `node_modules/${name}/index.js`,
    `const descriptor = { id: 'acme', endpoints: { main: 'https://api.acme.example/v1' },
      auth: { type: 'bearer', envVars: ['ACME_API_KEY'] }, maxConcurrency: 2 };
    ${exportLine}`,
  );
}

const JSON_CONFIG = {
  providers: { acme: { use: '@acme/sluice-provider-acme', timeouts: { idleMs: 600_000 } } },
  routes: { default: { provider: 'acme', model: 'acme-large' } },
  timeouts: { idleMs: 120_000 },
};

describe('findConfigFile', () => {
  test('prefers TypeScript over JS over JSON, and finds nothing in an empty dir', async () => {
    expect(findConfigFile(dir)).toBeUndefined();
    await write('sluice.config.json', '{}');
    expect(findConfigFile(dir)).toBe(join(dir, 'sluice.config.json'));
    await write('sluice.config.mjs', 'export default {}');
    expect(findConfigFile(dir)).toBe(join(dir, 'sluice.config.mjs'));
    await write('sluice.config.ts', 'export default {}');
    expect(findConfigFile(dir)).toBe(join(dir, 'sluice.config.ts'));
  });
});

describe('loadConfig', () => {
  test('loads sluice.config.json and the provider package it names', async () => {
    await writeProviderPackage('@acme/sluice-provider-acme', 'export default descriptor;');
    await write('sluice.config.json', JSON.stringify(JSON_CONFIG));

    const loaded = await loadConfig({ cwd: dir });
    const resolved = resolveConfig(loaded.config, {
      ...loaded,
      env: { ACME_API_KEY: 'k'.repeat(20) },
    });

    expect(loaded.file).toBe(join(dir, 'sluice.config.json'));
    expect(Object.keys(loaded.packages)).toEqual(['@acme/sluice-provider-acme']);
    expect(resolved.route()).toMatchObject({
      model: 'acme-large',
      url: 'https://api.acme.example/v1/chat/completions',
      maxConcurrency: 2,
      apiKeySource: 'env:ACME_API_KEY',
    });
    expect(resolved.route().timeouts.idleMs).toBe(600_000);
  });

  test('loaded descriptors find their package by name in plain providers, any package name', async () => {
    await writeProviderPackage('@acme/llm-descriptor', 'export default descriptor;');
    await write(
      'sluice.config.json',
      JSON.stringify({
        providers: { acme: { use: '@acme/llm-descriptor' } },
        routes: { default: { provider: 'acme', model: 'm' } },
      }),
    );

    const loaded = await loadConfig({ cwd: dir });
    // Only `providers`, as a router that was handed loaded.providers would pass it.
    const route = resolveConfig(loaded.config, { providers: loaded.providers, env: {} }).route();

    expect(route.provider.id).toBe('acme');
    expect(JSON.stringify(loaded.providers[0])).not.toContain('llm-descriptor');
  });

  test('loads sluice.config.mjs and takes a named `provider` export', async () => {
    await writeProviderPackage('@acme/sluice-provider-acme', 'export const provider = descriptor;');
    await write('sluice.config.mjs', `export default ${JSON.stringify(JSON_CONFIG)};`);

    const loaded = await loadConfig({ cwd: dir });

    expect(loaded.packages['@acme/sluice-provider-acme']?.id).toBe('acme');
    expect(loaded.packages['@acme/sluice-provider-acme']?.displayName).toBe('acme');
  });

  test('loads sluice.config.ts with types and an inline openAICompatible provider', async () => {
    await write(
      'sluice.config.ts',
      `import { openAICompatible } from ${JSON.stringify(DESCRIPTOR_SOURCE)};
      import { defineConfig } from ${JSON.stringify(DEFINE_CONFIG_SOURCE)};
      interface Extra { port: number }
      const local: Extra = { port: 8000 };
      export default defineConfig({
        providers: {
          local: {
            descriptor: openAICompatible({
              id: 'local-vllm',
              baseURL: \`http://127.0.0.1:\${local.port}/v1\`,
              models: ['qwen3-coder'],
              maxConcurrency: 2,
            }),
          },
        },
        routes: { coder: { provider: 'local' } },
      });`,
    );

    const loaded = await loadConfig({ cwd: dir });
    const route = resolveConfig(loaded.config, { ...loaded, env: {} }).route();

    expect(route.url).toBe('http://127.0.0.1:8000/v1/chat/completions');
    expect(route.model).toBe('qwen3-coder');
    expect(route.provider.id).toBe('local-vllm');
  }, 30_000);

  test('an explicit file relative to cwd wins over the search', async () => {
    await write('sluice.config.json', '{"providers":{},"routes":{}}');
    await write('configs/other.json', JSON.stringify(JSON_CONFIG));

    const loaded = await loadConfig({ cwd: dir, file: 'configs/other.json' });

    expect(loaded.file).toBe(join(dir, 'configs/other.json'));
    expect(loaded.packageFailures['@acme/sluice-provider-acme']?.reason).toBe('not-installed');
  });

  test('a package that is not installed is reported by resolveConfig with npm install, with every other problem', async () => {
    await write(
      'sluice.config.json',
      JSON.stringify({
        providers: { acme: { use: '@acme/sluice-provider-acme', maxConcurrency: -1 } },
        routes: { default: { provider: 'acme', model: 'm' } },
      }),
    );

    const loaded = await loadConfig({ cwd: dir });
    let error: unknown;
    try {
      resolveConfig(loaded.config, { ...loaded, env: {} });
    } catch (caught) {
      error = caught;
    }

    expect(ConfigError.isConfigError(error)).toBe(true);
    const issues = (error as ConfigError).issues;
    expect(issues.map((issue) => issue.path)).toEqual([
      'providers.acme.maxConcurrency',
      'providers.acme.use',
    ]);
    expect(issues[1]?.fix).toBe('npm install @acme/sluice-provider-acme');
    expect((error as ConfigError).message).toContain(join(dir, 'sluice.config.json'));
  });

  test('a package without a descriptor export is named as such', async () => {
    await writeProviderPackage('@acme/sluice-provider-acme', 'export const notIt = 1;');
    await write('sluice.config.json', JSON.stringify(JSON_CONFIG));

    const loaded = await loadConfig({ cwd: dir });

    expect(loaded.packageFailures['@acme/sluice-provider-acme']).toEqual({
      reason: 'no-descriptor',
      message: 'it exports no provider descriptor',
    });
    expect(() => resolveConfig(loaded.config, { ...loaded, env: {} })).toThrow(
      /export the descriptor as the default export or as `provider`/,
    );
  });

  test('no config file, a missing file, bad JSON and a non-object export are ConfigErrors', async () => {
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(/no config file found/);
    await expect(loadConfig({ cwd: dir, file: 'nope.json' })).rejects.toThrow(/does not exist/);
    // The fix speaks to library and CLI users alike.
    await expect(loadConfig({ cwd: dir, file: 'nope.json' })).rejects.toThrow(
      /give no file \(loadConfig\(\) without `file`, or the CLI without --config\) to find sluice\.config\.\* in the working directory/,
    );

    await write('bad.json', '{ "providers": ');
    await expect(loadConfig({ cwd: dir, file: 'bad.json' })).rejects.toThrow(/is not valid JSON/);

    await write('list.mjs', 'export default [1, 2];');
    await expect(loadConfig({ cwd: dir, file: 'list.mjs' })).rejects.toThrow(
      /exports no config object/,
    );
  });

  test('a syntax error in a TS config never echoes the source (which may hold a key)', async () => {
    const key = 'sk-live-SECRETSECRETSECRET';
    await write('sluice.config.ts', `export default { providers: { a: { apiKey: '${key}' } } ]]`);

    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);

    expect(ConfigError.isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/could not be loaded/);
    expect((error as Error).message).not.toContain(key);
    expect(JSON.stringify(error)).not.toContain(key);
  });

  test('a syntax error names its line and column, without quoting the line', async () => {
    const key = 'sk-live-SECRETSECRETSECRET';
    await write(
      'sluice.config.ts',
      `export default {\n  providers: { a: { apiKey: '${key}' } }\n  routes: {}\n};\n`,
    );

    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);

    expect(ConfigError.isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/could not be loaded: .* at line 3, column 2/);
    expect((error as Error).message).not.toContain(key);
  });

  test('an error thrown while the config runs keeps its kind', async () => {
    await write('sluice.config.mjs', 'const port = settings.port;\nexport default {};\n');

    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);

    expect((error as Error).message).toMatch(
      /could not be loaded: ReferenceError: settings is not defined/,
    );
  });

  test('a module with no default export says so and names what it exports', async () => {
    await write('sluice.config.mjs', 'export const providers = {};\nexport const routes = {};\n');

    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);

    expect(ConfigError.isConfigError(error)).toBe(true);
    const issue = (error as ConfigError).issues[0];
    expect(issue).toMatchObject({ path: '(file)' });
    expect(issue?.message).toBe('has no default export (it exports providers, routes)');
    expect(issue?.fix).toMatch(/export default defineConfig/);
  });
});

describe('config files Sluice cannot load', () => {
  test('another extension is refused with the ones it can load', async () => {
    const file = await write('sluice.config.yaml', 'routes: {}\n');
    const error = await loadConfig({ file }).catch((caught: unknown) => caught);
    const issue = (error as ConfigError).issues[0];
    expect(issue?.message).toBe('is a .yaml, which Sluice cannot load');
    expect(issue?.fix).toContain('sluice.config.ts');
    expect(issue?.fix).toContain('sluice.config.json');
  });

  test('a directory is searched for its sluice.config.*', async () => {
    await write('project/sluice.config.json', JSON.stringify({ routes: {} }));
    const loaded = await loadConfig({ file: join(dir, 'project') });
    expect(loaded.file).toBe(join(dir, 'project', 'sluice.config.json'));
  });

  test('a package the config imports and cannot find gets npm install as the fix', async () => {
    await write(
      'sluice.config.mjs',
      "import { defineConfig } from '@acme/not-installed/config';\nexport default defineConfig({});\n",
    );
    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);
    const issue = (error as ConfigError).issues[0];
    expect(issue?.message).toMatch(/Cannot find (module|package) '@acme\/not-installed/);
    expect(issue?.fix).toBe('install it where the config file is: npm install @acme/not-installed');
  });

  test('a key in an error the config itself throws is masked', async () => {
    const key = 'sk-test-SECRET123456';
    await write('sluice.config.mjs', `throw new Error('bad key ${key}');\nexport default {};\n`);
    const error = await loadConfig({ cwd: dir }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/could not be loaded: bad key/);
    expect((error as Error).message).not.toContain(key);
    expect(JSON.stringify(error)).not.toContain('SECRET123456');
  });
});

describe('bare ids and conventional package names', () => {
  test("use: 'acme' loads an installed @sluice/provider-acme", async () => {
    await writeProviderPackage('@sluice/provider-acme', 'export default descriptor;');
    await write(
      'sluice.config.json',
      JSON.stringify({
        providers: { a: { use: 'acme' } },
        routes: { default: { provider: 'a', model: 'm' } },
      }),
    );

    const loaded = await loadConfig({ cwd: dir });
    const route = resolveConfig(loaded.config, { ...loaded, env: {} }).route();

    expect(Object.keys(loaded.packages)).toEqual(['@sluice/provider-acme']);
    expect(loaded.packageFailures).toEqual({});
    expect(route.provider.id).toBe('acme');
  });

  test('a bare id with no such package is not a load failure; a broken one names its package', async () => {
    await write(
      'sluice.config.json',
      JSON.stringify({
        providers: { a: { use: 'nothere' }, b: { use: 'acme' } },
        routes: { default: { provider: 'a', model: 'm' } },
      }),
    );
    await writeProviderPackage('sluice-provider-acme', 'export const unrelated = 1;');

    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.packageFailures).toEqual({
      acme: {
        reason: 'no-descriptor',
        message: 'it exports no provider descriptor',
        packageName: 'sluice-provider-acme',
      },
    });

    const error = (() => {
      try {
        resolveConfig(loaded.config, { ...loaded, env: {} });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.issues.map((issue) => [issue.path, issue.message])).toEqual([
      ['providers.a.use', 'names no known provider; known ids and aliases: (none)'],
      [
        'providers.b.use',
        'provider package "sluice-provider-acme" could not be loaded: it exports no provider descriptor',
      ],
    ]);
  });
});

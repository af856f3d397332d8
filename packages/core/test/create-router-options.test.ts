import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createRouter } from '../src/router/create-router.js';
import type { RouterOptions } from '../src/router/types.js';

const local = openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] });
const config = {
  providers: { local: { use: 'local', apiKey: 'k-0123456789abcdef' } },
  routes: { default: { provider: 'local', model: 'm' } },
};

/** What createRouter throws for `options`, as a SluiceError. */
function refusal(options: unknown): SluiceError {
  try {
    createRouter(options as RouterOptions);
  } catch (error) {
    if (SluiceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected createRouter to throw');
}

describe('createRouter options (trial: plausible mistakes threw a TypeError from inside)', () => {
  test('the config passed bare says to pass it as { config }', () => {
    const error = refusal(config);
    expect(error.kind).toBe('config');
    expect(error.message).toContain('createRouter: got a route config where its options go.');
    expect(error.hint).toContain('createRouter({ config })');
  });

  test('providers as one descriptor, not an array, says to wrap it', () => {
    const error = refusal({ config, providers: local });
    expect(error.message).toContain(
      'createRouter: options.providers must be an array of provider descriptors, got an object',
    );
    expect(error.hint).toContain('providers: [zhipu]');
  });

  test('a misspelt option gets a did-you-mean; a missing config is named', () => {
    expect(refusal({ config, provider: [local] }).message).toContain(
      'unknown option "provider" (did you mean "providers"?)',
    );
    expect(refusal({ providers: [local] }).message).toContain('options.config is required.');
    expect(refusal(undefined).message).toContain('the options must be an object, got undefined');
    expect(refusal({ config, fetch: 'http://x' }).message).toContain(
      'options.fetch must be a fetch function, got "http://x"',
    );
    expect(refusal({ config, middleware: () => {} }).message).toContain(
      'options.middleware must be an array of middleware functions',
    );
  });
});

describe('createRouter(await loadConfig())', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test('takes what loadConfig returns as is: the packages it loaded resolve `use`', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-router-options-'));
    await mkdir(join(dir, 'node_modules/@acme/sluice-provider-acme'), { recursive: true });
    await writeFile(
      join(dir, 'node_modules/@acme/sluice-provider-acme/package.json'),
      JSON.stringify({ name: '@acme/sluice-provider-acme', type: 'module', exports: './index.js' }),
    );
    await writeFile(
      join(dir, 'node_modules/@acme/sluice-provider-acme/index.js'),
      `export default { id: 'acme', endpoints: { main: 'https://api.acme.example/v1' },
        auth: { type: 'bearer', envVars: ['ACME_API_KEY'] }, maxConcurrency: 2 };`,
    );
    await writeFile(
      join(dir, 'sluice.config.json'),
      JSON.stringify({
        providers: { acme: { use: '@acme/sluice-provider-acme', apiKey: 'k-0123456789abcdef' } },
        routes: { default: { provider: 'acme', model: 'acme-large' } },
      }),
    );

    const loaded = await loadConfig({ cwd: dir });
    const router = createRouter(loaded);
    try {
      expect(router.route().url).toBe('https://api.acme.example/v1/chat/completions');
      expect(router.route().maxConcurrency).toBe(2);
    } finally {
      await router.close();
    }
  });
});

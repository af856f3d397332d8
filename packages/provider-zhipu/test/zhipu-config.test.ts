// The zhipu descriptor as a user declares it: by package name in a config file loaded with
// loadConfig (which imports the built package), and in signed-token mode through router.chat.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZhipuProvider } from '../src/index.js';
import { zhipuMock } from '../src/testing.js';
import { setupRouterTests } from './support.js';

const { server, makeRouter } = setupRouterTests();

describe("use: '@sluice/provider-zhipu' in a config file", () => {
  let dir = '';
  beforeAll(() => {
    // Inside the package, so the config file resolves the workspace's node_modules.
    dir = mkdtempSync(join(import.meta.dirname, '..', '.config-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the package descriptor, resolves the coding endpoint and the GLM defaults', async () => {
    const file = join(dir, 'sluice.config.mjs');
    writeFileSync(
      file,
      `export default {
        providers: { glm: { use: '@sluice/provider-zhipu', apiKey: 'env:ZHIPU_API_KEY' } },
        routes: { main: { provider: 'glm', model: 'glm-4.6' } },
        defaultRoute: 'main',
      };\n`,
    );

    const loaded = await loadConfig({ file });
    expect(loaded.packageFailures).toEqual({});
    const router = makeRouter({
      config: loaded.config,
      providers: loaded.providers,
      env: { ZHIPU_API_KEY: 'zhipu-config-test-key-0123456789' },
    });

    const route = router.route('main');
    expect(route.provider.id).toBe('zhipu');
    expect(route.url).toBe('https://api.z.ai/api/coding/paas/v4/chat/completions');
    expect(route.maxConcurrency).toBe(3);
    expect(route.timeouts.headersMs).toBe(45_000);
    expect(route.apiKeySource).toBe('env:ZHIPU_API_KEY');
    expect(route.modelInfo?.contextWindow).toBe(204_800);
  });

  it('finds the key in ZAI_API_KEY or GLM_API_KEY when ZHIPU_API_KEY is unset', () => {
    for (const name of ['ZAI_API_KEY', 'GLM_API_KEY']) {
      const router = makeRouter({
        config: {
          providers: { glm: { use: 'glm' } },
          routes: { main: { provider: 'glm', model: 'glm-4.5' } },
        },
        providers: [createZhipuProvider()],
        env: { [name]: 'zhipu-env-test-key-0123456789' },
      });
      expect(router.route('main').apiKeySource).toBe(`env:${name}`);
    }
  });
});

describe('signed-token mode from route config', () => {
  it('providerOptions.signedToken on the instance sends a verifiable token and no secret', async () => {
    const mock = zhipuMock({
      baseURL: 'https://api.z.ai/api/coding/paas/v4',
      script: [{ text: 'ok' }],
    });
    server.use(...mock.handlers);
    const router = makeRouter({
      config: {
        providers: {
          glm: {
            use: 'zhipu',
            apiKey: 'key-id-7.another-secret-abc',
            providerOptions: { signedToken: true },
          },
        },
        routes: { main: { provider: 'glm', model: 'glm-4.6' } },
      },
      providers: [createZhipuProvider()],
      env: {},
    });

    expect(await router.chat({ messages: [{ role: 'user', content: 'hi' }] }).text()).toBe('ok');

    const authorization = mock.requests[0]?.headers.get('authorization') ?? '';
    const [header, payload, signature] = authorization.replace(/^Bearer /, '').split('.');
    expect(signature).toBe(
      createHmac('sha256', 'another-secret-abc').update(`${header}.${payload}`).digest('base64url'),
    );
    expect(authorization).not.toContain('another-secret-abc');
    expect(mock.requests[0]!.body).not.toHaveProperty('signedToken');
  });
});

describe('signed-token mode through router.chat', () => {
  it('sends an HS256 token signed with the secret, never the secret itself', async () => {
    const mock = zhipuMock({
      baseURL: 'https://open.bigmodel.cn/api/paas/v4',
      script: [{ text: 'ok' }],
    });
    server.use(...mock.handlers);
    const router = makeRouter({
      config: {
        providers: {
          glm: { use: 'bigmodel', endpoint: 'general-cn', apiKey: 'key-id-42.the-secret-part-xyz' },
        },
        routes: { main: { provider: 'glm', model: 'glm-4.5' } },
      },
      providers: [createZhipuProvider({ signedToken: true })],
      env: {},
    });

    expect(await router.chat({ messages: [{ role: 'user', content: 'hi' }] }).text()).toBe('ok');

    const authorization = mock.requests[0]?.headers.get('authorization') ?? '';
    expect(authorization).not.toContain('the-secret-part-xyz');
    const [header, payload, signature] = authorization.replace(/^Bearer /, '').split('.');
    const expected = createHmac('sha256', 'the-secret-part-xyz')
      .update(`${header}.${payload}`)
      .digest('base64url');
    expect(signature).toBe(expected);
    expect(JSON.parse(Buffer.from(payload ?? '', 'base64url').toString())).toMatchObject({
      api_key: 'key-id-42',
    });
  });
});

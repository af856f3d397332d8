import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS_MS } from '../descriptor/defaults.js';
import { defineProvider } from '../descriptor/define-provider.js';
import { openAICompatible } from '../descriptor/open-ai-compatible.js';
import { ConfigError } from './config-error.js';
import { defineConfig } from './define-config.js';
import { resolveConfig } from './resolve-config.js';

// A stand-in for a provider package: core knows no provider by name.
const zhipuLike = defineProvider({
  id: 'zhipu',
  aliases: ['glm'],
  endpoints: {
    coding: 'https://open.bigmodel.cn/api/coding/paas/v4',
    general: 'https://open.bigmodel.cn/api/paas/v4',
  },
  auth: { type: 'bearer', envVars: ['ZHIPU_API_KEY', 'ZAI_API_KEY'] },
  catalog: [
    {
      id: 'glm-4.6',
      aliases: ['glm-4.6-latest'],
      contextWindow: 200_000,
      maxOutputTokens: 128_000,
      capabilities: { reasoning: true, tools: true },
    },
  ],
  defaultModel: 'glm-4.6',
  maxConcurrency: 3,
  timeouts: { headersMs: 60_000 },
  retry: { maxAttempts: 5 },
});

const acmeLike = defineProvider({
  id: 'acme',
  endpoints: { main: 'https://api.acme.example/v1' },
  auth: { type: 'bearer', envVars: ['ACME_API_KEY'] },
});

const KEY = 'sk-test-0123456789abcdef';

function sha12(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

describe('precedence', () => {
  test('C06: per-provider timeouts win: zhipu instance 600 s over global 120 s, another provider inherits 120 s', () => {
    const config = defineConfig({
      timeouts: { idleMs: 120_000 },
      providers: {
        zhipu: { use: 'zhipu', timeouts: { idleMs: 600_000 } },
        other: { use: 'acme' },
      },
      routes: {
        glm: { provider: 'zhipu', model: 'glm-4.6' },
        acme: { provider: 'other', model: 'acme-1' },
      },
    });

    const resolved = resolveConfig(config, { providers: [zhipuLike, acmeLike], env: {} });

    expect(resolved.route('glm').timeouts.idleMs).toBe(600_000);
    expect(resolved.route('acme').timeouts.idleMs).toBe(120_000);
    // A 150 s thinking silence is inside zhipu's idle deadline and outside the other's.
    expect(resolved.route('glm').timeouts.idleMs).toBeGreaterThan(150_000);
    expect(resolved.route('acme').timeouts.idleMs).toBeLessThan(150_000);
    expect(resolved.instances.get('zhipu')?.timeouts.idleMs).toBe(600_000);
  });

  test('route > instance > config-wide > descriptor > Sluice defaults, field by field', () => {
    const resolved = resolveConfig(
      {
        timeouts: { idleMs: 120_000, totalMs: 900_000, firstTokenMs: 5_000 },
        retry: { baseDelayMs: 250, maxAttempts: 2 },
        providers: {
          z: { use: 'zhipu', timeouts: { totalMs: 600_000, headersMs: 30_000 } },
        },
        routes: {
          r: { provider: 'z', timeouts: { headersMs: 20_000 }, retry: { retryOn: ['rate-limit'] } },
        },
      },
      { providers: [zhipuLike], env: {} },
    );
    const route = resolved.route('r');

    expect(route.timeouts).toEqual({
      queueMs: DEFAULT_TIMEOUTS_MS.queueMs, // Sluice default
      headersMs: 20_000, // route
      firstTokenMs: 5_000, // config-wide
      idleMs: 120_000, // config-wide
      totalMs: 600_000, // instance
    });
    expect(route.retry).toEqual({
      maxAttempts: 2, // config-wide over the descriptor's 5
      baseDelayMs: 250,
      maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
      maxServerWaitMs: DEFAULT_RETRY_POLICY.maxServerWaitMs,
      retryOn: ['rate-limit'], // route, replaced whole
    });
  });

  test('descriptor defaults apply where nothing above sets a field', () => {
    const route = resolveConfig(
      { providers: { z: { use: 'glm' } }, routes: { r: { provider: 'z' } } },
      { providers: [zhipuLike], env: {} },
    ).route();

    expect(route.timeouts.headersMs).toBe(60_000);
    expect(route.retry.maxAttempts).toBe(5);
    expect(route.maxConcurrency).toBe(3);
    expect(route.model).toBe('glm-4.6');
  });

  test('instance maxConcurrency overrides the descriptor; 0 is kept as no cap', () => {
    const resolved = resolveConfig(
      {
        providers: {
          a: { use: 'zhipu', maxConcurrency: 1 },
          b: { use: 'zhipu', maxConcurrency: 0 },
        },
        routes: { a: { provider: 'a' }, b: { provider: 'b' } },
      },
      { providers: [zhipuLike], env: {} },
    );

    expect(resolved.route('a').maxConcurrency).toBe(1);
    expect(resolved.route('b').maxConcurrency).toBe(0);
  });

  test('providerOptions merge route over instance; headers merge instance over descriptor by lowercase name', () => {
    const custom = openAICompatible({
      id: 'c',
      baseURL: 'https://c.example/v1',
      headers: { 'X-Team': 'core', 'x-trace': 'on' },
    });
    const route = resolveConfig(
      {
        providers: {
          c: {
            descriptor: custom,
            headers: { 'x-team': 'agents' },
            providerOptions: { thinking: 'on', temperature: 0.2 },
          },
        },
        routes: { r: { provider: 'c', model: 'm', providerOptions: { thinking: 'off' } } },
      },
      { env: {} },
    ).route();

    expect(route.headers).toEqual({ 'x-team': 'agents', 'x-trace': 'on' });
    expect(route.providerOptions).toEqual({ thinking: 'off', temperature: 0.2 });
  });
});

describe('endpoints', () => {
  const resolveWith = (instance: Record<string, unknown>) =>
    resolveConfig(
      { providers: { z: { use: 'zhipu', ...instance } }, routes: { r: { provider: 'z' } } },
      { providers: [zhipuLike], env: {} },
    ).route();

  test('the default endpoint plus the chat path', () => {
    const route = resolveWith({});
    expect(route.url).toBe('https://open.bigmodel.cn/api/coding/paas/v4/chat/completions');
    expect(route.endpointName).toBe('coding');
  });

  test('a named endpoint', () => {
    expect(resolveWith({ endpoint: 'general' }).url).toBe(
      'https://open.bigmodel.cn/api/paas/v4/chat/completions',
    );
  });

  test('a URL, with or without a trailing slash or the chat path already on it', () => {
    expect(resolveWith({ endpoint: 'https://proxy.example/v4/' }).url).toBe(
      'https://proxy.example/v4/chat/completions',
    );
    expect(resolveWith({ endpoint: 'https://proxy.example/v4/chat/completions' }).url).toBe(
      'https://proxy.example/v4/chat/completions',
    );
    expect(resolveWith({ endpoint: 'https://proxy.example/v4' }).endpointName).toBeUndefined();
  });

  test.each([
    'http://127.0.0.1:8080/v1',
    'http://127.9.9.9/v1',
    'http://localhost:11434/v1',
    'http://[::1]:9/v1',
  ])('plain http to loopback %s is accepted', (endpoint) => {
    expect(resolveWith({ endpoint }).url.startsWith('http://')).toBe(true);
  });

  test('plain http to another host is accepted with allowInsecure: true', () => {
    expect(resolveWith({ endpoint: 'http://10.0.0.5:8000/v1', allowInsecure: true }).url).toBe(
      'http://10.0.0.5:8000/v1/chat/completions',
    );
  });
});

describe('API keys', () => {
  const resolveKey = (apiKey: string | undefined, env: Record<string, string>) =>
    resolveConfig(
      {
        providers: { z: { use: 'zhipu', ...(apiKey === undefined ? {} : { apiKey }) } },
        routes: { r: { provider: 'z' } },
      },
      { providers: [zhipuLike], env },
    ).route();

  test('env:NAME reads that variable', () => {
    const route = resolveKey('env:MY_GLM_KEY', {
      MY_GLM_KEY: KEY,
      ZHIPU_API_KEY: 'other-key-000000',
    });
    expect(route.apiKey).toBe(KEY);
    expect(route.apiKeySource).toBe('env:MY_GLM_KEY');
  });

  test('a literal is the key', () => {
    const route = resolveKey(KEY, {});
    expect(route.apiKey).toBe(KEY);
    expect(route.apiKeySource).toBe('literal');
  });

  test("absent: the descriptor's env vars in order", () => {
    const route = resolveKey(undefined, { ZAI_API_KEY: 'second-000000000', ZHIPU_API_KEY: KEY });
    expect(route.apiKey).toBe(KEY);
    expect(route.apiKeySource).toBe('env:ZHIPU_API_KEY');

    expect(resolveKey(undefined, { ZAI_API_KEY: 'second-000000000' }).apiKeySource).toBe(
      'env:ZAI_API_KEY',
    );
  });

  test('whitespace around a key (a trailing newline from a secret file) is dropped', () => {
    expect(resolveKey('env:K', { K: `${KEY}\n` }).apiKey).toBe(KEY);
    expect(resolveKey(undefined, { ZHIPU_API_KEY: '  \n', ZAI_API_KEY: KEY }).apiKeySource).toBe(
      'env:ZAI_API_KEY',
    );
  });

  test('a missing key is not a config error: undefined, with the env vars tried', () => {
    const route = resolveKey(undefined, {});
    expect(route.apiKey).toBeUndefined();
    expect(route.apiKeyEnvTried).toEqual(['ZHIPU_API_KEY', 'ZAI_API_KEY']);
    expect(resolveKey('env:NOPE', { NOPE: '' }).apiKeyEnvTried).toEqual(['NOPE']);
  });

  test('secret headers and a redis password are masked in JSON too, other headers kept', () => {
    const resolved = resolveConfig(
      {
        providers: {
          z: {
            use: 'zhipu',
            headers: { 'X-Api-Key': KEY, 'x-team': 'agents' },
            budget: { backend: 'redis', url: 'redis://:hunter2pass@db.internal:6379' },
          },
        },
        routes: { r: { provider: 'z' } },
      },
      { providers: [zhipuLike], env: {} },
    );
    const json = JSON.stringify(resolved.route());

    expect(resolved.route().headers['x-api-key']).toBe(KEY);
    expect(json).not.toContain(KEY);
    expect(json).not.toContain('hunter2pass');
    expect(JSON.parse(json).headers['x-team']).toBe('agents');
  });

  test('the key never appears in JSON or inspect output of a resolved route', async () => {
    const { inspect } = await import('node:util');
    const resolved = resolveConfig(
      { providers: { z: { use: 'zhipu', apiKey: KEY } }, routes: { r: { provider: 'z' } } },
      { providers: [zhipuLike], env: {} },
    );

    expect(JSON.stringify(resolved.route())).not.toContain(KEY);
    expect(JSON.stringify([...resolved.instances.values()])).not.toContain(KEY);
    expect(inspect(resolved.route(), { depth: 5 })).not.toContain(KEY);
    expect(JSON.parse(JSON.stringify(resolved.route())).apiKey).toBe('sk-t…');
  });
});

describe('a key in the endpoint query string', () => {
  test('is masked in JSON and inspect output of the route and instance, and still sent', async () => {
    const { inspect } = await import('node:util');
    const resolved = resolveConfig(
      {
        providers: {
          z: {
            use: 'zhipu',
            apiKey: KEY,
            endpoint: 'https://gw.example/v1?api_key=QS-SECRET-1&region=eu',
          },
        },
        routes: { r: { provider: 'z' } },
      },
      { providers: [zhipuLike], env: {} },
    );
    const route = resolved.route();

    expect(route.url).toContain('api_key=QS-SECRET-1');
    for (const shown of [
      JSON.stringify(route),
      JSON.stringify([...resolved.instances.values()]),
      inspect(route, { depth: 5 }),
    ]) {
      expect(shown).not.toContain('QS-SECRET-1');
    }
    expect(JSON.parse(JSON.stringify(route)).url).toBe(
      'https://gw.example/v1/chat/completions?api_key=***&region=eu',
    );
  });
});

describe('budget keys', () => {
  test('instance and the first 12 hex chars of sha256(key), never the key', () => {
    const route = resolveConfig(
      { providers: { glm: { use: 'zhipu', apiKey: KEY } }, routes: { r: { provider: 'glm' } } },
      { providers: [zhipuLike], env: {} },
    ).route();

    expect(route.budgetKey).toBe(`glm:${sha12(KEY)}`);
    expect(route.budgetKey).not.toContain(KEY.slice(3));
    expect(route.budget).toEqual({ backend: 'memory', url: undefined, scope: 'instance' });
  });

  test('nokey without a key; model appended for model scope; routes on one instance share a key', () => {
    const resolved = resolveConfig(
      {
        providers: {
          glm: { use: 'zhipu' },
          scoped: { use: 'zhipu', budget: { backend: 'memory', scope: 'model' } },
        },
        routes: {
          a: { provider: 'glm', model: 'glm-4.6' },
          b: { provider: 'glm', model: 'glm-4.5-air' },
          c: { provider: 'scoped', model: 'glm-4.6' },
        },
      },
      { providers: [zhipuLike], env: {} },
    );

    expect(resolved.route('a').budgetKey).toBe('glm:nokey');
    expect(resolved.route('b').budgetKey).toBe('glm:nokey');
    expect(resolved.route('c').budgetKey).toBe('scoped:nokey:glm-4.6');
  });

  test('an explicit budget key is shared across instances', () => {
    const resolved = resolveConfig(
      {
        providers: {
          a: {
            use: 'zhipu',
            budget: { backend: 'redis', url: 'redis://127.0.0.1:6379', key: 'team' },
          },
          b: { use: 'zhipu', endpoint: 'general', budget: { backend: 'memory', key: 'team' } },
        },
        routes: { a: { provider: 'a' }, b: { provider: 'b' } },
      },
      { providers: [zhipuLike], env: {} },
    );

    expect(resolved.route('a').budgetKey).toBe('team');
    expect(resolved.route('b').budgetKey).toBe('team');
    expect(resolved.route('a').budget?.backend).toBe('redis');
  });
});

describe('routes', () => {
  const providers = { z: { use: 'zhipu' } };
  const resolve = (config: Record<string, unknown>) =>
    resolveConfig({ providers, ...config }, { providers: [zhipuLike], env: {} });

  test('default route: defaultRoute, else "default", else the first', () => {
    const routes = {
      first: { provider: 'z' },
      default: { provider: 'z' },
      last: { provider: 'z' },
    };
    expect(resolve({ routes, defaultRoute: 'last' }).route().name).toBe('last');
    expect(resolve({ routes }).defaultRoute).toBe('default');
    expect(
      resolve({ routes: { one: { provider: 'z' }, two: { provider: 'z' } } }).route().name,
    ).toBe('one');
  });

  test('a catalog alias is sent as the catalog id, an unknown model as written', () => {
    const resolved = resolve({
      routes: {
        alias: { provider: 'z', model: 'glm-4.6-latest' },
        unknown: { provider: 'z', model: 'glm-5-preview' },
      },
    });

    expect(resolved.route('alias').model).toBe('glm-4.6');
    expect(resolved.route('alias').modelInfo?.contextWindow).toBe(200_000);
    expect(resolved.route('unknown').model).toBe('glm-5-preview');
    expect(resolved.route('unknown').modelInfo).toBeUndefined();
  });

  test('fallbacks are kept in order without duplicates', () => {
    const resolved = resolve({
      routes: {
        main: { provider: 'z', fallbacks: ['b', 'a', 'b'] },
        a: { provider: 'z' },
        b: { provider: 'z' },
      },
    });
    expect(resolved.route('main').fallbacks).toEqual(['b', 'a']);
  });

  test('route() with an unknown name throws a ConfigError naming the routes', () => {
    const resolved = resolve({ routes: { main: { provider: 'z' }, backup: { provider: 'z' } } });
    expect(() => resolved.route('mian')).toThrow(ConfigError);
    expect(() => resolved.route('mian')).toThrow(/"main", "backup"; did you mean "main"\?/);
  });

  test('a descriptor passed in providers matches its package name', () => {
    const resolved = resolveConfig(
      {
        providers: { a: { use: '@sluice/provider-zhipu' }, b: { use: 'sluice-provider-zhipu' } },
        routes: { a: { provider: 'a' }, b: { provider: 'b' } },
      },
      { providers: [zhipuLike], env: {} },
    );
    expect(resolved.route('a').provider).toBe(zhipuLike);
    expect(resolved.route('b').provider).toBe(zhipuLike);
  });
});

describe('openAICompatible custom provider', () => {
  test('an inline descriptor declares a provider without a package and routes to it', () => {
    const resolved = resolveConfig(
      defineConfig({
        providers: {
          local: {
            descriptor: openAICompatible({
              id: 'local-vllm',
              baseURL: 'http://127.0.0.1:8000/v1',
              apiKeyEnv: 'VLLM_KEY',
              models: ['qwen3-coder-30b'],
              maxConcurrency: 2,
              timeouts: { idleMs: 90_000 },
            }),
            retry: { maxAttempts: 1 },
          },
        },
        routes: { coder: { provider: 'local' } },
      }),
      { env: { VLLM_KEY: KEY } },
    );
    const route = resolved.route();

    expect(route).toMatchObject({
      name: 'coder',
      instance: 'local',
      model: 'qwen3-coder-30b',
      url: 'http://127.0.0.1:8000/v1/chat/completions',
      endpointName: 'default',
      apiKey: KEY,
      apiKeySource: 'env:VLLM_KEY',
      maxConcurrency: 2,
      budgetKey: `local:${sha12(KEY)}`,
    });
    expect(route.provider.id).toBe('local-vllm');
    expect(route.timeouts.idleMs).toBe(90_000);
    expect(route.retry.maxAttempts).toBe(1);
  });
});

describe('precedence, property-based', () => {
  test('each timeout field comes from the highest layer that sets it, else the Sluice default', () => {
    const fields = ['queueMs', 'headersMs', 'firstTokenMs', 'idleMs', 'totalMs'] as const;
    const layer = fc.record(
      Object.fromEntries(
        fields.map((field) => [field, fc.option(fc.nat(10_000_000), { nil: undefined })]),
      ),
    ) as unknown as fc.Arbitrary<Partial<Record<(typeof fields)[number], number>>>;
    const clean = (value: Record<string, number | undefined>) =>
      Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined));

    fc.assert(
      fc.property(layer, layer, layer, layer, (route, instance, global, descriptorLayer) => {
        const descriptor = defineProvider({
          id: 'p',
          endpoints: { main: 'https://p.example/v1' },
          defaultModel: 'm',
          timeouts: clean(descriptorLayer),
        });
        const resolved = resolveConfig(
          {
            timeouts: clean(global),
            providers: { i: { use: 'p', timeouts: clean(instance) } },
            routes: { r: { provider: 'i', timeouts: clean(route) } },
          },
          { providers: [descriptor], env: {} },
        ).route();

        for (const field of fields) {
          const expected =
            route[field] ??
            instance[field] ??
            global[field] ??
            descriptorLayer[field] ??
            DEFAULT_TIMEOUTS_MS[field];
          expect(resolved.timeouts[field]).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});

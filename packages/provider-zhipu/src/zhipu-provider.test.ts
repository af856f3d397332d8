import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import zhipuDefault, {
  createZhipuProvider,
  findZhipuModel,
  provider,
  type ZhipuProviderOptions,
} from './index.js';

describe('the zhipu descriptor', () => {
  it('is both the default and the named `provider` export', () => {
    expect(zhipuDefault).toBe(provider);
    expect(provider.id).toBe('zhipu');
  });

  it('answers to the GLM aliases', () => {
    expect(provider.aliases).toEqual(['zai', 'z.ai', 'glm', 'zhipuai', 'bigmodel']);
  });

  it('has the four public endpoints, coding by default, with the chat path', () => {
    expect(provider.endpoints).toEqual({
      coding: 'https://api.z.ai/api/coding/paas/v4',
      'coding-cn': 'https://open.bigmodel.cn/api/coding/paas/v4',
      general: 'https://api.z.ai/api/paas/v4',
      'general-cn': 'https://open.bigmodel.cn/api/paas/v4',
    });
    expect(provider.defaultEndpoint).toBe('coding');
    expect(provider.chatPath).toBe('/chat/completions');
    expect(provider.wireFormat).toBe('openai-chat');
  });

  it('reads the key from ZHIPU_API_KEY, ZAI_API_KEY, GLM_API_KEY and sends it as is', () => {
    expect(provider.auth.type).toBe('bearer');
    expect(provider.auth.envVars).toEqual(['ZHIPU_API_KEY', 'ZAI_API_KEY', 'GLM_API_KEY']);
    const credential = provider.auth.credential!;
    expect(credential('plain-key-0123456789', 0, { providerOptions: {} })).toBe(
      'plain-key-0123456789',
    );
  });

  it('caps in-flight requests at 3 and uses GLM-sized timeouts', () => {
    expect(provider.maxConcurrency).toBe(3);
    expect(provider.timeouts.headersMs).toBe(45_000);
    expect(provider.timeouts.totalMs).toBe(30 * 60_000);
    // Longer than GLM's silent thinking phases (90-120 s) with room to spare.
    expect(provider.timeouts.idleMs).toBeGreaterThanOrEqual(240_000);
  });

  it('wires the classifier, finish mapping and request transform', () => {
    expect(
      provider.classify?.({
        status: 429,
        headers: new Headers(),
        body: { error: { code: 1302, message: '' } },
        bodyText: '',
      })?.kind,
    ).toBe('rate-limit');
    expect(provider.mapFinishReason?.('sensitive')).toEqual({ reason: 'content-filter' });
    expect(
      provider.transformRequest?.({ temperature: 5 }, { model: 'glm-4.6', providerOptions: {} })
        .temperature,
    ).toBe(1);
  });
});

describe('createZhipuProvider', () => {
  it('signedToken: true turns id.secret keys into signed JWTs', () => {
    const signed = createZhipuProvider({ signedToken: true });
    const token = signed.auth.credential?.('abc.def-secret-value', 1_000, { providerOptions: {} });
    expect(token?.split('.')).toHaveLength(3);
    expect(token).not.toContain('def-secret-value');
  });

  it('providerOptions.signedToken: true (route config) turns it on for the default descriptor', () => {
    const credential = provider.auth.credential!;
    const token = credential('abc.def-secret-value', 1_000, {
      providerOptions: { signedToken: true },
    });
    expect(token.split('.')).toHaveLength(3);
    expect(token).not.toContain('def-secret-value');
    expect(credential('abc.def-secret-value', 1_000, { providerOptions: {} })).toBe(
      'abc.def-secret-value',
    );
  });

  it('overrides merge over the defaults', () => {
    const custom = createZhipuProvider({
      maxConcurrency: 1,
      timeouts: { idleMs: 600_000 },
      defaultEndpoint: 'general-cn',
    });
    expect(custom.maxConcurrency).toBe(1);
    expect(custom.timeouts).toEqual({ headersMs: 45_000, idleMs: 600_000, totalMs: 1_800_000 });
    expect(custom.defaultEndpoint).toBe('general-cn');
    expect(provider.timeouts.idleMs).not.toBe(600_000);
  });

  it('rejects a default endpoint that does not exist, naming the choices', () => {
    expect(() => createZhipuProvider({ defaultEndpoint: 'moon' })).toThrow(
      /moon.*coding, coding-cn/,
    );
  });
});

describe('the catalog', () => {
  const text = [
    'glm-4.5',
    'glm-4.5-air',
    'glm-4.6',
    'glm-4.7',
    'glm-5',
    'glm-5-turbo',
    'glm-5.1',
    'glm-5.2',
  ];

  it.each(text)('%s is a coding-plan text model with reasoning and tools', (id) => {
    const model = findZhipuModel(id);
    expect(model?.capabilities).toMatchObject({ reasoning: true, tools: true, vision: false });
    expect(model?.plans).toContain('coding');
    expect(model?.contextWindow).toBeGreaterThanOrEqual(128_000);
    expect(model?.maxOutputTokens).toBeLessThan(model?.contextWindow ?? 0);
  });

  it.each(['glm-4.5v', 'glm-4.6v'])('%s is a vision model', (id) => {
    expect(findZhipuModel(id)?.capabilities.vision).toBe(true);
  });

  it('GLM-4.6 has the 200K window that GLM-4.5 lacks', () => {
    expect(findZhipuModel('glm-4.6')?.contextWindow).toBe(204_800);
    expect(findZhipuModel('glm-4.5')?.contextWindow).toBe(131_072);
  });

  it('finds models case-insensitively and returns undefined for unknown ones', () => {
    expect(findZhipuModel('GLM-4.6')?.id).toBe('glm-4.6');
    expect(findZhipuModel('gpt-4o')).toBeUndefined();
  });
});

describe('createZhipuProvider validation', () => {
  it.each([Number.NaN, -1, 1.5])('C06: rejects maxConcurrency %s naming the field', (value) => {
    expect(() => createZhipuProvider({ maxConcurrency: value })).toThrow(/maxConcurrency/);
  });

  /** The ConfigError `options` get (and fails the test when there is none). */
  function rejectionOf(options: unknown): ConfigError {
    try {
      createZhipuProvider(options as ZhipuProviderOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected createZhipuProvider to throw');
  }

  it('the trial case: names every bad option of { signedTokenTtlMs: -5, bogus: 1, signedToken: "yes" }', () => {
    const error = rejectionOf({ signedTokenTtlMs: -5, bogus: 1, signedToken: 'yes' });
    expect(error.kind).toBe('config');
    expect(error.issues).toEqual([
      {
        path: 'bogus',
        message: 'unknown option',
        fix: 'use one of signedToken, signedTokenTtlMs, maxConcurrency, defaultEndpoint, endpoints, defaultModel, timeouts, retry, or remove it',
      },
      {
        path: 'signedToken',
        message: 'must be true or false',
        value: '"yes"',
        fix: 'write signedToken: true (or leave it out for the raw key)',
      },
      {
        path: 'signedTokenTtlMs',
        message: 'must be a whole number of ms >= 1',
        value: '-5',
        fix: 'write e.g. signedTokenTtlMs: 1_800_000 (30 min, the default), or leave it out',
      },
    ]);
    expect(error.message).toMatch(/^Invalid createZhipuProvider options: 3 problems\n/);
  });

  it('suggests the option a typo meant', () => {
    expect(rejectionOf({ signedTokenTTL: 60_000 }).issues[0]).toMatchObject({
      path: 'signedTokenTTL',
      message: 'unknown option; did you mean "signedTokenTtlMs"?',
    });
    expect(rejectionOf({ maxConcurency: 2 }).issues[0]?.message).toBe(
      'unknown option; did you mean "maxConcurrency"?',
    );
  });

  it.each([0, 1.5, Number.NaN, Infinity, '60000'])('rejects signedTokenTtlMs %s', (value) => {
    expect(rejectionOf({ signedTokenTtlMs: value }).issues).toMatchObject([
      { path: 'signedTokenTtlMs', message: 'must be a whole number of ms >= 1' },
    ]);
  });

  it('rejects endpoints that are not http(s) URLs, a bad defaultModel, non-object timeouts and retry', () => {
    const error = rejectionOf({
      endpoints: { proxy: 'glm.example.com' },
      defaultModel: '',
      timeouts: 5000,
      retry: 'never',
    });
    expect(error.issues.map((issue) => [issue.path, issue.message, issue.value])).toEqual([
      ['endpoints.proxy', 'must be an http(s) base URL', '"glm.…"'],
      ['defaultModel', 'must be a model id', '""'],
      ['timeouts', 'must be an object', '5000'],
      ['retry', 'must be an object', '"never"'],
    ]);
  });

  it('a defaultEndpoint that names no endpoint gets a did-you-mean and the choices', () => {
    expect(rejectionOf({ defaultEndpoint: 'codng' }).issues).toEqual([
      {
        path: 'defaultEndpoint',
        message: 'names no endpoint; did you mean "coding"?',
        value: '"codng"',
        fix: expect.stringMatching(/^write one of coding, coding-cn, .*, or add it to endpoints$/),
      },
    ]);
  });

  it('accepts every option set right, and a new endpoint as the default', () => {
    const descriptor = createZhipuProvider({
      signedToken: false,
      signedTokenTtlMs: 60_000,
      maxConcurrency: 2,
      endpoints: { proxy: 'http://127.0.0.1:9/api/paas/v4' },
      defaultEndpoint: 'proxy',
      defaultModel: 'glm-4.5',
      timeouts: { idleMs: 600_000 },
      retry: { maxAttempts: 2 },
    });
    expect(descriptor).toMatchObject({ defaultEndpoint: 'proxy', defaultModel: 'glm-4.5' });
  });

  it('providerOptions.signedToken from route config must be a boolean too', () => {
    const bearer = provider.auth.credential!;
    expect(() =>
      bearer('abc.def-secret-value', 1_000, { providerOptions: { signedToken: 'yes' } }),
    ).toThrow('providerOptions.signedToken must be true or false, got "yes".');
    expect(bearer('abc.def-secret-value', 1_000, { providerOptions: { signedToken: false } })).toBe(
      'abc.def-secret-value',
    );
  });
});

import { describe, expect, test } from 'vitest';
import { ConfigError } from '../config/config-error.js';
import { DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS_MS } from './defaults.js';
import { defineProvider } from './define-provider.js';
import { providerDescriptorSchema } from './provider-descriptor-schema.js';

function issuesOf(run: () => unknown): ConfigError['issues'] {
  try {
    run();
  } catch (error) {
    expect(ConfigError.isConfigError(error)).toBe(true);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('defineProvider', () => {
  test('fills every default of a minimal descriptor', () => {
    const descriptor = defineProvider({
      id: 'acme',
      endpoints: { main: 'https://api.acme.example/v1', eu: 'https://eu.acme.example/v1' },
    });

    expect(descriptor).toEqual({
      id: 'acme',
      displayName: 'acme',
      aliases: [],
      wireFormat: 'openai-chat',
      endpoints: { main: 'https://api.acme.example/v1', eu: 'https://eu.acme.example/v1' },
      defaultEndpoint: 'main',
      chatPath: '/chat/completions',
      auth: { type: 'bearer', envVars: [] },
      catalog: [],
      maxConcurrency: 0,
      budgetScope: 'instance',
      timeouts: {},
      retry: {},
    });
  });

  test('keeps functions and given values as they are', () => {
    const classify = () => ({ kind: 'rate-limit' as const });
    const descriptor = defineProvider({
      id: 'acme',
      displayName: 'Acme AI',
      endpoints: { main: 'https://api.acme.example/v1' },
      auth: { envVars: ['ACME_KEY', 'ACME_API_KEY'] },
      catalog: [
        { id: 'm1', contextWindow: 1000, maxOutputTokens: 100, capabilities: { tools: true } },
      ],
      maxConcurrency: 3,
      timeouts: { idleMs: 600_000 },
      classify,
    });

    expect(descriptor.classify).toBe(classify);
    expect(descriptor.displayName).toBe('Acme AI');
    expect(descriptor.auth.envVars).toEqual(['ACME_KEY', 'ACME_API_KEY']);
    expect(descriptor.catalog[0]?.capabilities).toEqual({ tools: true });
    expect(descriptor.timeouts).toEqual({ idleMs: 600_000 });
  });

  test('a parsed descriptor parses again to the same value', () => {
    const once = defineProvider({ id: 'acme', endpoints: { main: 'https://a.example/v1' } });
    expect(providerDescriptorSchema.parse(once)).toEqual(once);
  });

  test('reports every invalid field at once with its path and a fix', () => {
    const issues = issuesOf(() =>
      defineProvider({
        id: 'acme',
        endpoints: { main: 'ftp://files.example' },
        defaultEndpoint: 'eu',
        maxConcurrency: -1,
        timeouts: { idleMs: 1.5 },
        classify: 'by status' as never,
      }),
    );

    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'classify',
      'endpoints.main',
      'maxConcurrency',
      'timeouts.idleMs',
    ]);
    expect(issues.find((issue) => issue.path === 'maxConcurrency')).toMatchObject({
      value: '-1',
      message: 'must be >= 0',
    });
    expect(issues.find((issue) => issue.path === 'classify')?.message).toBe('must be a function');
    for (const issue of issues) expect(issue.fix.length).toBeGreaterThan(5);
  });

  test('rejects a default endpoint that names no endpoint, listing the names', () => {
    const issues = issuesOf(() =>
      defineProvider({
        id: 'acme',
        endpoints: { main: 'https://a.example' },
        defaultEndpoint: 'eu',
      }),
    );

    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('defaultEndpoint');
    expect(issues[0]?.message).toContain('main');
  });

  test('rejects an unknown key with a did-you-mean', () => {
    const issues = issuesOf(() =>
      defineProvider({
        id: 'acme',
        endpoints: { main: 'https://a.example' },
        maxConcurency: 2,
      } as never),
    );

    expect(issues).toEqual([
      {
        path: 'maxConcurency',
        message: 'unknown key; did you mean "maxConcurrency"?',
        value: '2',
        fix: 'rename it to "maxConcurrency"',
      },
    ]);
  });

  test('names the descriptor in the error message', () => {
    expect(() => defineProvider({ id: 'acme', endpoints: {} })).toThrow(
      /Invalid provider descriptor "acme": 1 problem\n {2}- endpoints: must name at least one endpoint/,
    );
  });
});

describe('default policies', () => {
  test('Sluice timeouts and retry defaults have the documented values', () => {
    expect(DEFAULT_TIMEOUTS_MS).toEqual({
      queueMs: 0,
      headersMs: 45_000,
      firstTokenMs: 0,
      idleMs: 300_000,
      totalMs: 1_800_000,
    });
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 20_000,
      maxServerWaitMs: 60_000,
      retryOn: ['rate-limit', 'overloaded', 'timeout', 'network', 'server'],
    });
    expect(Object.isFrozen(DEFAULT_TIMEOUTS_MS)).toBe(true);
  });
});

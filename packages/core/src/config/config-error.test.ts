import { describe, expect, test } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { defineProvider } from '../descriptor/define-provider.js';
import { openAICompatible } from '../descriptor/open-ai-compatible.js';
import { ConfigError } from './config-error.js';
import type { ConfigIssue } from './config-error.js';
import { resolveConfig } from './resolve-config.js';

const zhipuLike = defineProvider({
  id: 'zhipu',
  endpoints: {
    coding: 'https://open.bigmodel.cn/api/coding/paas/v4',
    general: 'https://open.bigmodel.cn/api/paas/v4',
  },
  auth: { type: 'bearer', envVars: ['ZHIPU_API_KEY'] },
  defaultModel: 'glm-4.6',
  maxConcurrency: 3,
});

const SECRET = 'sk-live-9f8e7d6c5b4a39281706';

function failure(config: unknown): ConfigError {
  try {
    resolveConfig(config, { providers: [zhipuLike], env: {} });
  } catch (error) {
    if (ConfigError.isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected resolveConfig to throw');
}

function issueAt(error: ConfigError, path: string): ConfigIssue {
  const issue = error.issues.find((item) => item.path === path);
  if (!issue)
    throw new Error(`no issue at ${path}; got ${error.issues.map((i) => i.path).join(', ')}`);
  return issue;
}

const validRoutes = { default: { provider: 'glm' } };

describe('ConfigError', () => {
  test('is a SluiceError of kind and phase config, never retryable', () => {
    const error = failure({ providers: {}, routes: {} });
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).toMatchObject({
      kind: 'config',
      phase: 'config',
      code: 'SLUICE_CONFIG',
      retryable: false,
    });
    expect(error.name).toBe('ConfigError');
  });

  test('lists every issue, one per line, with path, value and fix', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', maxConcurrency: -1, timeouts: { idleMs: 'long' } } },
      routes: validRoutes,
    });

    expect(error.message.split('\n')).toEqual([
      'Invalid Sluice config: 2 problems',
      '  - providers.glm.maxConcurrency: must be >= 0 (got -1). Fix: write a whole number >= 0, e.g. 3 (0 = no client-side cap; requests are still counted)',
      '  - providers.glm.timeouts.idleMs: must be a number, not a string (got "long"). Fix: write a whole number of milliseconds >= 0, e.g. 600000 (0 turns the deadline off)',
    ]);
    expect(error.toJSON().issues).toEqual(error.issues);
  });
});

describe('C06: maxConcurrency of NaN, -1 or 1.5 is rejected with the path of the field', () => {
  test.each([
    [Number.NaN, 'NaN', 'must be a number, not NaN'],
    [-1, '-1', 'must be >= 0'],
    [1.5, '1.5', 'must be a whole number'],
    [Number.POSITIVE_INFINITY, 'Infinity', 'must be a number, not Infinity'],
    ['3', '"3"', 'must be a number, not a string'],
  ])('C06: maxConcurrency %s', (value, shown, message) => {
    const error = failure({
      providers: { glm: { use: 'zhipu', maxConcurrency: value } },
      routes: validRoutes,
    });

    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({
      path: 'providers.glm.maxConcurrency',
      value: shown,
      message,
    });
    expect(error.message).toContain('providers.glm.maxConcurrency');
  });

  test('C06: all three at once on three instances are three issues', () => {
    const error = failure({
      providers: {
        a: { use: 'zhipu', maxConcurrency: Number.NaN },
        b: { use: 'zhipu', maxConcurrency: -1 },
        c: { use: 'zhipu', maxConcurrency: 1.5 },
      },
      routes: { default: { provider: 'a' } },
    });

    expect(error.issues.map((issue) => issue.path)).toEqual([
      'providers.a.maxConcurrency',
      'providers.b.maxConcurrency',
      'providers.c.maxConcurrency',
    ]);
  });
});

describe('every problem at once', () => {
  test('schema, reference and security problems in one error', () => {
    const error = failure({
      providers: {
        glm: { use: 'zhipu', maxConcurency: 3, endpoint: 'http://10.1.2.3/v4' },
        other: { use: '@acme/provider-nope' },
      },
      routes: {
        main: { provider: 'gml', fallbacks: ['backup', 'bakcup'] },
        backup: { provider: 'glm', retry: { maxAttempts: 0 } },
      },
      defaultRoute: 'mian',
      timeout: { idleMs: 1 },
    });

    expect(error.issues.map((issue) => issue.path)).toEqual([
      'defaultRoute',
      'providers.glm.endpoint',
      'providers.glm.maxConcurency',
      'providers.other.use',
      'routes.backup.retry.maxAttempts',
      'routes.main.fallbacks[1]',
      'routes.main.provider',
      'timeout',
    ]);
    expect(error.message.split('\n')).toHaveLength(9);
    expect(error.message).toMatch(/^Invalid Sluice config: 8 problems\n/);
  });
});

describe('unknown keys', () => {
  test('maxConcurency -> did you mean maxConcurrency', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', maxConcurency: 3 } },
      routes: validRoutes,
    });

    expect(issueAt(error, 'providers.glm.maxConcurency')).toEqual({
      path: 'providers.glm.maxConcurency',
      message: 'unknown key; did you mean "maxConcurrency"?',
      value: '3',
      fix: 'rename it to "maxConcurrency"',
    });
  });

  test('did-you-mean at every level: top, route, timeouts, budget', () => {
    const error = failure({
      providers: {
        glm: {
          use: 'zhipu',
          timeouts: { idelMs: 1 },
          budget: { backend: 'memory', scop: 'model' },
        },
      },
      routes: { default: { provider: 'glm', fallback: [] } },
      defaultRoue: 'default',
    });

    expect(issueAt(error, 'defaultRoue').fix).toBe('rename it to "defaultRoute"');
    expect(issueAt(error, 'routes.default.fallback').fix).toBe('rename it to "fallbacks"');
    expect(issueAt(error, 'providers.glm.timeouts.idelMs').fix).toBe('rename it to "idleMs"');
    expect(issueAt(error, 'providers.glm.budget.scop').fix).toBe('rename it to "scope"');
  });

  test('a key close to nothing lists the accepted keys', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu' } },
      routes: { default: { provider: 'glm', colour: 'red' } },
    });
    expect(issueAt(error, 'routes.default.colour')).toMatchObject({
      message: 'unknown key',
      fix: 'remove it; accepted keys here: provider, model, fallbacks, timeouts, retry, providerOptions',
    });
  });
});

describe('references', () => {
  test('a route naming an unknown provider instance lists the instances', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu' }, backup: { use: 'zhipu' } },
      routes: { default: { provider: 'gml' } },
    });

    expect(issueAt(error, 'routes.default.provider')).toMatchObject({
      message: 'names no provider instance; instances: "glm", "backup"; did you mean "glm"?',
      value: '"gml"',
    });
  });

  test('an unknown fallback of the only route says it is the only one', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu' } },
      routes: { default: { provider: 'glm', fallbacks: ['nope'] } },
    });
    const issue = issueAt(error, 'routes.default.fallbacks[0]');
    expect(issue.message).toBe('names no route; "default" is the only route');
    expect(issue.fix).toBe('add the route to fall back to under `routes`, or remove the fallback');
  });

  test('an unknown fallback route, a self fallback and an unknown defaultRoute are named', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu' } },
      routes: { a: { provider: 'glm', fallbacks: ['a', 'c'] }, b: { provider: 'glm' } },
      defaultRoute: 'z',
    });

    expect(issueAt(error, 'routes.a.fallbacks[0]').message).toBe('names the route itself');
    expect(issueAt(error, 'routes.a.fallbacks[1]').message).toBe(
      'names no route; other routes: "b"',
    );
    expect(issueAt(error, 'defaultRoute').message).toBe('names no route; routes: "a", "b"');
  });

  test('an unknown descriptor id lists the known ids with a did-you-mean', () => {
    const error = failure({ providers: { glm: { use: 'zhipuu' } }, routes: validRoutes });
    expect(issueAt(error, 'providers.glm.use').message).toBe(
      'names no known provider; known ids and aliases: "zhipu"; did you mean "zhipu"?',
    );
  });

  test('a package that is not installed says npm install <package>', () => {
    const error = failure({
      providers: { glm: { use: '@sluice/provider-moonshot' } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.use')).toMatchObject({
      message: expect.stringContaining(
        'provider package "@sluice/provider-moonshot" is not installed',
      ),
      fix: 'npm install @sluice/provider-moonshot',
    });
  });

  test('an unknown endpoint name lists the endpoints', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', endpoint: 'codng' } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.endpoint').message).toBe(
      'names no endpoint of "zhipu"; its endpoints: "coding", "general"; did you mean "coding"?',
    );
  });

  test('no use and no descriptor, and no routes at all', () => {
    const error = failure({ providers: { glm: {} }, routes: {} });
    expect(issueAt(error, 'providers.glm.use').fix).toContain('openAICompatible');
    expect(issueAt(error, 'routes').message).toBe('declares no route');
  });

  test('a route on a provider without a default model must name one', () => {
    const bare = openAICompatible({ id: 'bare', baseURL: 'https://bare.example/v1' });
    const error = failure({
      providers: { b: { descriptor: bare } },
      routes: { default: { provider: 'b' } },
    });
    expect(issueAt(error, 'routes.default.model').message).toBe(
      'is required: provider "bare" has no default model',
    );
  });

  test('an invalid inline descriptor reports under providers.<name>.descriptor', () => {
    const error = failure({
      providers: { b: { descriptor: { id: 'bad', endpoints: {}, maxConcurrency: 1.5 } } },
      routes: { default: { provider: 'b', model: 'm' } },
    });
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'providers.b.descriptor.endpoints',
      'providers.b.descriptor.maxConcurrency',
    ]);
  });
});

describe('insecure endpoints', () => {
  test.each([
    'http://10.0.0.5:8000/v1',
    'http://api.example.com/v1',
    'http://0.0.0.0:8000/v1',
    'http://127.0.0.1.evil.example/v1',
  ])('plain http to %s is refused with the fix', (endpoint) => {
    const error = failure({ providers: { glm: { use: 'zhipu', endpoint } }, routes: validRoutes });
    expect(issueAt(error, 'providers.glm.endpoint')).toMatchObject({
      message: expect.stringContaining('is not loopback'),
      fix: 'use https://, or set allowInsecure: true on this provider instance for a trusted network',
    });
  });

  test('an insecure descriptor endpoint is refused under the instance too', () => {
    const lan = openAICompatible({
      id: 'lan',
      baseURL: 'http://192.168.1.20:8000/v1',
      models: ['m'],
    });
    const error = failure({
      providers: { lan: { descriptor: lan } },
      routes: { default: { provider: 'lan' } },
    });
    expect(issueAt(error, 'providers.lan.descriptor').message).toContain(
      '192.168.1.20:8000 is not loopback',
    );
  });

  test('a non-http URL is not an endpoint', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', endpoint: 'ftp://x.example/v1' } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.endpoint').message).toBe('is not a valid http(s) URL');
  });
});

describe('secrets are masked', () => {
  function expectNoSecret(error: ConfigError): void {
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(JSON.stringify(error.issues)).not.toContain(SECRET);
    expect(String(error.stack)).not.toContain(SECRET);
  }

  test('a bad apiKey value is shown masked', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', apiKey: `env:${SECRET}-x` } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.apiKey').value).toBe('"env:…"');
    expectNoSecret(error);
  });

  test('a misspelt apiKey (apikey) holding a literal key is masked', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', apikey: SECRET } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.apikey')).toMatchObject({
      message: 'unknown key; did you mean "apiKey"?',
      value: '"sk-l…"',
    });
    expectNoSecret(error);
  });

  test('header values (authorization) are masked, whatever the problem', () => {
    const error = failure({
      providers: {
        glm: { use: 'zhipu', headers: { Authorization: `Bearer ${SECRET}`, 'x-n': 5 } },
      },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.headers.x-n').value).toBe('a number (hidden)');
    expectNoSecret(error);
  });

  test('a literal key next to other problems never leaks through any message', () => {
    const error = failure({
      providers: {
        glm: { use: 'zhipu', apiKey: SECRET, endpoint: SECRET, maxConcurrency: -1 },
        other: { use: SECRET },
      },
      routes: { default: { provider: SECRET } },
      defaultRoute: SECRET,
    });
    expect(error.issues.length).toBeGreaterThanOrEqual(4);
    expectNoSecret(error);
  });

  test('a redis URL password is hidden', () => {
    const error = failure({
      providers: {
        glm: {
          use: 'zhipu',
          budget: { backend: 'redis', url: 'redis://:hunter2pass@db:6379', x: 1 },
        },
      },
      routes: validRoutes,
    });
    expect(error.message).not.toContain('hunter2pass');
  });

  test('an apiKey that looks like an env var name suggests env:', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', apiKey: 'ZHIPU_API_KEY' } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.apiKey')).toMatchObject({
      message: 'looks like an env var name, but without "env:" it would be sent as the key itself',
    });
  });
});

describe('a missing choice', () => {
  test('a budget without backend says the field is required and lists the choices', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', budget: { scope: 'model' } } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.budget.backend')).toMatchObject({
      message: 'is required',
      fix: 'use one of: "memory", "redis"',
    });
  });
});

describe('an API key that fetch could not send', () => {
  test.each([
    ['a line break inside', 'sk-trial-SECRET\n-123456', 'a line break at position 16'],
    ['a non-ASCII character', 'sk-trial-SECRET-12345中', 'a non-ASCII character at position 22'],
    ['a space inside', 'sk-trial SECRET-123456', 'a space at position 9'],
  ])('%s is a config problem at load, with the key masked', (_name, apiKey, where) => {
    const error = failure({ providers: { glm: { use: 'zhipu', apiKey } }, routes: validRoutes });

    const issue = issueAt(error, 'providers.glm.apiKey');
    expect(issue.message).toBe(
      `contains a character that cannot be sent in an HTTP header (${where}, from apiKey)`,
    );
    expect(issue.fix).toMatch(/copy the key again/);
    expect(error.message).not.toContain('SECRET');
  });

  test('a key read from the environment says which variable it came from', () => {
    let caught: unknown;
    try {
      resolveConfig(
        { providers: { glm: { use: 'zhipu', apiKey: 'env:MY_KEY' } }, routes: validRoutes },
        { providers: [zhipuLike], env: { MY_KEY: 'sk-trial-\u0007SECRET-123456' } },
      );
    } catch (error) {
      caught = error;
    }
    const issue = issueAt(caught as ConfigError, 'providers.glm.apiKey');
    expect(issue.message).toContain('a control character at position 10, from env:MY_KEY');
    expect((caught as ConfigError).message).not.toContain('SECRET');
  });

  test('surrounding whitespace is still trimmed, not refused', () => {
    expect(() =>
      resolveConfig(
        {
          providers: { glm: { use: 'zhipu', apiKey: '  sk-trial-SECRET-123456\n' } },
          routes: validRoutes,
        },
        { providers: [zhipuLike], env: {} },
      ),
    ).not.toThrow();
  });
});

describe('shape problems read as plain words with a fix', () => {
  test('no config, or providers and routes missing or of the wrong type', () => {
    expect(failure(undefined).issues).toEqual([
      {
        path: '(root)',
        message: 'is required (expected an object)',
        fix: 'export an object: defineConfig({ providers: { ... }, routes: { ... } })',
      },
    ]);
    expect(failure({ providers: [], routes: 'x' }).issues).toMatchObject([
      { path: 'providers', message: 'must be an object, not an array', value: '[]' },
      { path: 'routes', message: 'must be an object, not a string', value: '"x"' },
    ]);
  });

  test('names with spaces or ":" are refused (":" separates budget key parts)', () => {
    const error = failure({
      providers: { 'my glm': { use: 'zhipu' }, 'a:b': { use: 'zhipu' } },
      routes: { default: { provider: 'my glm' } },
    });
    expect(issueAt(error, 'providers["my glm"]')).toMatchObject({
      message: 'is not a valid name: must not contain spaces or ":"',
      value: '"my glm"',
    });
    expect(issueAt(error, 'providers["a:b"]').fix).toBe("rename it: a name without spaces or ':'");
  });

  test('empty strings, a misspelt retry kind and a redis budget without url', () => {
    const error = failure({
      providers: {
        glm: {
          use: 'zhipu',
          retry: { retryOn: ['rate_limit'] },
          budget: { backend: 'redis' },
          endpoint: '',
        },
      },
      routes: { default: { provider: 'glm', model: '' } },
    });

    expect(issueAt(error, 'routes.default.model').message).toBe('must not be empty');
    expect(issueAt(error, 'providers.glm.endpoint').message).toBe('must not be empty');
    expect(issueAt(error, 'providers.glm.retry.retryOn[0]').message).toBe(
      'is not an accepted value; did you mean "rate-limit"?',
    );
    expect(issueAt(error, 'providers.glm.budget.url')).toMatchObject({
      message: 'is required for redis',
      fix: "write the Redis URL, e.g. 'redis://127.0.0.1:6379'",
    });
  });

  test('a descriptor that is not an object is one issue, not two', () => {
    const error = failure({ providers: { glm: { descriptor: 5 } }, routes: validRoutes });
    expect(error.issues).toEqual([
      {
        path: 'providers.glm.descriptor',
        message: 'must be a provider descriptor, e.g. openAICompatible({ ... })',
        value: '5',
        fix: 'write a provider descriptor, e.g. openAICompatible({ id, baseURL })',
      },
    ]);
  });

  test('baseDelayMs above maxDelayMs is reported once, where it was set', () => {
    const onInstance = failure({
      providers: { glm: { use: 'zhipu', retry: { baseDelayMs: 30_000 } } },
      routes: { default: { provider: 'glm' }, other: { provider: 'glm' } },
    });
    expect(onInstance.issues).toEqual([
      {
        path: 'providers.glm.retry.baseDelayMs',
        message: 'is above maxDelayMs (20000) once precedence is applied',
        value: '30000',
        fix: 'lower baseDelayMs or raise maxDelayMs',
      },
    ]);

    const global = failure({
      retry: { maxDelayMs: 100 },
      providers: { a: { use: 'zhipu' }, b: { use: 'zhipu' } },
      routes: { default: { provider: 'a' } },
    });
    expect(global.issues.map((issue) => issue.path)).toEqual(['retry.baseDelayMs']);
  });
});

describe('hardening', () => {
  test('header names and values that fetch would refuse are config errors', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', headers: { 'x team': 'a', 'x-ok': 'line\nbreak' } } },
      routes: validRoutes,
    });
    expect(error.issues.map((issue) => [issue.path, issue.message])).toEqual([
      ['providers.glm.headers.x-ok', 'must not contain line breaks'],
      [
        'providers.glm.headers["x team"]',
        "is not a valid name: a header name has only letters, digits and !#$%&'*+.^_`|~-",
      ],
    ]);
  });

  test('an endpoint URL with credentials is refused, the password never shown', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', endpoint: 'https://user:hunter2pass@proxy.example/v4' } },
      routes: validRoutes,
    });
    expect(issueAt(error, 'providers.glm.endpoint').message).toBe(
      'carries credentials in the URL (user:password@)',
    );
    expect(error.message).not.toContain('hunter2pass');
  });

  test('an endpoint with credentials shows no secret of its query, nor a key from env (trial: key in the query of a user:pass@ URL)', () => {
    const key = 'sk-trial-SECRET-987654';
    const endpoint = `http://user:${key}@127.0.0.1:18090/p400?api_key=${key}&token=zz-other-SECRET-111222&region=eu`;
    let error: ConfigError | undefined;
    try {
      resolveConfig(
        {
          providers: { x: { use: 'zhipu', endpoint, apiKey: 'env:TRIAL_KEY' } },
          routes: { default: { provider: 'x', model: 'glm-4.6' } },
        },
        { providers: [zhipuLike], env: { TRIAL_KEY: key } },
      );
    } catch (caught) {
      if (ConfigError.isConfigError(caught)) error = caught;
    }
    expect(error).toBeDefined();
    const issue = issueAt(error!, 'providers.x.endpoint');
    expect(issue.message).toBe('carries credentials in the URL (user:password@)');
    const shown = [error!.message, JSON.stringify(error!.issues), error!.stack ?? ''].join('\n');
    expect(shown).not.toContain('SECRET-987654');
    expect(shown).not.toContain('zz-other-SECRET-111222');
    // What is not secret stays readable, so the user can find the URL they wrote.
    expect(issue.value).toContain('127.0.0.1:18090/p400?api_key=***&token=***&region=eu');
  });

  test('a key pasted into a field that is not a secret is masked there too (trial: key in endpoint, use, provider)', () => {
    const key = 'sk-ext-SECRET-555666';
    const zhipuKey = '0123456789abcdef0123456789abcdef.AbCdEfGhIjKl0123';
    const error = failure({
      providers: {
        a: { use: 'zhipu', endpoint: key },
        b: { use: zhipuKey },
      },
      routes: { default: { provider: key, model: 'glm-4.6' }, other: { provider: 'a' } },
    });
    const shown = [error.message, JSON.stringify(error.issues), error.stack ?? ''].join('\n');
    expect(shown).not.toContain('SECRET-555666');
    expect(shown).not.toContain('AbCdEfGhIjKl0123');
    expect(shown).not.toContain('0123456789abcdef0123');
    expect(issueAt(error, 'providers.a.endpoint').value).toBe('"sk-e…"');
    expect(issueAt(error, 'providers.b.use').value).toBe('"0123…"');
    expect(issueAt(error, 'routes.default.provider').value).toBe('"sk-e…"');
  });

  test('names and model ids that only look long are shown as written', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu', endpoint: 'qwen2.5-coder-32b-instruct-20250101' } },
      routes: { default: { provider: 'Meta-Llama-3.1-70B-Instruct', model: 'glm-4.6' } },
    });
    expect(issueAt(error, 'providers.glm.endpoint').value).toBe(
      '"qwen2.5-coder-32b-instruct-20250101"',
    );
    expect(issueAt(error, 'routes.default.provider').value).toBe('"Meta-Llama-3.1-70B-Instruct"');
  });

  test('a route naming a descriptor id instead of an instance is told how to declare it', () => {
    const error = failure({
      providers: { glm: { use: 'zhipu' } },
      routes: { default: { provider: 'zhipu' } },
    });
    expect(issueAt(error, 'routes.default.provider').fix).toBe(
      "name a key of `providers`, or declare the instance: providers: { zhipu: { use: 'zhipu' } }",
    );
  });

  test('a hand-written descriptor passed to resolveConfig is checked and completed', () => {
    const handWritten = { id: 'raw', endpoints: { main: 'https://raw.example/v1' } };
    const route = resolveConfig(
      { providers: { r: { use: 'raw' } }, routes: { default: { provider: 'r', model: 'm' } } },
      { providers: [handWritten as never], env: {} },
    ).route();
    expect(route.url).toBe('https://raw.example/v1/chat/completions');
    expect(route.provider.aliases).toEqual([]);

    let error: unknown;
    try {
      resolveConfig(
        { providers: { r: { use: 'raw' } }, routes: { default: { provider: 'r', model: 'm' } } },
        { providers: [{ id: 'raw', endpoints: {}, maxConcurrency: -2 } as never], env: {} },
      );
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual([
      'providers.r.use',
      'resolveOptions.providers[0].endpoints',
      'resolveOptions.providers[0].maxConcurrency',
    ]);
  });

  test('a $schema key is accepted in JSON configs', () => {
    expect(() =>
      resolveConfig(
        {
          $schema: './sluice.schema.json',
          providers: { glm: { use: 'zhipu' } },
          routes: validRoutes,
        },
        { providers: [zhipuLike], env: {} },
      ),
    ).not.toThrow();
  });
});

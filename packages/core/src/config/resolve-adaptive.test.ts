import { describe, expect, test } from 'vitest';
import { defineProvider } from '../descriptor/define-provider.js';
import { ConfigError } from './config-error.js';
import { resolveConfig } from './resolve-config.js';

const glmLike = defineProvider({
  id: 'zhipu',
  endpoints: { coding: 'https://open.bigmodel.cn/api/coding/paas/v4' },
  auth: { type: 'bearer', envVars: ['ZHIPU_API_KEY'] },
  defaultModel: 'glm-4.6',
  maxConcurrency: 3,
});

function resolve(instance: Record<string, unknown>) {
  return resolveConfig(
    {
      providers: { glm: { use: 'zhipu', apiKey: 'k', ...instance } },
      routes: { default: { provider: 'glm' } },
    },
    { providers: [glmLike], env: {} },
  );
}

function issues(instance: Record<string, unknown>) {
  try {
    resolve(instance);
  } catch (error) {
    if (ConfigError.isConfigError(error)) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('providers.<x>.adaptive', () => {
  test('is off unless the instance opts in', () => {
    expect(resolve({}).route().adaptive).toBeUndefined();
  });

  test('defaults: min 1, max = maxConcurrency, factor 0.5, increaseAfter = the current limit', () => {
    expect(resolve({ maxConcurrency: 10, adaptive: {} }).route().adaptive).toEqual({
      min: 1,
      max: 10,
      increaseAfter: undefined,
      decreaseFactor: 0.5,
    });
    // The descriptor's maxConcurrency (3) when the instance does not set one.
    expect(resolve({ adaptive: { min: 2 } }).route().adaptive?.max).toBe(3);
  });

  test('keeps what is written and reaches the instance and every route on it', () => {
    const config = resolve({
      maxConcurrency: 10,
      adaptive: { min: 2, max: 8, increaseAfter: 4, decreaseFactor: 0.7 },
    });
    const expected = { min: 2, max: 8, increaseAfter: 4, decreaseFactor: 0.7 };
    expect(config.route().adaptive).toEqual(expected);
    expect(config.instances.get('glm')?.adaptive).toEqual(expected);
  });

  test.each([
    [{ min: 0 }, 'providers.glm.adaptive.min'],
    [{ min: 1.5 }, 'providers.glm.adaptive.min'],
    [{ max: -1 }, 'providers.glm.adaptive.max'],
    [{ increaseAfter: 0 }, 'providers.glm.adaptive.increaseAfter'],
    [{ decreaseFactor: 1 }, 'providers.glm.adaptive.decreaseFactor'],
    [{ decreaseFactor: 0 }, 'providers.glm.adaptive.decreaseFactor'],
    [{ decreaseFactor: '0.5' }, 'providers.glm.adaptive.decreaseFactor'],
  ])('rejects %o naming %s', (adaptive, path) => {
    const found = issues({ adaptive });
    expect(found.map((issue) => issue.path)).toContain(path);
    expect(found.find((issue) => issue.path === path)?.fix).toBeTruthy();
  });

  test('rejects an unknown key with its path', () => {
    const found = issues({ adaptive: { minimum: 1 } });
    expect(found.map((issue) => issue.path).join(' ')).toContain('providers.glm.adaptive');
  });

  test('rejects min above max, and above maxConcurrency when max is not written', () => {
    expect(issues({ adaptive: { min: 5, max: 4 } })[0]).toMatchObject({
      path: 'providers.glm.adaptive.min',
      message: 'must be <= max (4)',
    });
    expect(issues({ maxConcurrency: 2, adaptive: { min: 3 } })[0]).toMatchObject({
      path: 'providers.glm.adaptive.min',
      message: 'must be <= maxConcurrency (2)',
    });
  });

  test('needs max when maxConcurrency is 0 (no cap)', () => {
    const [issue] = issues({ maxConcurrency: 0, adaptive: { min: 1 } });
    expect(issue?.path).toBe('providers.glm.adaptive.max');
    expect(issue?.message).toMatch(/required when maxConcurrency is 0/);
    expect(resolve({ maxConcurrency: 0, adaptive: { max: 10 } }).route().adaptive?.max).toBe(10);
  });
});

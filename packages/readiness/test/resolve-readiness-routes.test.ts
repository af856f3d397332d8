import { describe, expect, it } from 'vitest';
import { projectReadiness, resolveReadinessRoutes } from '../src/index.js';
import { SECRET_KEY, testDescriptor } from './support/make-route.js';

const providers = [testDescriptor()];
const env = { ZHIPU_API_KEY: SECRET_KEY };

describe('resolveReadinessRoutes (through core resolveConfig)', () => {
  it('resolves a sound config into routes with budget keys and no problems', () => {
    const result = resolveReadinessRoutes({
      config: {
        providers: { glm: { use: 'zhipu' } },
        routes: { default: { provider: 'glm', model: 'glm-4.6' } },
      },
      providers,
      env,
    });
    expect(result.problems).toEqual([]);
    expect(result.defaultRoute).toBe('default');
    expect(result.routes.map((route) => [route.name, route.instance, route.model])).toEqual([
      ['default', 'glm', 'glm-4.6'],
    ]);
    expect(result.routes[0]?.budgetKey).not.toContain(SECRET_KEY);
  });

  it('a route naming a missing instance is invalid and names it; the others still resolve', () => {
    const snapshot = projectReadiness({
      routes: {
        config: {
          providers: { glm: { use: 'zhipu' } },
          routes: {
            default: { provider: 'glm', model: 'glm-4.6', fallbacks: ['fast'] },
            fast: { provider: 'glmm', model: 'glm-4.5-air' },
          },
        },
        providers,
        env,
      },
      now: 1_750_000_000_000,
    });
    expect(snapshot.routes.map((route) => [route.name, route.state])).toEqual([
      ['default', 'not-checked'],
      ['fast', 'invalid-route'],
    ]);
    const fast = snapshot.routes[1]!;
    expect(fast.reason).toContain('routes.fast.provider');
    expect(fast.reason).toContain('"glmm"');
    expect(fast.fix).toMatch(/^routes\.fast\.provider: /);
  });

  it('a broken provider instance makes each of its routes invalid', () => {
    const result = resolveReadinessRoutes({
      config: {
        providers: { glm: { use: 'zhipu' }, bad: { use: 'nope-provider' } },
        routes: {
          default: { provider: 'glm', model: 'glm-4.6' },
          a: { provider: 'bad', model: 'x' },
          b: { provider: 'bad', model: 'y' },
        },
      },
      providers,
      env,
    });
    expect(result.routes.map((route) => route.name)).toEqual(['default']);
    expect(result.problems.map((problem) => problem.route)).toEqual(['a', 'b']);
    expect(result.soundConfig).toEqual({
      providers: { glm: { use: 'zhipu' } },
      routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    });
    expect(result.problems[0]?.message).toMatch(
      /^provider instance "bad" is invalid: providers\.bad/,
    );
  });

  it('a missing key is not a config problem: the route shows missing-credential', () => {
    const snapshot = projectReadiness({
      routes: {
        config: {
          providers: { glm: { use: 'zhipu' } },
          routes: { default: { provider: 'glm', model: 'glm-4.6' } },
        },
        providers,
        env: {},
      },
    });
    expect(snapshot.routes[0]?.state).toBe('missing-credential');
    expect(snapshot.routes[0]?.reason).toContain('ZHIPU_API_KEY, ZAI_API_KEY');
  });

  it('a config-wide problem is thrown as the ConfigError it is', () => {
    expect(() =>
      resolveReadinessRoutes({ config: { providers: {}, routes: {}, timeoutz: {} }, providers }),
    ).toThrow(/timeoutz/);
  });
});

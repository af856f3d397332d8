import { SluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { READINESS_STATE_PRECEDENCE, projectReadiness, type RouteReadiness } from '../src/index.js';
import {
  SECRET_KEY,
  eventsFor,
  fixedBudget,
  makeRoute,
  testDescriptor,
} from './support/make-route.js';

const T0 = 1_750_000_000_000;

function only(routes: RouteReadiness[], name = 'default'): RouteReadiness {
  const route = routes.find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no route ${name} in snapshot`);
  return route;
}

describe('static states (from config alone)', () => {
  it('a resolved route with a key and a catalog model is not-checked until something finishes', () => {
    const snapshot = projectReadiness({ routes: [makeRoute()], now: T0 });
    const route = only(snapshot.routes);
    expect(route.state).toBe('not-checked');
    expect(route.fix).toMatch(/--probe/);
    expect(route.catalog).toEqual({
      modelId: 'glm-4.6',
      displayName: 'GLM-4.6',
      contextWindow: 200_000,
      maxOutputTokens: 128_000,
      capabilities: { reasoning: true, tools: true, vision: false, streaming: true },
    });
    expect(route.budget).toMatchObject({ key: 'glm:a1b2c3d4e5f6', limit: 3, active: 0, queued: 0 });
    expect(route.endpoint).toBe('https://open.bigmodel.cn/api/coding/paas/v4/chat/completions');
  });

  it('invalid-route names the broken reference and the config path', () => {
    const snapshot = projectReadiness({
      routes: [makeRoute()],
      problems: [
        {
          route: 'fast',
          message: 'provider instance "glmm" is not declared',
          reference: 'glmm',
          path: 'routes.fast.provider',
        },
      ],
      now: T0,
    });
    const route = only(snapshot.routes, 'fast');
    expect(route.state).toBe('invalid-route');
    expect(route.reason).toBe('provider instance "glmm" is not declared');
    expect(route.fix).toBe(
      'Fix "glmm" at routes.fast.provider: declare it or name an existing one.',
    );
    expect(route.instance).toBeNull();
    expect(route.budget).toBeNull();
    expect(only(snapshot.routes).state).toBe('not-checked');
  });

  it('missing-credential names every env var that was tried', () => {
    const route = makeRoute({
      apiKey: undefined,
      apiKeySource: undefined,
      apiKeyEnvTried: ['ZHIPU_API_KEY', 'ZAI_API_KEY'],
    });
    const result = only(projectReadiness({ routes: [route], now: T0 }).routes);
    expect(result.state).toBe('missing-credential');
    expect(result.reason).toBe(
      'No API key for provider instance "glm" (env vars tried: ZHIPU_API_KEY, ZAI_API_KEY).',
    );
    expect(result.fix).toMatch(/^Set ZHIPU_API_KEY in the environment/);
  });

  it('a provider without auth needs no credential', () => {
    const route = makeRoute({
      apiKey: undefined,
      provider: testDescriptor({ auth: { type: 'none', envVars: [] }, catalog: [] }),
      modelInfo: undefined,
    });
    expect(only(projectReadiness({ routes: [route], now: T0 }).routes).state).toBe('not-checked');
  });

  it('model-not-in-catalog lists catalog models in the fix', () => {
    const route = makeRoute({ model: 'glm-9', modelInfo: undefined });
    const result = only(projectReadiness({ routes: [route], now: T0 }).routes);
    expect(result.state).toBe('model-not-in-catalog');
    expect(result.reason).toBe('Model "glm-9" is not in the catalog of Zhipu GLM (zhipu).');
    expect(result.fix).toContain('glm-4.6, glm-4.5-air');
    expect(result.catalog).toBeNull();
  });

  it('an empty catalog (custom OpenAI-compatible provider) is not a catalog problem', () => {
    const route = makeRoute({ provider: testDescriptor({ catalog: [] }), modelInfo: undefined });
    expect(only(projectReadiness({ routes: [route], now: T0 }).routes).state).toBe('not-checked');
  });
});

describe('live states (from recorded event sequences)', () => {
  it('ready after a success, with TTFT and lease-wait percentiles from the window', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [
      ...ev.success(T0, { ttftMs: 100, waitedMs: 0 }),
      ...ev.success(T0 + 1000, { ttftMs: 200, waitedMs: 40 }),
      ...ev.success(T0 + 2000, { ttftMs: 900, waitedMs: 500 }),
    ];
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 5000 }).routes);
    expect(result.state).toBe('ready');
    expect(result.fix).toBeNull();
    expect(result.recent).toMatchObject({
      requests: 3,
      successes: 3,
      failures: 0,
      ttftP50Ms: 200,
      ttftP95Ms: 900,
      lastSuccessAt: T0 + 2400,
      lastError: null,
    });
    expect(result.budget).toMatchObject({ leaseWaitP50Ms: 40, leaseWaitP95Ms: 500, active: 0 });
    expect(result.reason).toBe('Last request succeeded 2.6 s ago.');
  });

  it('degraded while a cooldown is active, with the remaining time; ready again after it', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [...ev.success(T0), ev.cooldown(T0 + 1000, T0 + 13_000, 'rate limit 1302')];

    const during = only(projectReadiness({ routes: [route], events, now: T0 + 3000 }).routes);
    expect(during.state).toBe('degraded');
    expect(during.budget?.cooldownRemainingMs).toBe(10_000);
    expect(during.budget?.cooldownReason).toBe('rate limit 1302');
    expect(during.reason).toContain('for another 10 s (rate limit 1302)');
    expect(during.fix).toContain('providers.glm.maxConcurrency (now 3)');

    const after = only(
      projectReadiness({ routes: [route], events, now: T0 + 14_000 + 60_000 }).routes,
    );
    expect(after.state).toBe('ready');
    expect(after.budget?.cooldownRemainingMs).toBe(0);
  });

  it('degraded when the live budget queue is saturated (queued >= limit)', () => {
    const route = makeRoute();
    const budgets = [fixedBudget(route.budgetKey, { limit: 3, active: 3, pending: 3 })];
    const result = only(projectReadiness({ routes: [route], budgets, now: T0 }).routes);
    expect(result.state).toBe('degraded');
    expect(result.reason).toBe(
      'Queue saturated: 3 requests wait for 3 slots of glm:a1b2c3d4e5f6 (3 in flight).',
    );
    expect(result.budget).toMatchObject({ backend: 'memory', active: 3, limit: 3, queued: 3 });

    const calm = [fixedBudget(route.budgetKey, { limit: 3, active: 3, pending: 2 })];
    expect(only(projectReadiness({ routes: [route], budgets: calm, now: T0 }).routes).state).toBe(
      'not-checked',
    );
  });

  it('reasons say one request, slot, signal in the singular', () => {
    const route = makeRoute({ maxConcurrency: 1 });
    const budgets = [fixedBudget(route.budgetKey, { limit: 1, active: 1, pending: 1 })];
    const queued = only(projectReadiness({ routes: [route], budgets, now: T0 }).routes);
    expect(queued.reason).toBe(
      'Queue saturated: 1 request waits for 1 slot of glm:a1b2c3d4e5f6 (1 in flight).',
    );

    const signals = eventsFor(route).rateLimitedThenOk(T0);
    const degraded = only(
      projectReadiness({ routes: [route], events: signals, now: T0 + 10 }).routes,
    );
    expect(degraded.reason).toBe('1 rate-limit signal, provider code 1302 in the last 1 min.');

    const failed = eventsFor(route).failure(T0, 'rate-limit', { status: 429 });
    const failing = only(
      projectReadiness({ routes: [route], events: failed, now: T0 + 10, failingStreak: 1 }).routes,
    );
    expect(failing.reason).toMatch(/^The last request failed \(rate-limit\)/);
  });

  it('a live budget cooldown (set by the router on the budget) also degrades the route', () => {
    const route = makeRoute();
    const budgets = [
      fixedBudget(route.budgetKey, { limit: 3, active: 0, pending: 0, cooldownUntil: T0 + 4500 }),
    ];
    const result = only(projectReadiness({ routes: [route], budgets, now: T0 }).routes);
    expect(result.state).toBe('degraded');
    expect(result.budget?.cooldownRemainingMs).toBe(4500);
  });

  it('degraded after recent rate limits (1302) even when the retries succeeded', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [...ev.rateLimitedThenOk(T0), ...ev.rateLimitedThenOk(T0 + 100)];
    const recent = only(projectReadiness({ routes: [route], events, now: T0 + 2000 }).routes);
    expect(recent.state).toBe('degraded');
    expect(recent.reason).toBe('2 rate-limit signals, provider code 1302 in the last 1 min.');
    // Both requests succeeded on their retry: no failed request, two failed attempts.
    expect(recent.recent.failuresByKind).toEqual({});
    expect(recent.recent.failedAttemptsByKind).toEqual({ 'rate-limit': 2 });

    const later = only(projectReadiness({ routes: [route], events, now: T0 + 70_000 }).routes);
    expect(later.state).toBe('ready');
  });

  it('one rate-limited failure is degraded; three in a row are failing', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const one = ev.failure(T0, 'rate-limit', { retries: 3, providerCode: '1302', status: 429 });
    const first = only(projectReadiness({ routes: [route], events: one, now: T0 + 100 }).routes);
    expect(first.state).toBe('degraded');
    expect(first.recent.failuresByKind).toEqual({ 'rate-limit': 1 });
    expect(first.recent.failedAttemptsByKind).toEqual({ 'rate-limit': 4 });

    const three = [
      ...one,
      ...ev.failure(T0 + 10, 'rate-limit', { providerCode: '1302', status: 429 }),
      ...ev.failure(T0 + 20, 'rate-limit', { providerCode: '1302', status: 429 }),
    ];
    const result = only(projectReadiness({ routes: [route], events: three, now: T0 + 100 }).routes);
    expect(result.state).toBe('failing');
    expect(result.reason).toMatch(/^The last 3 requests failed \(rate-limit\)/);
    expect(result.fix).toContain('Lower providers.glm.maxConcurrency (now 3)');
  });

  it('a 404 read as an unknown model also points at the endpoint, without its credentials', () => {
    const route = {
      ...makeRoute(),
      url: 'https://user:pw@glm.example/wrong/chat/completions?key=k1',
    };
    const ev = eventsFor(route as never);
    const events = ev.failure(T0, 'model-not-found', { status: 404, message: 'HTTP 404' });
    const result = only(
      projectReadiness({ routes: [route as never], events, now: T0 + 100 }).routes,
    );
    expect(result.state).toBe('failing');
    expect(result.fix).toContain('Check routes.default.model');
    expect(result.fix).toContain(
      'check the endpoint of providers.glm (https://glm.example/wrong/chat/completions?key=',
    );
    expect(result.fix).toContain('a wrong path also answers 404');
    expect(result.fix).not.toContain('pw@');
    expect(result.fix).not.toContain('key=k1');
  });

  it('failing names the kind, the last error and a kind-specific fix', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [
      ...ev.success(T0),
      ...ev.failure(T0 + 1000, 'auth', { status: 401, message: 'The API key was rejected (401).' }),
    ];
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 2000 }).routes);
    expect(result.state).toBe('failing');
    expect(result.reason).toBe('The last request failed (auth): The API key was rejected (401).');
    expect(result.fix).toContain('env:ZHIPU_API_KEY');
    expect(result.recent.lastError).toEqual({
      kind: 'auth',
      code: 'SLUICE_AUTH',
      message: 'The API key was rejected (401).',
      status: 401,
      providerCode: null,
      at: T0 + 1001,
    });
    expect(result.recent.lastSuccessAt).toBe(T0 + 400);
  });

  it('a success after failures turns the route ready again', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [...ev.failure(T0, 'network'), ...ev.success(T0 + 1000)];
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 2000 }).routes);
    expect(result.state).toBe('ready');
    expect(result.recent).toMatchObject({ successes: 1, failures: 1 });
    expect(result.recent.failuresByKind).toEqual({ network: 1 });
    expect(result.recent.failedAttemptsByKind).toEqual({ network: 1 });
  });

  it('failures by kind count failed requests, as failures does; retried attempts are apart', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [
      ...ev.failure(T0, 'network', { retries: 3 }),
      ...ev.failure(T0 + 10, 'network', { retries: 3 }),
      ...ev.failure(T0 + 20, 'timeout'),
      ...ev.rateLimitedThenOk(T0 + 30),
    ];
    const { recent } = only(projectReadiness({ routes: [route], events, now: T0 + 2000 }).routes);
    expect(recent).toMatchObject({ requests: 4, successes: 1, failures: 3 });
    expect(recent.failuresByKind).toEqual({ network: 2, timeout: 1 });
    expect(recent.failedAttemptsByKind).toEqual({ network: 8, timeout: 1, 'rate-limit': 1 });
  });

  it('cancelled requests are neither successes nor failures', () => {
    const route = makeRoute();
    const events = eventsFor(route).cancelled(T0);
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 10 }).routes);
    expect(result.state).toBe('not-checked');
    expect(result.recent.requests).toBe(0);
  });

  it('a fallback counts as a failed attempt of the route it left', () => {
    const primary = makeRoute({ name: 'primary', fallbacks: ['backup'] });
    const backup = makeRoute({ name: 'backup', budgetKey: 'other:000' });
    const result = projectReadiness({
      routes: [primary, backup],
      events: [
        {
          type: 'fallback',
          from: 'primary',
          to: 'backup',
          kind: 'overloaded',
          requestId: 'x',
          route: 'primary',
          instance: 'glm',
          providerId: 'zhipu',
          budgetKey: primary.budgetKey,
          time: T0,
        },
      ],
      now: T0 + 10,
    });
    // The request did not fail on primary (it moved on), so it is an attempt, not a failure.
    expect(only(result.routes, 'primary').recent.failuresByKind).toEqual({});
    expect(only(result.routes, 'primary').recent.failedAttemptsByKind).toEqual({ overloaded: 1 });
    expect(only(result.routes, 'primary').state).toBe('degraded');
    expect(only(result.routes, 'backup').recent.failedAttemptsByKind).toEqual({});
  });

  it('in-flight and queued are counted from telemetry when no budget object is given', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const base = {
      route: route.name,
      instance: route.instance,
      providerId: 'zhipu',
      budgetKey: route.budgetKey,
    };
    const events = [
      {
        ...base,
        requestId: 'a',
        type: 'lease-acquired' as const,
        attempt: 1,
        waitedMs: 0,
        time: T0,
      },
      {
        ...base,
        requestId: 'b',
        type: 'lease-acquired' as const,
        attempt: 1,
        waitedMs: 0,
        time: T0,
      },
      ev.queued(T0 + 1, 'c'),
    ];
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 5 }).routes);
    expect(result.budget).toMatchObject({ backend: 'events', active: 2, queued: 1, limit: 3 });
  });

  it('windows stay bounded however many requests were seen', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = Array.from({ length: 500 }, (_, i) => ev.success(T0 + i * 10)).flat();
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 6000 }).routes);
    expect(result.recent.requests).toBe(200);
  });
});

describe('precedence', () => {
  it('is the documented order', () => {
    expect(READINESS_STATE_PRECEDENCE).toEqual([
      'invalid-route',
      'missing-credential',
      'failing',
      'degraded',
      'ready',
      'model-not-in-catalog',
      'not-checked',
    ]);
  });

  it('missing-credential wins over failing evidence', () => {
    const route = makeRoute({ apiKey: undefined, apiKeyEnvTried: ['ZHIPU_API_KEY'] });
    const events = eventsFor(route).failure(T0, 'auth');
    expect(only(projectReadiness({ routes: [route], events, now: T0 }).routes).state).toBe(
      'missing-credential',
    );
  });

  it('failing wins over an active cooldown', () => {
    const route = makeRoute();
    const ev = eventsFor(route);
    const events = [ev.cooldown(T0, T0 + 30_000), ...ev.failure(T0 + 1, 'server')];
    expect(only(projectReadiness({ routes: [route], events, now: T0 + 10 }).routes).state).toBe(
      'failing',
    );
  });

  it('a success on a model outside the catalog shows ready, and says the catalog lacks it', () => {
    const route = makeRoute({ model: 'glm-9', modelInfo: undefined });
    const events = eventsFor(route).success(T0);
    const result = only(projectReadiness({ routes: [route], events, now: T0 + 1000 }).routes);
    expect(result.state).toBe('ready');
    expect(result.reason).toContain('"glm-9" is not in the catalog');
  });
});

describe('providers and secrets', () => {
  it('routes on one budget key share one provider gauge', () => {
    const a = makeRoute({ name: 'a' });
    const b = makeRoute({ name: 'b', model: 'glm-4.5-air', modelInfo: undefined });
    const other = makeRoute({ name: 'c', instance: 'zai', budgetKey: 'zai:ffff' });
    const snapshot = projectReadiness({ routes: [a, b, other], now: T0, defaultRoute: 'b' });
    expect(snapshot.defaultRoute).toBe('b');
    expect(snapshot.routes.map((route) => route.isDefault)).toEqual([false, true, false]);
    expect(snapshot.providers.map((p) => [p.key, p.instance, p.routes])).toEqual([
      ['glm:a1b2c3d4e5f6', 'glm', ['a', 'b']],
      ['zai:ffff', 'zai', ['c']],
    ]);
  });

  it('no key value appears anywhere, even when a provider echoed it in an error message', () => {
    const route = makeRoute({
      url: `https://user:${SECRET_KEY}@proxy.example/v4/chat/completions?api_key=${SECRET_KEY}&v=2`,
    });
    const events = eventsFor(route).failure(T0, 'auth', {
      message: `Invalid key ${SECRET_KEY} for this endpoint`,
    });
    const snapshot = projectReadiness({ routes: [route], events, now: T0 + 5 });
    const text = JSON.stringify(snapshot);
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain(SECRET_KEY.slice(4));
    const result = only(snapshot.routes);
    expect(result.endpoint).toBe(
      'https://proxy.example/v4/chat/completions?api_key=sk-t%E2%80%A6&v=2',
    );
    expect(result.recent.lastError?.message).toBe('Invalid key sk-t… for this endpoint');
  });

  it('a key echoed back upper-cased or percent-encoded is masked too (trial: echoes of the key)', () => {
    const route = makeRoute({});
    const upper = SECRET_KEY.toUpperCase();
    const encoded = [...SECRET_KEY].map((c) => (c === '-' ? '%2D' : c)).join('');
    const events = eventsFor(route).failure(T0, 'auth', {
      message: `Invalid key ${upper}; you sent ${encoded}`,
    });
    const snapshot = projectReadiness({ routes: [route], events, now: T0 + 5 });
    const text = JSON.stringify(snapshot);
    expect(text).not.toContain(upper);
    expect(text).not.toContain(encoded);
    expect(only(snapshot.routes).recent.lastError?.message).toBe(
      'Invalid key sk-t…; you sent sk-t…',
    );
  });
});

describe('bad input', () => {
  /** The error `run` throws (and fails the test when it throws none). */
  function thrownBy(run: () => unknown): SluiceError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(SluiceError);
      return error as SluiceError;
    }
    throw new Error('expected a throw');
  }

  it('projectReadiness({}) names the missing routes and how to pass them', () => {
    const error = thrownBy(() => projectReadiness({} as never));
    expect(error.kind).toBe('config');
    expect(error.message).toContain('projectReadiness: routes is missing.');
    expect(error.hint).toBe(
      'Pass resolved routes (routes: router.routes()) or a config with its descriptors (routes: await loadConfig(), or routes: { config, providers: [zhipu] }).',
    );
  });

  it('names routes that are neither resolved routes nor { config, providers }, and a missing input', () => {
    expect(thrownBy(() => projectReadiness({ routes: 'default' } as never)).message).toContain(
      'projectReadiness: routes must be resolved routes or { config, providers }, got "default".',
    );
    expect(
      thrownBy(() => projectReadiness({ routes: [makeRoute(), { name: 'x' }] } as never)).message,
    ).toContain('projectReadiness: routes[1] must be a resolved route, got an object.');
    expect(thrownBy(() => projectReadiness(undefined as never)).message).toContain(
      'projectReadiness: input must be an object with routes, got undefined.',
    );
  });

  it('rejects thresholds out of range by name, with the default as the fix', () => {
    const routes = [makeRoute()];
    const error = thrownBy(() => projectReadiness({ routes, failingStreak: 0 }));
    expect(error.message).toContain(
      'projectReadiness: failingStreak must be a whole number >= 1, got 0.',
    );
    expect(error.hint).toBe('Pass e.g. { failingStreak: 3 } (the default), or leave it out.');
    expect(thrownBy(() => projectReadiness({ routes, queueSaturation: -1 })).message).toContain(
      'queueSaturation must be a number > 0',
    );
    expect(
      thrownBy(() => projectReadiness({ routes, recentWindowMs: Number.NaN })).message,
    ).toContain('recentWindowMs must be a whole number of ms from 0 to 2147483647, got NaN.');
    expect(thrownBy(() => projectReadiness({ routes, now: Number.NaN })).message).toContain(
      'projectReadiness: now must be epoch ms, got NaN.',
    );
  });
});

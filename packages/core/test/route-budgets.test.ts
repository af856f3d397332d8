import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createLeaseBudget } from '../src/budget/lease-budget.js';
import type { Budget, BudgetBackend } from '../src/budget/types.js';
import { ConfigError } from '../src/config/config-error.js';
import type { ResolvedBudget } from '../src/config/resolved-route.js';
import { createRouter } from '../src/router/create-router.js';
import { MOCK_CHAT_URL, createMockServer, mockConfig } from './support/msw-chat.js';
import { sseAnswer } from './support/sse.js';

const server = createMockServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const REDIS_URL = 'redis://app:s3cret-redis-pw@10.0.0.5:6379/0';

function redisConfig() {
  const config = mockConfig({ maxConcurrency: 2 });
  const glm = config.providers.glm as Record<string, unknown>;
  glm.budget = { backend: 'redis', url: REDIS_URL };
  return config;
}

/** A stand-in for the Redis backend: in-process budgets under another name, recording calls. */
function fakeRedisBackend() {
  const opened: Budget[] = [];
  const backend: BudgetBackend = {
    name: 'redis',
    open(key, options) {
      const budget = createLeaseBudget({ key, limit: options.limit });
      opened.push(budget);
      return budget;
    },
  };
  return { backend, opened };
}

describe('route budget backends', () => {
  it('fails with a ConfigError naming the instance, the route and the import when no redis backend is given', () => {
    let error: unknown;
    try {
      createRouter({ config: redisConfig(), budgets: createBudgetRegistry() });
    } catch (caught) {
      error = caught;
    }
    expect(ConfigError.isConfigError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('providers.glm.budget.backend');
    expect(message).toContain('"main"');
    expect(message).toContain("from '@sluice/fleet-adapter/redis'");
    expect(message).toContain('budgetBackends');
    expect(message).not.toContain('s3cret-redis-pw');
  });

  it('draws leases for a redis route from budgetBackends.redis, opened once with the route limit', async () => {
    server.use(
      http.post(
        MOCK_CHAT_URL,
        () =>
          new HttpResponse(sseAnswer('o', 'k'), {
            headers: { 'content-type': 'text/event-stream' },
          }),
      ),
    );
    const { backend, opened } = fakeRedisBackend();
    const seen: ResolvedBudget[] = [];
    const memory = createBudgetRegistry();
    const router = createRouter({
      config: redisConfig(),
      budgets: memory,
      budgetBackends: {
        redis: (budget) => {
          seen.push(budget);
          return backend;
        },
      },
    });

    expect(await router.chat({ messages: [{ role: 'user', content: 'hi' }] }).text()).toBe('ok');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ backend: 'redis', url: REDIS_URL });
    expect(opened).toHaveLength(1);
    expect(opened[0]!.limit).toBe(2);
    expect(opened[0]!.active).toBe(0);
    expect(memory.list()).toHaveLength(0);
    expect(router.budgets.list()).toContain(opened[0]);
    await router.close();
  });

  it('gives two routers on the same backend object one budget per key', async () => {
    const { backend, opened } = fakeRedisBackend();
    const options = { config: redisConfig(), budgetBackends: { redis: backend } };
    const first = createRouter(options);
    const second = createRouter(options);
    const key = first.route().budgetKey;

    expect(first.budgets.get(key, { limit: 2 })).toBe(second.budgets.get(key, { limit: 2 }));
    expect(opened).toHaveLength(1);
    await Promise.all([first.close(), second.close()]);
  });

  it('keeps memory routes on the registry passed as budgets', () => {
    const memory = createBudgetRegistry();
    const router = createRouter({ config: mockConfig(), budgets: memory });
    expect(router.budgets).toBe(memory);
  });
});

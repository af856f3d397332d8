import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpResponse } from 'msw';
import { adaptiveLimitOf } from '../src/budget/adaptive-limit.js';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import { chatHandler, createMockServer, errorResponse, mockConfig } from './support/msw-chat.js';
import { sseAnswer } from './support/sse.js';

const server = createMockServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };
const sse = () =>
  new HttpResponse(sseAnswer('ok'), { headers: { 'content-type': 'text/event-stream' } });
const rateLimited = () =>
  errorResponse(429, { code: '1302', message: 'too many' }, { 'retry-after-ms': '1' });

function adaptiveConfig(maxConcurrency: number, adaptive: Record<string, unknown> | undefined) {
  const config = mockConfig({ maxConcurrency, retry: { maxAttempts: 3, baseDelayMs: 1 } });
  return {
    ...config,
    providers: { glm: { ...config.providers.glm, ...(adaptive ? { adaptive } : {}) } },
  };
}

function setup(maxConcurrency: number, adaptive?: Record<string, unknown>) {
  const budgets = createBudgetRegistry();
  const router = createRouter({ config: adaptiveConfig(maxConcurrency, adaptive), budgets });
  const events: SluiceEvent[] = [];
  router.subscribe((event) => events.push(event));
  const budget = () => budgets.get(router.route().budgetKey, { limit: maxConcurrency });
  const changes = () => events.filter((event) => event.type === 'limit-changed');
  return { router, budget, changes };
}

describe('adaptive limits through router.chat', () => {
  it('halves the budget on a 429 code 1302, publishes limit-changed, and the retry succeeds', async () => {
    server.use(chatHandler((_body, _request, index) => (index === 0 ? rateLimited() : sse())));
    const { router, budget, changes } = setup(8, { min: 1 });

    expect(await router.chat(hi).text()).toBe('ok');
    expect(budget().limit).toBe(4);
    expect(changes()).toHaveLength(1);
    expect(changes()[0]).toMatchObject({
      type: 'limit-changed',
      budgetKey: router.route().budgetKey,
      limit: 4,
      previous: 8,
      reason: '1302 rate limit from glm',
      direction: 'decrease',
      route: 'main',
    });
    expect(
      adaptiveLimitOf(budget())
        ?.history()
        .map((change) => change.limit),
    ).toEqual([4]);
    await router.close();
  });

  it('grows by one after clean streams that filled the budget', async () => {
    server.use(chatHandler(() => sse()));
    const { router, budget, changes } = setup(2, { max: 4, increaseAfter: 1 });
    await Promise.all([router.chat(hi).text(), router.chat(hi).text()]);

    // Both were sent at limit 2; the first clean one raised it, the second counts at 2 no more.
    expect(budget().limit).toBe(3);
    expect(changes()).toMatchObject([{ limit: 3, previous: 2, direction: 'increase' }]);
    await router.close();
  });

  it('streams the consumer stopped or cancelled are no longer counted as served', async () => {
    let calls = 0;
    server.use(
      chatHandler(() => {
        calls += 1;
        return calls <= 3 ? sse() : rateLimited();
      }),
    );
    const { router, budget } = setup(5, { min: 1 });
    for (const stop of ['break', 'cancel', 'break'] as const) {
      const stream = router.chat(hi);
      for await (const event of stream) {
        void event;
        if (stop === 'cancel') stream.cancel();
        break;
      }
    }

    // Nothing is being served now, so the 429 halves 5 to 2 (three leaked streams would floor it
    // at 3). The retry gets another 429, which belongs to a new episode: 2 -> 1.
    await expect(router.chat(hi).text()).rejects.toMatchObject({ kind: 'rate-limit' });
    expect(
      adaptiveLimitOf(budget())
        ?.history()
        .map((change) => change.limit),
    ).toEqual([2, 1]);
    await router.close();
  });

  it('a 400 says nothing about capacity and leaves the limit alone', async () => {
    server.use(chatHandler(() => errorResponse(400, { code: '1214', message: 'bad field' })));
    const { router, budget, changes } = setup(4, {});
    await expect(router.chat(hi).text()).rejects.toMatchObject({ kind: 'bad-request' });
    expect(budget().limit).toBe(4);
    expect(changes()).toHaveLength(0);
    await router.close();
  });

  it('a route without adaptive keeps its limit through rate limits', async () => {
    server.use(chatHandler((_body, _request, index) => (index === 0 ? rateLimited() : sse())));
    const { router, budget, changes } = setup(8);
    expect(await router.chat(hi).text()).toBe('ok');
    expect(budget().limit).toBe(8);
    expect(adaptiveLimitOf(budget())).toBeUndefined();
    expect(changes()).toHaveLength(0);
    await router.close();
  });
});

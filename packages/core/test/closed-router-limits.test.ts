import { describe, expect, test } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { createRouter } from '../src/router/create-router.js';

// Two routers for one provider and key share one budget, and the stricter limit wins while both
// are open. Once the stricter router is closed, its limit must stop holding the other back
// (found by the fresh-user trial: a closed router's limit of 1 stayed for the process's life).

const messages = [{ role: 'user' as const, content: 'hi' }];

/** A fetch whose streams stay open until `release()`, counting how many are open at once. */
function heldFetch() {
  let open = 0;
  let peak = 0;
  const waiting: Array<() => void> = [];
  const fetch = (async () => {
    open += 1;
    peak = Math.max(peak, open);
    const encoder = new TextEncoder();
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(
            encoder.encode('data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'),
          );
          waiting.push(() => {
            open -= 1;
            controller.enqueue(
              encoder.encode(
                'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
              ),
            );
            controller.close();
          });
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  }) as typeof globalThis.fetch;
  const release = () => {
    for (const finish of waiting.splice(0)) finish();
  };
  return { fetch, release, peak: () => peak, open: () => open };
}

function routerWith(
  limit: number,
  budgets: ReturnType<typeof createBudgetRegistry>,
  fetch: typeof globalThis.fetch,
) {
  return createRouter({
    config: {
      providers: { glm: { use: 'local', apiKey: 'k-0123456789abcdef', maxConcurrency: limit } },
      routes: { default: { provider: 'glm', model: 'm' } },
    },
    providers: [openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] })],
    budgets,
    fetch,
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('a closed router and the limits it declared', () => {
  test('while both are open the stricter limit holds; after it closes, the other one does', async () => {
    const budgets = createBudgetRegistry();
    const held = heldFetch();
    const strict = routerWith(1, budgets, held.fetch);
    const loose = routerWith(3, budgets, held.fetch);
    const [budget] = budgets.list();
    expect(budgets.list()).toHaveLength(1);
    expect(budget!.limit).toBe(1);

    await strict.close();
    expect(budget!.limit).toBe(3);

    const answers = [1, 2, 3].map(() => loose.chat({ messages }).text());
    await settle();
    expect(held.open()).toBe(3);
    held.release();
    expect(await Promise.all(answers)).toEqual(['x', 'x', 'x']);
    expect(held.peak()).toBe(3);
    expect(budget!.active).toBe(0);
    await loose.close();
  });

  test('a router made after the stricter one closed gets its own limit', async () => {
    const budgets = createBudgetRegistry();
    const held = heldFetch();
    const first = routerWith(1, budgets, held.fetch);
    const answer = first.chat({ messages }).text();
    await settle();
    held.release();
    expect(await answer).toBe('x');
    await first.close();

    const second = routerWith(3, budgets, held.fetch);
    expect(budgets.list().map((budget) => budget.limit)).toEqual([3]);
    const answers = [1, 2, 3].map(() => second.chat({ messages }).text());
    await settle();
    expect(held.open()).toBe(3);
    held.release();
    await Promise.all(answers);
    await second.close();
  });

  test('while the stricter router is open, the looser one never runs more than its limit', async () => {
    const budgets = createBudgetRegistry();
    const held = heldFetch();
    const strict = routerWith(1, budgets, held.fetch);
    const loose = routerWith(3, budgets, held.fetch);

    const answers = [1, 2, 3].map(() => loose.chat({ messages }).text());
    await settle();
    expect(held.open()).toBe(1);
    for (let round = 0; round < 3; round++) {
      held.release();
      await settle();
    }
    expect(await Promise.all(answers)).toEqual(['x', 'x', 'x']);
    expect(held.peak()).toBe(1);
    await strict.close();
    await loose.close();
  });
});

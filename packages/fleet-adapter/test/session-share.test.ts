import {
  createBudgetRegistry,
  createRouter,
  openAICompatible,
  type SluiceEvent,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../src/index.js';

const sse = () =>
  new Response(
    'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    { headers: { 'content-type': 'text/event-stream' } },
  );

describe('session shares', () => {
  it('a sibling spawned with share 2 gets two leases per round where share 1 gets one', async () => {
    const router = createRouter({
      config: {
        providers: { p: { use: 'p', apiKey: 'k-0123456789abcdef', maxConcurrency: 1 } },
        routes: { default: { provider: 'p', model: 'm' } },
      },
      providers: [openAICompatible({ id: 'p', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] })],
      budgets: createBudgetRegistry(),
      fetch: (async () => sse()) as typeof fetch,
    });
    const fleet = createFleet({ router });
    const heavy = fleet.root.spawn('heavy', { share: 2 });
    const light = fleet.root.spawn('light');
    const grants: string[] = [];
    router.subscribe((event: SluiceEvent) => {
      if (event.type === 'lease-acquired') grants.push(event.sessionId!.split('/').pop()!);
    });

    // A holder keeps the one lease until both siblings have queued their work.
    const holder = await router.budgets.get(router.route().budgetKey, { limit: 1 }).acquire();
    const work = [
      ...Array.from({ length: 4 }, () =>
        heavy.chat({ messages: [{ role: 'user', content: 'h' }] }).text(),
      ),
      ...Array.from({ length: 2 }, () =>
        light.chat({ messages: [{ role: 'user', content: 'l' }] }).text(),
      ),
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    holder.release();
    await Promise.all(work);
    await router.close();

    expect(grants).toEqual(['heavy', 'heavy', 'light', 'heavy', 'heavy', 'light']);
  });
});

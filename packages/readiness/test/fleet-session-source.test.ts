import { createBudgetRegistry, createRouter } from '@sluice/core';
import { createFleet } from '@sluice/fleet-adapter';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator } from '@sluice/simulator';
import { describe, expect, it } from 'vitest';
import { createReadinessTracker, fleetSessionSource, sessionTreeOf } from '../src/index.js';

describe('fleetSessionSource', () => {
  it('shows a real fleet tree with each session’s figures', async () => {
    const simulator = await startSimulator({
      source: 'generate',
      outputTokens: 5,
      tokensPerSecond: Infinity,
    });
    const router = createRouter({
      config: {
        providers: {
          glm: { use: 'zhipu', endpoint: simulator.baseURL, apiKey: 'sk-fleet-0123456789ab' },
        },
        routes: { default: { provider: 'glm', model: 'glm-4.6' } },
      },
      providers: [zhipu],
      budgets: createBudgetRegistry(),
    });
    const fleet = createFleet({ router });
    const planner = fleet.root.spawn('planner');
    const search = planner.spawn('search');
    await search.chat({ messages: [{ role: 'user', content: 'hi' }] }).text();

    const tree = sessionTreeOf(fleet.root);
    expect(tree).toMatchObject({ id: 'root', name: 'root', state: 'new', requests: 0 });
    expect(tree.children[0]).toMatchObject({ id: 'root/planner', name: 'planner', requests: 0 });
    expect(tree.children[0]?.children[0]).toMatchObject({
      id: 'root/planner/search',
      state: 'idle',
      requests: 1,
      inFlight: 0,
      failures: 0,
    });
    expect(tree.children[0]?.children[0]?.tokens).toBeGreaterThan(0);

    const tracker = createReadinessTracker({ router, sessions: fleetSessionSource(fleet) });
    expect(tracker.snapshot().sessions?.[0]?.children[0]?.children[0]?.name).toBe('search');
    tracker.close();
    await fleet.close();
    await router.close();
    await simulator.close();
  });
});

import { adaptiveLimitFor, createBudgetRegistry, type SluiceEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createReadinessTracker, renderReadinessTable, type TrackedRouter } from '../src/index.js';
import { makeRoute } from './support/make-route.js';

function routerWithBudgets() {
  const routes = [makeRoute()];
  const budgets = createBudgetRegistry();
  const router: TrackedRouter = {
    routes: () => routes,
    route: () => routes[0]!,
    budgets,
    subscribe: (_listener: (event: SluiceEvent) => void) => () => undefined,
  };
  return { router, budgets };
}

describe('adaptive limits in readiness', () => {
  it('the gauge shows the effective limit, its range, the last reason and the changes', () => {
    const { router, budgets } = routerWithBudgets();
    const budget = budgets.get('glm:a1b2c3d4e5f6', { limit: 10 });
    const adaptive = adaptiveLimitFor(budget, { min: 1, max: 10 });
    adaptive.loss(adaptive.begin(), { reason: '1302 rate limit from glm' });

    const tracker = createReadinessTracker({ router });
    const snapshot = tracker.snapshot();
    const gauge = snapshot.providers[0];
    expect(gauge).toMatchObject({
      limit: 5,
      adaptive: {
        min: 1,
        max: 10,
        lastReason: '1302 rate limit from glm',
        history: [{ limit: 5, previous: 10, reason: '1302 rate limit from glm' }],
      },
    });
    expect(snapshot.routes[0]?.budget?.limit).toBe(5);

    const table = renderReadinessTable(snapshot, { color: false, width: 200 });
    expect(table).toContain('0/5');
    expect(table).toContain('adaptive: 1302 rate limit from glm');
    tracker.close();
  });

  it('a budget without an adaptive limit has no adaptive field', () => {
    const { router, budgets } = routerWithBudgets();
    budgets.get('glm:a1b2c3d4e5f6', { limit: 3 });
    const tracker = createReadinessTracker({ router });
    expect(tracker.snapshot().providers[0]).not.toHaveProperty('adaptive');
    tracker.close();
  });
});

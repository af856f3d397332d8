import { describe, expect, it } from 'vitest';
import { projectReadiness, renderReadinessTable, toReadinessJSON } from '../src/index.js';
import { fixedBudget, makeRoute } from './support/make-route.js';

const T0 = 1_750_000_000_000;

function redisBudget(key: string, health: { state: 'ok' | 'degraded' | 'down'; detail?: string }) {
  return { ...fixedBudget(key, { limit: 3, active: 0, pending: 0 }), backend: 'redis', health };
}

describe('shared budget backend health', () => {
  it('a Redis backend that is down degrades the route, naming the backend and what to check', () => {
    const route = makeRoute();
    const budgets = [
      redisBudget(route.budgetKey, {
        state: 'down',
        detail: 'Redis at 127.0.0.1:6391 is unreachable',
      }),
    ];

    const snapshot = projectReadiness({ routes: [route], budgets, now: T0 });
    const result = snapshot.routes[0]!;

    expect(result.state).toBe('degraded');
    expect(result.reason).toBe(
      `The redis budget backend of ${route.budgetKey} is down: Redis at 127.0.0.1:6391 is unreachable.`,
    );
    expect(result.fix).toContain('Check the Redis server');
    expect(result.budget).toMatchObject({
      backend: 'redis',
      health: { state: 'down', detail: 'Redis at 127.0.0.1:6391 is unreachable' },
    });
    expect(JSON.parse(toReadinessJSON(snapshot)).routes[0].budget.health.state).toBe('down');
    expect(renderReadinessTable(snapshot, { color: false })).toContain('budget backend');
  });

  it('a healthy backend changes nothing, and an in-process budget reports no health', () => {
    const route = makeRoute();
    const healthy = projectReadiness({
      routes: [route],
      budgets: [redisBudget(route.budgetKey, { state: 'ok' })],
      now: T0,
    }).routes[0]!;
    const memory = projectReadiness({
      routes: [route],
      budgets: [fixedBudget(route.budgetKey, { limit: 3, active: 0, pending: 0 })],
      now: T0,
    }).routes[0]!;

    expect(healthy.state).toBe('not-checked');
    expect(healthy.budget?.health).toEqual({ state: 'ok', detail: null });
    expect(memory.budget?.health).toBeNull();
  });
});

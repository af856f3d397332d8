import {
  adaptiveLimitOf,
  createBudgetRegistry,
  createRouter,
  type SluiceEvent,
} from '@sluice/core';
import zhipu from '@sluice/provider-zhipu';
import { startSimulator, type Simulator } from '@sluice/simulator';
import { afterEach, describe, expect, test } from 'vitest';
import { runFleetScenario } from '../src/fleet/run-fleet-scenario.js';
import { simulatorConfig } from '../src/router-setup.js';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

// The demo's shape, faster still: 3 served, the rest get no headers for 1.5 s; the client gives
// up on headers after 0.8 s (loopback headers take milliseconds, so the margin is wide).
const SIMULATOR = {
  ceiling: 3,
  mode: 'stall',
  stallMs: 1_500,
  source: 'generate',
  outputTokens: 16,
  tokensPerSecond: 80,
} as const;

describe('adaptive limit against the simulator', () => {
  test('from the advertised 10 it converges to the ceiling of 3 and no request fails after retries', async () => {
    simulator = await startSimulator(SIMULATOR);
    const budgets = createBudgetRegistry();
    const router = createRouter({
      config: simulatorConfig(simulator.baseURL, {
        maxConcurrency: 10,
        adaptive: { min: 1, max: 10 },
        timeouts: { headersMs: 800 },
        retry: { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 200 },
      }),
      providers: [zhipu],
      budgets,
    });
    const events: SluiceEvent[] = [];
    router.subscribe((event) => events.push(event));

    const report = await runFleetScenario({ router, children: 7, tasks: 4, toolMs: 20 });
    const budget = budgets.get(router.route().budgetKey, { limit: 10 });
    const history = adaptiveLimitOf(budget)?.history() ?? [];
    await router.close();

    expect(report.failures).toBe(0);
    expect(report.requests).toBe(32);

    // The first stalls cut 10 to 5 once (one decrease for the whole first wave), not once each.
    expect(history[0]).toMatchObject({ previous: 10, limit: 5, direction: 'decrease' });
    expect(history[0]?.reason).toBe('headers timeout from glm');

    // At or below the ceiling within a bounded number of attempts sent.
    const reached = events.findIndex(
      (event) => event.type === 'limit-changed' && event.limit <= SIMULATOR.ceiling,
    );
    expect(reached).toBeGreaterThan(-1);
    const sentBefore = events
      .slice(0, reached)
      .filter((event) => event.type === 'lease-acquired').length;
    expect(sentBefore).toBeLessThanOrEqual(30);

    // After converging it stays within one probe of the ceiling.
    const after = history.slice(history.findIndex((change) => change.limit <= SIMULATOR.ceiling));
    expect(Math.max(...after.map((change) => change.limit))).toBeLessThanOrEqual(
      SIMULATOR.ceiling + 1,
    );
    expect(budget.limit).toBeLessThanOrEqual(SIMULATOR.ceiling + 1);

    // Every limit-changed event on the router matches the budget's history.
    const published = events.filter((event) => event.type === 'limit-changed');
    expect(published.map((event) => event.limit)).toEqual(history.map((change) => change.limit));
  });
});

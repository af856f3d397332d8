import { createBudgetRegistry, createRouter, type SluiceEvent } from '@sluice/core';
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

describe('the fleet session model', () => {
  test('C09: a parent whose tool starts a child on the same provider completes at limit 1', async () => {
    simulator = await startSimulator({ ceiling: 3, source: 'recorded', tokensPerSecond: Infinity });
    const router = createRouter({
      config: simulatorConfig(simulator.baseURL, { maxConcurrency: 1 }),
      providers: [zhipu],
      budgets: createBudgetRegistry(),
    });
    const events: SluiceEvent[] = [];
    router.subscribe((event) => events.push(event));

    const startedAt = performance.now();
    const report = await runFleetScenario({
      router,
      children: 0,
      tasks: 1,
      delegate: true,
      toolMs: 0,
    });
    const elapsedMs = performance.now() - startedAt;
    await router.close();

    // The parent's tool call and its follow-up, and the sub-agent's one request: all served.
    expect(report.failures).toBe(0);
    const root = report.sessions.find((s) => s.name === 'root')!;
    expect(root.stats.requests).toBe(2);
    expect(root.stats.succeeded).toBe(2);
    expect(simulator.stats().completed).toBe(3);
    expect(simulator.stats().peakInFlight).toBe(1);
    expect(report.peakInFlightClient).toBe(1);

    // The parent's first lease ended with its body, before the sub-agent's request took one.
    const leaseEvents = events.filter(
      (e) => e.type === 'lease-acquired' || e.type === 'lease-released',
    );
    expect(leaseEvents.map((e) => `${e.type}:${e.sessionId}`)).toEqual([
      'lease-acquired:root',
      'lease-released:root',
      `lease-acquired:${events.find((e) => e.sessionId?.includes('sub'))!.sessionId}`,
      `lease-released:${events.find((e) => e.sessionId?.includes('sub'))!.sessionId}`,
      'lease-acquired:root',
      'lease-released:root',
    ]);
    expect(elapsedMs).toBeLessThan(1_000);
  });
});

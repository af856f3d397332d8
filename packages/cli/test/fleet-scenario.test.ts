import { createBudgetRegistry, createRouter } from '@sluice/core';
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

async function fastRouter(fetch: typeof globalThis.fetch = globalThis.fetch) {
  simulator = await startSimulator({
    ceiling: 10,
    source: 'generate',
    outputTokens: 20,
    tokensPerSecond: 5_000,
  });
  return createRouter({
    config: simulatorConfig(simulator.baseURL, { maxConcurrency: 3 }),
    providers: [zhipu],
    budgets: createBudgetRegistry(),
    fetch,
    env: {},
  });
}

describe('runFleetScenario', () => {
  test('a per-turn maxTokens caps each turn on its own', async () => {
    const sent: unknown[] = [];
    const router = await fastRouter((input, init) => {
      sent.push((JSON.parse(String(init?.body)) as { max_tokens?: unknown }).max_tokens);
      return globalThis.fetch(input, init);
    });
    const asked: string[] = [];
    const report = await runFleetScenario({
      router,
      children: 1,
      tasks: 3,
      toolMs: 0,
      maxTokens: (session, turn) => {
        asked.push(`${session}:${turn}`);
        return turn * 3;
      },
    });
    await router.close();

    expect(report.failures).toBe(0);
    expect(asked.sort()).toEqual([
      'child-1:1',
      'child-1:2',
      'child-1:3',
      'root:1',
      'root:2',
      'root:3',
    ]);
    expect(sent.sort()).toEqual([3, 3, 6, 6, 9, 9]);
  });

  test('the tool call runs between turns, not after the last one', async () => {
    const router = await fastRouter();
    const states = new Map<string, string[]>();
    await runFleetScenario({
      router,
      children: 2,
      tasks: 3,
      toolMs: 5,
      onProgress: (rows) => {
        for (const row of rows) {
          const seen = states.get(row.name) ?? [];
          if (seen.at(-1) !== row.state) seen.push(row.state);
          states.set(row.name, seen);
        }
      },
    });
    await router.close();

    expect(states.size).toBe(3);
    for (const seen of states.values()) {
      expect(seen.filter((state) => state === 'tool')).toHaveLength(2);
      expect(seen.at(-1)).toBe('done');
      expect(seen.at(-2)).not.toBe('tool');
    }
  });
});

import { createBudgetRegistry, createRouter, SluiceError, type Router } from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator } from '@sluice/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PROBE_REQUEST,
  createReadinessTracker,
  probeRoutes,
  readinessExitCode,
  type ProbeOptions,
  renderReadinessTable,
  toReadinessJSON,
} from '../src/index.js';

const KEY = 'sk-probe-SECRET-00112233445566';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(options: { simulatorKey?: string; maxConcurrency?: number } = {}) {
  const simulator = await startSimulator({
    source: 'generate',
    outputTokens: 4,
    tokensPerSecond: Infinity,
    ...(options.simulatorKey ? { apiKey: options.simulatorKey } : {}),
  });
  cleanup.push(() => simulator.close());
  const router: Router = createRouter({
    config: {
      providers: {
        glm: {
          use: 'zhipu',
          endpoint: simulator.baseURL,
          apiKey: KEY,
          maxConcurrency: options.maxConcurrency ?? 3,
        },
        nokey: { use: 'zhipu', endpoint: simulator.baseURL },
      },
      routes: {
        default: { provider: 'glm', model: 'glm-4.6' },
        air: { provider: 'glm', model: 'glm-4.5-air' },
        flash: { provider: 'glm', model: 'glm-4.6' },
        keyless: { provider: 'nokey', model: 'glm-4.6' },
      },
    },
    providers: [zhipu],
    budgets: createBudgetRegistry(),
    env: {},
  });
  cleanup.push(() => router.close());
  const tracker = createReadinessTracker({ router });
  cleanup.push(() => tracker.close());
  return { simulator, router, tracker };
}

describe('probeRoutes', () => {
  it('sends ping with maxTokens 1', () => {
    expect(PROBE_REQUEST).toEqual({ messages: [{ role: 'user', content: 'ping' }], maxTokens: 1 });
  });

  it('a passed probe turns routes ready; a keyless route is skipped and stays missing-credential', async () => {
    const { router, tracker } = await setup();
    expect(readinessExitCode(tracker.snapshot())).toBe(3);

    const results = await probeRoutes(router);
    expect(results.map((result) => [result.route, result.outcome])).toEqual([
      ['default', 'success'],
      ['air', 'success'],
      ['flash', 'success'],
      ['keyless', 'skipped'],
    ]);

    const snapshot = tracker.snapshot();
    expect(snapshot.routes.map((route) => [route.name, route.state])).toEqual([
      ['default', 'ready'],
      ['air', 'ready'],
      ['flash', 'ready'],
      ['keyless', 'missing-credential'],
    ]);
    expect(snapshot.routes[3]?.reason).toContain('ZHIPU_API_KEY');
    expect(readinessExitCode(snapshot)).toBe(0);
    expect(renderReadinessTable(snapshot, { color: false })).not.toContain(KEY);
    expect(toReadinessJSON(snapshot)).not.toContain(KEY);
  });

  it('probes go through the budget: at limit 1 the provider never sees two at once', async () => {
    const { router, simulator } = await setup({ maxConcurrency: 1 });
    const results = await probeRoutes(router, ['default', 'air', 'flash']);
    expect(results.every((result) => result.outcome === 'success')).toBe(true);
    expect(simulator.stats().peakInFlight).toBe(1);
  });

  it('a refused key makes the route failing with kind auth and a fix; exit code 1', async () => {
    const { router, tracker } = await setup({ simulatorKey: 'another-key-entirely-123' });
    const [result] = await probeRoutes(router, ['default']);
    expect(result).toMatchObject({ route: 'default', outcome: 'failure', error: { kind: 'auth' } });

    const route = tracker.snapshot().routes[0]!;
    expect(route.state).toBe('failing');
    expect(route.reason).toMatch(/^The last request failed \(auth\)/);
    expect(route.fix).toContain('The provider refused the key from literal');
    expect(readinessExitCode(tracker.snapshot())).toBe(1);
    expect(JSON.stringify(tracker.snapshot())).not.toContain(KEY);
  });

  it('an unknown route name gives a config failure, not a rejection', async () => {
    const { router } = await setup();
    const [result] = await probeRoutes(router, ['nope']);
    expect(result).toMatchObject({ route: 'nope', outcome: 'failure', error: { kind: 'config' } });
  });

  it('an aborted signal ends the probes at once, with kind aborted', async () => {
    const { router } = await setup();
    const controller = new AbortController();
    controller.abort();
    const results = await probeRoutes(router, ['default'], { signal: controller.signal });
    expect(results[0]).toMatchObject({ outcome: 'failure', error: { kind: 'aborted' } });
  });

  it('bad options throw a config SluiceError synchronously, naming the option and the fix; no probe is sent', async () => {
    const { router, simulator } = await setup();
    const cases: Array<[unknown, string]> = [
      [
        { timeoutMs: -1 },
        'probeRoutes: timeoutMs must be a whole number of ms from 1 to 2147483647, got -1.',
      ],
      [{ timeoutMs: 0 }, 'timeoutMs must be a whole number of ms from 1 to 2147483647, got 0.'],
      [{ timeoutMs: Number.NaN }, 'got NaN.'],
      [{ timeoutMs: Infinity }, 'got Infinity.'],
      [{ timeoutMs: 1.5 }, 'got 1.5.'],
      [{ timeoutMs: 2 ** 32 }, 'got 4294967296.'],
      [{ timeoutMs: '30000' }, 'got "30000".'],
      [{ signal: 'abort' }, 'probeRoutes: signal must be an AbortSignal, got "abort".'],
      [
        { timeout: 100 },
        'probeRoutes: unknown option "timeout". Its options are signal, timeoutMs.',
      ],
      [null, 'probeRoutes: options must be an object, got null.'],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      let returned: unknown;
      try {
        returned = probeRoutes(router, undefined, options as ProbeOptions);
      } catch (error) {
        thrown = error;
      }
      expect(returned, JSON.stringify(options)).toBeUndefined();
      expect(thrown).toBeInstanceOf(SluiceError);
      expect(thrown).toMatchObject({ kind: 'config' });
      expect((thrown as SluiceError).message).toContain(message);
    }
    expect(() => probeRoutes(router, undefined, { timeoutMs: -1 })).toThrow(
      'Pass e.g. { timeoutMs: 30_000 } (the default), or leave it out.',
    );
    expect(() => probeRoutes(router, 'default' as unknown as string[])).toThrow(
      'probeRoutes: routes must be an array of route names or resolved routes, got "default".',
    );
    expect(() => probeRoutes(router, ['default', 42 as unknown as string])).toThrow(
      'probeRoutes: routes[1] must be a route name or a resolved route, got 42.',
    );
    expect(simulator.stats().requests).toBe(0);
    // The edges of the range are accepted.
    const [result] = await probeRoutes(router, ['default'], { timeoutMs: 2_147_483_647 });
    expect(result).toMatchObject({ route: 'default', outcome: 'success' });
  });
});

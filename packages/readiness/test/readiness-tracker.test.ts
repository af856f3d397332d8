import { createBudgetRegistry, type SluiceEvent } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReadinessTracker, type TrackedRouter } from '../src/index.js';
import { eventsFor, makeRoute } from './support/make-route.js';

/** A router stand-in: its own routes and budgets, and a telemetry stream the test drives. */
function fakeRouter(routes = [makeRoute()]) {
  const listeners = new Set<(event: SluiceEvent) => void>();
  const budgets = createBudgetRegistry();
  const router: TrackedRouter = {
    routes: () => routes,
    route: (name) => routes.find((route) => route.name === (name ?? 'default')) ?? routes[0]!,
    budgets,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    router,
    budgets,
    emit: (events: SluiceEvent[]) => events.forEach((event) => listeners.forEach((l) => l(event))),
    listenerCount: () => listeners.size,
  };
}

describe('createReadinessTracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_750_000_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it('requires routes or a router', () => {
    expect(() => createReadinessTracker({})).toThrow(/pass `routes`/);
  });

  it('rejects a sampleIntervalMs, historyMs or windowSize out of range by name, starting no timer', () => {
    const { router, listenerCount } = fakeRouter();
    expect(() => createReadinessTracker({ router, sampleIntervalMs: 0 })).toThrow(
      'createReadinessTracker: sampleIntervalMs must be a whole number of ms from 1 to 2147483647, got 0.',
    );
    expect(() => createReadinessTracker({ router, historyMs: -5 })).toThrow(
      'createReadinessTracker: historyMs must be a whole number of ms from 1 to 2147483647, got -5.',
    );
    expect(() => createReadinessTracker({ router, windowSize: 0 })).toThrow(
      'createReadinessTracker: windowSize must be a whole number >= 1 (samples per window), got 0.',
    );
    expect(() => createReadinessTracker({ routes: 'default' as never })).toThrow(
      'createReadinessTracker: routes must be resolved routes or { config, providers }, got "default".',
    );
    expect(listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows router telemetry: not-checked, then ready after a success, then failing', () => {
    const { router, emit } = fakeRouter();
    const tracker = createReadinessTracker({ router });
    const route = router.routes()[0]!;
    const ev = eventsFor(route);
    expect(tracker.snapshot().routes[0]?.state).toBe('not-checked');

    emit(ev.success(Date.now(), { ttftMs: 120 }));
    expect(tracker.snapshot().routes[0]).toMatchObject({ state: 'ready', isDefault: true });
    expect(tracker.snapshot().routes[0]?.recent.ttftP50Ms).toBe(120);

    emit(ev.failure(Date.now(), 'server'));
    expect(tracker.snapshot().routes[0]?.state).toBe('failing');
    tracker.close();
  });

  it('reads live budget gauges from the router registry', async () => {
    const { router, budgets } = fakeRouter();
    const tracker = createReadinessTracker({ router });
    const budget = budgets.get('glm:a1b2c3d4e5f6', { limit: 2 });
    const a = await budget.acquire();
    await budget.acquire();
    const waiting = budget.acquire();

    const gauge = tracker.snapshot().providers[0];
    expect(gauge).toMatchObject({ key: 'glm:a1b2c3d4e5f6', active: 2, limit: 2, queued: 1 });
    expect(gauge?.backend).toBe('memory');

    a.release();
    await waiting;
    expect(tracker.snapshot().providers[0]).toMatchObject({ active: 2, queued: 0 });
    tracker.close();
  });

  it('samples in-flight and queued into a bounded history', async () => {
    const { router, budgets } = fakeRouter();
    const tracker = createReadinessTracker({ router, sampleIntervalMs: 1000, historyMs: 10_000 });
    const budget = budgets.get('glm:a1b2c3d4e5f6', { limit: 1 });
    await budget.acquire();
    void budget.acquire();

    await vi.advanceTimersByTimeAsync(3000);
    const samples = tracker.snapshot().history.samples;
    expect(samples.at(-1)).toMatchObject({
      active: 1,
      queued: 1,
      byBudget: { 'glm:a1b2c3d4e5f6': { active: 1, queued: 1 } },
    });
    expect(samples[0]).toMatchObject({ active: 0, queued: 0 });

    await vi.advanceTimersByTimeAsync(60_000);
    const later = tracker.snapshot().history;
    expect(later.samples.length).toBeLessThanOrEqual(11);
    expect(later.samples[0]!.at).toBeGreaterThanOrEqual(Date.now() - 10_000);
    tracker.close();
  });

  it('notifies subscribers on events and on sampled changes; close stops everything', async () => {
    const { router, budgets, emit, listenerCount } = fakeRouter();
    const tracker = createReadinessTracker({ router, sampleIntervalMs: 500 });
    const changes = vi.fn();
    tracker.subscribe(changes);

    emit(eventsFor(router.routes()[0]!).success(Date.now()));
    expect(changes).toHaveBeenCalledTimes(5);

    changes.mockClear();
    await budgets.get('glm:a1b2c3d4e5f6', { limit: 2 }).acquire();
    await vi.advanceTimersByTimeAsync(500);
    expect(changes).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(changes).toHaveBeenCalledTimes(1);

    // Once seen, a budget's own events notify at once (leases of workers reach it this way).
    changes.mockClear();
    const lease = await budgets.get('glm:a1b2c3d4e5f6', { limit: 2 }).acquire();
    expect(changes).toHaveBeenCalledTimes(1);
    lease.release();
    expect(changes).toHaveBeenCalledTimes(2);

    tracker.close();
    expect(listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shows the session tree a fleet attaches', () => {
    const tracker = createReadinessTracker({ routes: [makeRoute()] });
    expect(tracker.snapshot().sessions).toBeNull();
    tracker.setSessions(() => ({
      id: 'root',
      name: 'parent',
      children: [{ id: 'c', name: 'child', inFlight: 1, children: [] }],
    }));
    expect(tracker.snapshot().sessions?.[0]?.children[0]).toMatchObject({ name: 'child' });
    tracker.close();
  });

  it('accepts events recorded elsewhere through record()', () => {
    const route = makeRoute();
    const tracker = createReadinessTracker({ routes: [route], now: () => 1_750_000_010_000 });
    eventsFor(route)
      .rateLimitedThenOk(1_750_000_000_000)
      .forEach((event) => tracker.record(event));
    expect(tracker.snapshot().routes[0]?.state).toBe('degraded');
    tracker.close();
  });
});

import type { BudgetRegistry, ResolvedRoute, Router, SluiceEvent } from '@sluice/core';
import { z } from 'zod';

import {
  checkOptions,
  checkRoutesSource,
  PROJECTION_RULES,
  WINDOW_SIZE_RULE,
} from './check-options.js';
import type { RouteProblem } from './decide-route-state.js';
import type { ConfigRoutesSource } from './resolve-readiness-routes.js';
import { createOutcomeLog } from './outcome-log.js';
import {
  buildSnapshot,
  sampleHistory,
  routesOf,
  type BudgetSource,
  type ProjectionOptions,
} from './project-readiness.js';
import type { HistorySample, ReadinessSession, ReadinessSnapshot } from './readiness-schema.js';

/** A source of the fleet's session tree, read at every snapshot. */
export type SessionSource = () => ReadinessSession | readonly ReadinessSession[] | null | undefined;

/** The part of a {@link Router} the tracker reads. */
export type TrackedRouter = Pick<Router, 'subscribe' | 'routes' | 'route' | 'budgets'>;

/** Options of {@link createReadinessTracker}. */
export interface ReadinessTrackerOptions extends ProjectionOptions {
  /**
   * Resolved routes, or a route config with its descriptors (resolved once, at creation);
   * default `router.routes()`. One of `routes` and `router` is required.
   */
  routes?: readonly ResolvedRoute[] | ConfigRoutesSource;
  /** Routes that did not resolve; they show as `invalid-route`. */
  problems?: readonly RouteProblem[];
  /** The router whose telemetry is tracked (`router.subscribe`). */
  router?: TrackedRouter;
  /** Live budgets; default `router.budgets`. */
  budgets?: BudgetSource;
  /** Default route name; default `router.route().name`, else the first route. */
  defaultRoute?: string;
  /** The fleet's session tree, for the dashboard. */
  sessions?: SessionSource;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Samples kept per window (outcomes, TTFTs, lease waits). Default 200. */
  windowSize?: number;
}

/** Live readiness of a router's routes. */
export interface ReadinessTracker {
  /** The readiness of every route and provider budget now. */
  snapshot(): ReadinessSnapshot;
  /** Feeds one telemetry event by hand (events of another process, or a recorded sequence). */
  record(event: SluiceEvent): void;
  /** Attaches (or replaces) the session tree source, e.g. when a fleet starts. */
  setSessions(source: SessionSource | undefined): void;
  /** Calls `listener` whenever the projection may have changed; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Stops sampling and unsubscribes from the router. Idempotent. */
  close(): void;
}

function defaultRouteOf(
  options: ReadinessTrackerOptions,
  fromConfig: string | undefined,
): string | undefined {
  if (options.defaultRoute) return options.defaultRoute;
  if (fromConfig) return fromConfig;
  try {
    return options.router?.route().name;
  } catch {
    // A router whose default route does not resolve: fall back to the first route.
    return undefined;
  }
}

function sameCounts(a: HistorySample | undefined, b: HistorySample): boolean {
  return a !== undefined && a.active === b.active && a.queued === b.queued;
}

/**
 * Tracks readiness live: subscribes to the router's telemetry, keeps a bounded window of recent
 * outcomes per route and per budget key, samples in-flight and queued counts every
 * `sampleIntervalMs` for the history chart, and projects a {@link ReadinessSnapshot} on demand.
 * The sampling timer is unref'd, so a tracker never keeps a process alive; call `close()` anyway.
 *
 * @throws TypeError when neither `routes` nor `router` is given; SluiceError kind `config` when
 *   an option is out of range (`sampleIntervalMs: 0`, `windowSize: 0`), naming it and the fix;
 *   ConfigError when `routes` is a config with problems that belong to no route.
 */
export function createReadinessTracker(options: ReadinessTrackerOptions): ReadinessTracker {
  if (!options?.routes && !options?.router) {
    throw new TypeError(
      'createReadinessTracker: pass `routes` (resolved routes) or `router` (whose routes are tracked).',
    );
  }
  if (options.routes !== undefined) checkRoutesSource('createReadinessTracker', options.routes);
  checkOptions('createReadinessTracker', options, {
    ...PROJECTION_RULES,
    windowSize: WINDOW_SIZE_RULE,
    now: {
      schema: z.custom((value) => typeof value === 'function'),
      accepts: 'a function returning epoch ms',
      example: '{ now: Date.now } (the default)',
    },
  });
  const now = options.now ?? Date.now;
  const historyMs = options.historyMs ?? 300_000;
  const sampleIntervalMs = options.sampleIntervalMs ?? 1000;
  const log = createOutcomeLog({ windowSize: options.windowSize });
  const listeners = new Set<() => void>();
  const history: HistorySample[] = [];
  let sessions = options.sessions;
  let closed = false;

  const fixed = options.routes ? routesOf({ ...options, routes: options.routes }) : undefined;
  const problems = fixed?.problems ?? [...(options.problems ?? [])];
  const routes = (): readonly ResolvedRoute[] => fixed?.routes ?? options.router?.routes() ?? [];
  const budgets = (): BudgetSource | undefined => options.budgets ?? options.router?.budgets;

  function notify(): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch {
        // A failing listener must not break telemetry delivery to the others.
      }
    }
  }

  function record(event: SluiceEvent): void {
    if (closed) return;
    log.record(event);
    if (event.type === 'lease-acquired' || event.type === 'queued') watchBudgets();
    notify();
  }

  // Budgets open lazily (on a route's first request), and leases of workers and child processes
  // reach the parent's budget without any router event here: watch each budget as it appears.
  const watched = new Map<string, Array<() => void>>();
  function watchBudgets(): void {
    const source = budgets();
    const list = !source ? [] : Array.isArray(source) ? source : (source as BudgetRegistry).list();
    for (const budget of list) {
      if (watched.has(budget.key)) continue;
      watched.set(
        budget.key,
        (['queued', 'acquired', 'released', 'cooldown', 'resized'] as const).map((name) =>
          budget.on(name, notify),
        ),
      );
    }
  }

  function sample(): void {
    watchBudgets();
    const at = now();
    const next = sampleHistory({ routes: routes(), budgets: budgets(), log, now: at });
    const changed = !sameCounts(history.at(-1), next);
    history.push(next);
    while (history.length > 0 && (history[0]?.at ?? at) < at - historyMs) history.shift();
    if (changed) notify();
  }

  const unsubscribe = options.router?.subscribe(record);
  sample();
  const timer = setInterval(sample, sampleIntervalMs);
  timer.unref?.();

  return {
    snapshot() {
      const at = now();
      return buildSnapshot({
        ...options,
        routes: routes(),
        problems,
        budgets: budgets(),
        defaultRoute: defaultRouteOf(options, fixed?.defaultRoute),
        log,
        history,
        historyMs,
        sampleIntervalMs,
        sessions: sessions?.() ?? null,
        now: at,
      });
    },
    record,
    setSessions(source) {
      sessions = source;
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe?.();
      for (const offs of watched.values()) offs.forEach((off) => off());
      watched.clear();
      listeners.clear();
    },
  };
}

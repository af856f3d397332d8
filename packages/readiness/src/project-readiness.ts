import type { Budget, BudgetRegistry, ResolvedRoute, SluiceEvent } from '@sluice/core';
import { adaptiveLimitOf, SluiceError, valueForMessage } from '@sluice/core';
import { z } from 'zod';

import { checkOptions, checkRoutesSource, PROJECTION_RULES } from './check-options.js';
import {
  DEFAULT_THRESHOLDS,
  decideRouteState,
  type RouteProblem,
  type StateThresholds,
} from './decide-route-state.js';
import { createOutcomeLog, percentiles, type OutcomeLog } from './outcome-log.js';
import type {
  BudgetGauge,
  CatalogFacts,
  HistorySample,
  ProviderGauge,
  ReadinessSession,
  ReadinessSnapshot,
  RecentOutcomes,
  RouteReadiness,
} from './readiness-schema.js';
import { redactDeep, redactEndpoint } from './redact-endpoint.js';
import { resolveReadinessRoutes, type ConfigRoutesSource } from './resolve-readiness-routes.js';

/** Where live budget state comes from: a registry (e.g. `router.budgets`) or a list of budgets. */
export type BudgetSource = BudgetRegistry | readonly Budget[];

/** Options shared by {@link projectReadiness} and the tracker. */
export interface ProjectionOptions extends Partial<StateThresholds> {
  /** Length of the in-flight/queued history, in ms. Default 300 000 (5 min). */
  historyMs?: number;
  /** Interval between history samples, in ms. Default 1000. */
  sampleIntervalMs?: number;
}

/** What {@link projectReadiness} reads. Everything but `routes` is optional. */
export interface ProjectReadinessInput extends ProjectionOptions {
  /**
   * Resolved routes (e.g. `router.routes()`), or a route config with its descriptors, resolved
   * here by {@link resolveReadinessRoutes} so a broken route shows as `invalid-route` instead of
   * hiding the others.
   */
  routes: readonly ResolvedRoute[] | ConfigRoutesSource;
  /** Routes the config names that did not resolve; each becomes an `invalid-route` row. */
  problems?: readonly RouteProblem[];
  /** Name of the default route; default: the first route. */
  defaultRoute?: string;
  /** Recorded router telemetry, oldest first. */
  events?: readonly SluiceEvent[];
  budgets?: BudgetSource;
  /** A fleet's session tree (roots), shown by the dashboard. */
  sessions?: readonly ReadinessSession[] | ReadinessSession | null;
  /** In-flight/queued samples, oldest first (the tracker keeps them). */
  history?: readonly HistorySample[];
  /** Epoch ms the snapshot is taken at. Default `Date.now()`. */
  now?: number;
}

/** The internal input of {@link buildSnapshot}: a projection over an existing outcome log. */
export interface SnapshotInput extends Omit<ProjectReadinessInput, 'events' | 'routes'> {
  routes: readonly ResolvedRoute[];
  log: OutcomeLog;
}

/** Routes, problems and default route from either form of `routes`. */
export function routesOf(input: {
  routes: readonly ResolvedRoute[] | ConfigRoutesSource;
  problems?: readonly RouteProblem[];
  defaultRoute?: string;
}): { routes: readonly ResolvedRoute[]; problems: RouteProblem[]; defaultRoute?: string } {
  if (Array.isArray(input.routes)) {
    return {
      routes: input.routes,
      problems: [...(input.problems ?? [])],
      ...(input.defaultRoute ? { defaultRoute: input.defaultRoute } : {}),
    };
  }
  const resolved = resolveReadinessRoutes(input.routes as ConfigRoutesSource);
  const defaultRoute = input.defaultRoute ?? resolved.defaultRoute;
  return {
    routes: resolved.routes,
    problems: [...resolved.problems, ...(input.problems ?? [])],
    ...(defaultRoute ? { defaultRoute } : {}),
  };
}

function listBudgets(source: BudgetSource | undefined): readonly Budget[] {
  if (!source) return [];
  return Array.isArray(source) ? source : (source as BudgetRegistry).list();
}

function catalogFacts(route: ResolvedRoute): CatalogFacts | null {
  const info = route.modelInfo;
  if (!info) return null;
  return {
    modelId: info.id,
    displayName: info.displayName ?? null,
    contextWindow: info.contextWindow,
    maxOutputTokens: info.maxOutputTokens,
    capabilities: {
      reasoning: info.capabilities.reasoning ?? false,
      tools: info.capabilities.tools ?? false,
      vision: info.capabilities.vision ?? false,
      streaming: info.capabilities.streaming ?? true,
    },
  };
}

/** Live counts of one budget key: from the budget object when there is one, else from telemetry. */
export function gaugeOf(
  key: string,
  fallbackLimit: number,
  budgets: readonly Budget[],
  log: OutcomeLog,
  now: number,
): BudgetGauge {
  const budget = budgets.find((candidate) => candidate.key === key);
  const logged = log.budget(key);
  const waits = logged?.leaseWaitMs ?? [];
  const live = [...(logged?.live.values() ?? [])];
  const cooldownUntil = Math.max(budget?.cooldownUntil ?? 0, logged?.cooldownUntil ?? 0);
  const cooldownRemainingMs = Math.max(0, cooldownUntil - now);
  const [leaseWaitP50Ms = null, leaseWaitP95Ms = null] = percentiles(waits, [50, 95]);

  return {
    key,
    backend: budget?.backend ?? 'events',
    active: budget ? budget.active : live.filter((state) => state === 'active').length,
    limit: budget ? budget.limit : fallbackLimit,
    queued: budget ? budget.pending : live.filter((state) => state === 'queued').length,
    cooldownRemainingMs,
    cooldownReason: cooldownRemainingMs > 0 ? (logged?.cooldownReason ?? null) : null,
    leaseWaitP50Ms,
    leaseWaitP95Ms,
    health: budget?.health
      ? { state: budget.health.state, detail: budget.health.detail ?? null }
      : null,
    ...adaptiveOf(budget),
  };
}

/** The adaptive limit of a budget, for the gauge: range, last reason, the latest changes. */
function adaptiveOf(budget: Budget | undefined): Pick<BudgetGauge, 'adaptive'> {
  const adaptive = budget ? adaptiveLimitOf(budget) : undefined;
  if (adaptive === undefined) return {};
  const history = adaptive.history().slice(-50);
  return {
    adaptive: {
      min: adaptive.settings.min,
      max: adaptive.settings.max,
      lastReason: adaptive.lastReason ?? null,
      history: history.map((change) => ({
        at: change.time,
        limit: change.limit,
        previous: change.previous,
        reason: change.reason,
      })),
    },
  };
}

function recentOf(log: OutcomeLog, name: string): RecentOutcomes {
  const routeLog = log.route(name);
  const finished = routeLog?.finished ?? [];
  // Failed requests (final outcomes) by kind, consistent with `failures`; every failed attempt
  // (retries and fallbacks included) is counted apart, in `failedAttemptsByKind`.
  const failuresByKind: Record<string, number> = {};
  for (const request of finished) {
    if (request.outcome !== 'failure') continue;
    const kind = request.kind ?? 'unknown';
    failuresByKind[kind] = (failuresByKind[kind] ?? 0) + 1;
  }
  const failedAttemptsByKind: Record<string, number> = {};
  for (const attempt of routeLog?.failedAttempts ?? []) {
    failedAttemptsByKind[attempt.kind] = (failedAttemptsByKind[attempt.kind] ?? 0) + 1;
  }
  const successes = finished.filter((request) => request.outcome === 'success').length;
  const [ttftP50Ms = null, ttftP95Ms = null] = percentiles(routeLog?.ttftMs ?? [], [50, 95]);
  return {
    requests: finished.length,
    successes,
    failures: finished.length - successes,
    ttftP50Ms,
    ttftP95Ms,
    failuresByKind,
    failedAttemptsByKind,
    lastError: routeLog?.lastError ? { ...routeLog.lastError } : null,
    lastSuccessAt: routeLog?.lastSuccessAt ?? null,
  };
}

/** One in-flight/queued sample of every budget key the routes and budgets know. */
export function sampleHistory(input: {
  routes: readonly ResolvedRoute[];
  budgets?: BudgetSource;
  log: OutcomeLog;
  now: number;
}): HistorySample {
  const budgets = listBudgets(input.budgets);
  const keys = new Set<string>([
    ...input.routes.map((route) => route.budgetKey),
    ...budgets.map((budget) => budget.key),
    ...input.log.budgetKeys(),
  ]);
  const byBudget: HistorySample['byBudget'] = {};
  let active = 0;
  let queued = 0;
  for (const key of keys) {
    const limit = input.routes.find((route) => route.budgetKey === key)?.maxConcurrency ?? 0;
    const gauge = gaugeOf(key, limit, budgets, input.log, input.now);
    byBudget[key] = { active: gauge.active, queued: gauge.queued };
    active += gauge.active;
    queued += gauge.queued;
  }
  return { at: input.now, active, queued, byBudget };
}

function providerGauges(
  routes: readonly ResolvedRoute[],
  budgets: readonly Budget[],
  log: OutcomeLog,
  now: number,
): ProviderGauge[] {
  const keys = new Set<string>([
    ...routes.map((route) => route.budgetKey),
    ...budgets.map((budget) => budget.key),
    ...log.budgetKeys(),
  ]);
  return [...keys].map((key) => {
    const users = routes.filter((route) => route.budgetKey === key);
    const first = users[0];
    return {
      ...gaugeOf(key, first?.maxConcurrency ?? 0, budgets, log, now),
      instance: first?.instance ?? null,
      providerId: first?.provider.id ?? null,
      displayName: first?.provider.displayName ?? null,
      routes: users.map((route) => route.name),
    };
  });
}

function toSessionList(sessions: ProjectReadinessInput['sessions']): ReadinessSnapshot['sessions'] {
  if (!sessions) return null;
  return Array.isArray(sessions) ? [...sessions] : [sessions as ReadinessSession];
}

/**
 * Builds a snapshot from an outcome log that is already filled. The tracker calls this on every
 * `snapshot()`; {@link projectReadiness} fills a fresh log from recorded events first.
 */
export function buildSnapshot(input: SnapshotInput): ReadinessSnapshot {
  const now = input.now ?? Date.now();
  const thresholds: StateThresholds = {
    recentWindowMs: input.recentWindowMs ?? DEFAULT_THRESHOLDS.recentWindowMs,
    queueSaturation: input.queueSaturation ?? DEFAULT_THRESHOLDS.queueSaturation,
    failingStreak: input.failingStreak ?? DEFAULT_THRESHOLDS.failingStreak,
  };
  const budgets = listBudgets(input.budgets);
  const problems = input.problems ?? [];
  const secrets = input.routes.flatMap((route) => (route.apiKey ? [route.apiKey] : []));

  // Every name once, in config order: resolved routes first, then the ones that did not resolve.
  const names = [
    ...new Set([...input.routes.map((route) => route.name), ...problems.map((p) => p.route)]),
  ];
  const defaultRoute = input.defaultRoute ?? names[0] ?? null;

  const routes: RouteReadiness[] = names.map((name) => {
    const route = input.routes.find((candidate) => candidate.name === name);
    const problem = problems.find((candidate) => candidate.route === name);
    const budget = route
      ? gaugeOf(route.budgetKey, route.maxConcurrency, budgets, input.log, now)
      : null;
    const verdict = decideRouteState({
      name,
      route,
      problem,
      budget,
      log: input.log.route(name),
      now,
      thresholds,
    });
    return {
      name,
      isDefault: name === defaultRoute,
      instance: route?.instance ?? null,
      providerId: route?.provider.id ?? null,
      endpoint: route ? redactEndpoint(route.url, secrets) : null,
      model: route?.model ?? null,
      fallbacks: route?.fallbacks ?? [],
      catalog: route ? catalogFacts(route) : null,
      budget,
      recent: recentOf(input.log, name),
      ...verdict,
    };
  });

  const snapshot: ReadinessSnapshot = {
    schemaVersion: 1,
    generatedAt: now,
    defaultRoute,
    routes,
    providers: providerGauges(input.routes, budgets, input.log, now),
    history: {
      windowMs: input.historyMs ?? 300_000,
      sampleIntervalMs: input.sampleIntervalMs ?? 1000,
      samples: [...(input.history ?? [])],
    },
    sessions: toSessionList(input.sessions),
  };

  // Last line of defence: whatever a provider put in an error message or a budget key, no key
  // value of any route leaves this function.
  return redactDeep(snapshot, secrets);
}

/**
 * Projects readiness without a running router: routes (and the problems of routes that did not
 * resolve), optionally recorded telemetry and live budgets, into a {@link ReadinessSnapshot}.
 * Pure: the same input gives the same snapshot.
 *
 * This is what `sluice check` without `--probe` shows, and what tests replay recorded event
 * sequences through.
 *
 * @throws SluiceError kind `config` when `routes` is missing or neither resolved routes nor
 *   `{ config, providers }`, or a threshold is out of range (`failingStreak: 0`), naming the
 *   field and the fix; ConfigError when `routes` is a config with problems that belong to no
 *   route.
 */
export function projectReadiness(input: ProjectReadinessInput): ReadinessSnapshot {
  if (typeof input !== 'object' || input === null) {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `projectReadiness: input must be an object with routes, got ${valueForMessage(input)}.`,
      hint: 'Call projectReadiness({ routes: await loadConfig() }) or projectReadiness({ routes: router.routes() }).',
    });
  }
  checkRoutesSource('projectReadiness', input.routes);
  checkOptions('projectReadiness', input, {
    ...PROJECTION_RULES,
    now: {
      schema: z.number().finite(),
      accepts: 'epoch ms',
      example: '{ now: Date.now() } (the default)',
    },
  });
  const log = createOutcomeLog();
  for (const event of input.events ?? []) log.record(event);
  return buildSnapshot({ ...input, ...routesOf(input), log });
}

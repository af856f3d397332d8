import type { ResolvedRoute } from '@sluice/core';
import { LOAD_KINDS, type RouteLog } from './outcome-log.js';
import { redactEndpoint } from './redact-endpoint.js';
import type { BudgetGauge, ReadinessState } from './readiness-schema.js';

/**
 * A route the config names but that could not be resolved: a missing provider instance, an
 * unknown descriptor, a fallback naming no route. `reference` is the broken name.
 */
export interface RouteProblem {
  route: string;
  /** What is wrong, one sentence, e.g. `provider instance "glmm" is not declared`. */
  message: string;
  /** The name that does not resolve, e.g. `glmm`. */
  reference?: string;
  /** Config path of the field, e.g. `routes.fast.provider`. */
  path?: string;
  /** What to do; a default naming the path is used when absent. */
  fix?: string;
}

/** Thresholds of the state decision. */
export interface StateThresholds {
  /** How far back a rate-limit or overload signal makes a route degraded, in ms. Default 60 000. */
  recentWindowMs: number;
  /** Queued requests per slot of the limit at which the queue counts as saturated. Default 1. */
  queueSaturation: number;
  /** This many failed requests in a row make a route failing whatever their kind. Default 3. */
  failingStreak: number;
}

/** Default {@link StateThresholds}. */
export const DEFAULT_THRESHOLDS: StateThresholds = {
  recentWindowMs: 60_000,
  queueSaturation: 1,
  failingStreak: 3,
};

/** A state with its reason and fix. */
export interface StateVerdict {
  state: ReadinessState;
  reason: string;
  fix: string | null;
}

/** What {@link decideRouteState} reads. */
export interface StateInput {
  name: string;
  route: ResolvedRoute | undefined;
  problem: RouteProblem | undefined;
  budget: BudgetGauge | null;
  log: RouteLog | undefined;
  now: number;
  thresholds: StateThresholds;
}

/** `3 s`, `2 min`, `1.5 h`: a duration for messages. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/** `count` and the noun, singular for exactly one ("1 slot", "3 slots"). */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function invalidVerdict(name: string, problem: RouteProblem): StateVerdict {
  const where = problem.path ?? `routes.${name}`;
  const fix =
    problem.fix ??
    (problem.reference
      ? `Fix "${problem.reference}" at ${where}: declare it or name an existing one.`
      : `Fix ${where} in the route config.`);
  return { state: 'invalid-route', reason: problem.message, fix };
}

function missingCredentialVerdict(route: ResolvedRoute): StateVerdict {
  const tried =
    route.apiKeyEnvTried.length > 0 ? route.apiKeyEnvTried : route.provider.auth.envVars;
  const envList = tried.length > 0 ? tried.join(', ') : 'none';
  const first = tried[0];
  return {
    state: 'missing-credential',
    reason: `No API key for provider instance "${route.instance}" (env vars tried: ${envList}).`,
    fix: first
      ? `Set ${first} in the environment, or set providers.${route.instance}.apiKey to "env:NAME".`
      : `Set providers.${route.instance}.apiKey to "env:NAME" naming the variable that holds the key.`,
  };
}

function catalogIds(route: ResolvedRoute): string {
  const ids = route.provider.catalog.map((model) => model.id);
  return ids.length > 6 ? `${ids.slice(0, 6).join(', ')}, …` : ids.join(', ');
}

/** The fix for a route whose last requests failed with `kind`. */
function failingFix(kind: string, name: string, route: ResolvedRoute | undefined): string {
  const instance = route?.instance ?? '?';
  switch (kind) {
    case 'auth':
      return `The provider refused the key from ${route?.apiKeySource ?? 'the config'}: check it is valid for ${route?.provider.displayName ?? instance}.`;
    case 'billing':
    case 'quota':
      return `Check the balance or plan of the account behind providers.${instance} (${kind}).`;
    case 'network':
      return `Check that the endpoint of providers.${instance} is reachable from here (DNS, proxy, firewall).`;
    case 'timeout':
      return `Check the provider's status, or raise providers.${instance}.timeouts if long silences are expected.`;
    case 'model-not-found': {
      // A plain 404 is read as an unknown model, but a wrong endpoint path answers 404 too.
      const endpoint = route
        ? ` If the model is right, check the endpoint of providers.${instance} (${redactEndpoint(route.url, [route.apiKey])}): a wrong path also answers 404.`
        : '';
      return route && route.provider.catalog.length > 0
        ? `Check routes.${name}.model ("${route.model}"); the catalog lists ${catalogIds(route)}.${endpoint}`
        : `Check routes.${name}.model; the provider does not serve it.${endpoint}`;
    }
    case 'bad-request':
    case 'context-length':
    case 'content-filter':
      return `The provider rejected the request (${kind}); check routes.${name}.model and the request size.`;
    case 'config':
      return `Fix the route config of routes.${name}; see the last error.`;
    case 'budget-unavailable':
      return `The shared budget backend is unreachable; check the budget broker or Redis behind providers.${instance}.`;
    case 'rate-limit':
    case 'overloaded':
    case 'queue-timeout':
      return `Lower providers.${instance}.maxConcurrency (now ${route?.maxConcurrency ?? '?'}) or wait for the provider's limit to reset.`;
    default:
      return `The provider is failing (${kind}); retry later or add a fallback to routes.${name}.fallbacks.`;
  }
}

function failingVerdict(input: StateInput): StateVerdict | undefined {
  const finished = input.log?.finished ?? [];
  const last = finished.at(-1);
  if (!last || last.outcome !== 'failure') return undefined;

  const kind = last.kind ?? 'unknown';
  const streak = finished.slice(-input.thresholds.failingStreak);
  const longStreak =
    streak.length >= input.thresholds.failingStreak &&
    streak.every((request) => request.outcome === 'failure');

  // One failure of a load kind (rate limit, overload, queue timeout) means "busy", not "broken":
  // it shows as degraded until it happens often enough in a row.
  if (LOAD_KINDS.has(kind) && !longStreak) return undefined;

  const message = input.log?.lastError?.message;
  const count =
    longStreak && streak.length > 1
      ? `The last ${streak.length} requests failed`
      : 'The last request failed';
  return {
    state: 'failing',
    reason: `${count} (${kind})${message ? `: ${message}` : '.'}`,
    fix: failingFix(kind, input.name, input.route),
  };
}

function degradedVerdict(input: StateInput): StateVerdict | undefined {
  const { budget, route, thresholds, now } = input;
  const instance = route?.instance ?? '?';
  const limitText = `providers.${instance}.maxConcurrency (now ${route?.maxConcurrency ?? budget?.limit ?? '?'})`;

  // A shared backend that is down or reconnecting: acquisitions fail fast (or run at a local cap
  // of 1), so the route cannot work at full speed whatever the provider does.
  if (budget?.health && budget.health.state !== 'ok') {
    const detail = budget.health.detail ? `: ${budget.health.detail}` : '';
    return {
      state: 'degraded',
      reason: `The ${budget.backend} budget backend of ${budget.key} is ${budget.health.state}${detail}.`,
      fix: `Check the ${budget.backend === 'redis' ? 'Redis server' : 'budget owner (parent process or broker)'} behind providers.${instance}.budget; requests fail fast until it is back.`,
    };
  }

  if (budget && budget.cooldownRemainingMs > 0) {
    const why = budget.cooldownReason ? ` (${budget.cooldownReason})` : '';
    return {
      state: 'degraded',
      reason: `Cooldown active: no lease is granted on ${budget.key} for another ${formatDurationMs(budget.cooldownRemainingMs)}${why}.`,
      fix: `Requests wait the cooldown out together; if it recurs, lower ${limitText}.`,
    };
  }

  if (budget && budget.limit > 0 && budget.queued >= budget.limit * thresholds.queueSaturation) {
    return {
      state: 'degraded',
      reason: `Queue saturated: ${plural(budget.queued, 'request')} ${budget.queued === 1 ? 'waits' : 'wait'} for ${plural(budget.limit, 'slot')} of ${budget.key} (${budget.active} in flight).`,
      fix: `Expect waits; lower the fan-out, or raise ${limitText} if the provider really serves more.`,
    };
  }

  const since = now - thresholds.recentWindowMs;
  const signals = (input.log?.failedAttempts ?? []).filter(
    (attempt) => attempt.at >= since && LOAD_KINDS.has(attempt.kind),
  );
  if (signals.length > 0) {
    const kinds = [...new Set(signals.map((s) => s.kind))].join(', ');
    const codes = [...new Set(signals.flatMap((s) => (s.providerCode ? [s.providerCode] : [])))];
    const codeText = codes.length > 0 ? `, provider code ${codes.join(', ')}` : '';
    return {
      state: 'degraded',
      reason: `${plural(signals.length, `${kinds} signal`)}${codeText} in the last ${formatDurationMs(thresholds.recentWindowMs)}.`,
      fix: `The provider serves less than asked: lower ${limitText}.`,
    };
  }
  return undefined;
}

/**
 * Decides the state of one route, with its reason and fix. Precedence, first match wins:
 * invalid-route, missing-credential, failing, degraded, ready, model-not-in-catalog, not-checked
 * (the order of `READINESS_STATE_PRECEDENCE`).
 */
export function decideRouteState(input: StateInput): StateVerdict {
  const { route, problem, log, now } = input;

  if (problem || !route) {
    return invalidVerdict(
      input.name,
      problem ?? { route: input.name, message: `Route "${input.name}" is not declared.` },
    );
  }

  if (route.provider.auth.type === 'bearer' && !route.apiKey) {
    return missingCredentialVerdict(route);
  }

  const failing = failingVerdict(input);
  if (failing) return failing;

  const degraded = degradedVerdict(input);
  if (degraded) return degraded;

  if (log?.lastSuccessAt != null) {
    const notInCatalog =
      !route.modelInfo && route.provider.catalog.length > 0
        ? ` Model "${route.model}" is not in the catalog, so its limits are unknown.`
        : '';
    return {
      state: 'ready',
      reason: `Last request succeeded ${formatDurationMs(Math.max(0, now - log.lastSuccessAt))} ago.${notInCatalog}`,
      fix: null,
    };
  }

  if (!route.modelInfo && route.provider.catalog.length > 0) {
    return {
      state: 'model-not-in-catalog',
      reason: `Model "${route.model}" is not in the catalog of ${route.provider.displayName} (${route.provider.id}).`,
      fix: `Use a catalog model in routes.${input.name}.model (${catalogIds(route)}), or probe to check that the provider serves "${route.model}".`,
    };
  }

  return {
    state: 'not-checked',
    reason: 'The config is valid, but no request has finished on this route yet.',
    fix: 'Probe the route (sluice check --probe) or send a request to see whether it works.',
  };
}

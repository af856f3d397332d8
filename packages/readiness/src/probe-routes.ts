import { SluiceError, valueForMessage, type ResolvedRoute, type Router } from '@sluice/core';
import { z } from 'zod';

import { checkOptions, wholeMs, type OptionRule } from './check-options.js';

/** Options of {@link probeRoutes}. */
export interface ProbeOptions {
  /** Aborting cancels every probe still running; their leases are freed by the router. */
  signal?: AbortSignal;
  /**
   * Longest a single probe may take, in ms, queue wait included: a whole number from 1 to
   * 2 147 483 647. Default 30 000.
   */
  timeoutMs?: number;
}

const PROBE_OPTION_RULES: Record<string, OptionRule> = {
  signal: {
    schema: z.instanceof(AbortSignal),
    accepts: 'an AbortSignal',
    example: '{ signal: AbortSignal.timeout(60_000) }',
  },
  timeoutMs: wholeMs(1, '{ timeoutMs: 30_000 } (the default)'),
};

/** @throws SluiceError kind `config` naming the argument of probeRoutes that is not accepted. */
function checkProbeArguments(routes: unknown, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `probeRoutes: options must be an object, got ${valueForMessage(options)}.`,
      hint: 'Call probeRoutes(router, routes, { timeoutMs, signal }), or leave options out.',
    });
  }
  checkOptions('probeRoutes', options, PROBE_OPTION_RULES, true);
  if (routes === undefined) return;
  const bad = Array.isArray(routes)
    ? routes.findIndex((route) => typeof route !== 'string' && !isResolvedRoute(route))
    : -1;
  if (!Array.isArray(routes) || bad >= 0) {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: Array.isArray(routes)
        ? `probeRoutes: routes[${bad}] must be a route name or a resolved route, got ${valueForMessage(routes[bad])}.`
        : `probeRoutes: routes must be an array of route names or resolved routes, got ${valueForMessage(routes)}.`,
      hint: "Pass e.g. ['default'] or router.routes(), or undefined to probe every route.",
    });
  }
}

function isResolvedRoute(value: unknown): value is ResolvedRoute {
  const route = value as Partial<ResolvedRoute> | null;
  return (
    typeof route === 'object' &&
    route !== null &&
    typeof route.name === 'string' &&
    typeof route.provider?.auth === 'object'
  );
}

/** The outcome of one probe. */
export interface ProbeResult {
  route: string;
  outcome: 'success' | 'failure' | 'skipped';
  /** Send to end, queue wait included, in ms. */
  durationMs: number;
  /** Why a probe failed or was skipped; no secrets. */
  error?: { kind: string; code: string; message: string };
}

/** The request a probe sends: the smallest that exercises auth, model and streaming. */
export const PROBE_REQUEST = {
  messages: [{ role: 'user' as const, content: 'ping' }],
  maxTokens: 1,
};

async function probeOne(
  router: Pick<Router, 'chat'>,
  route: ResolvedRoute,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const startedAt = performance.now();

  // No key, no point: the provider would answer 401 and count against its rate limit.
  if (route.provider.auth.type === 'bearer' && !route.apiKey) {
    return {
      route: route.name,
      outcome: 'skipped',
      durationMs: 0,
      error: {
        kind: 'auth',
        code: 'SLUICE_AUTH',
        message: `No API key for provider instance "${route.instance}".`,
      },
    };
  }

  const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
  if (options.signal) signals.push(options.signal);
  try {
    // Through router.chat like any other request: the probe queues for a lease of the route's
    // budget, so probing never pushes a provider past its limit.
    await router
      .chat(PROBE_REQUEST, { route: route.name, signal: AbortSignal.any(signals) })
      .text();
    return { route: route.name, outcome: 'success', durationMs: performance.now() - startedAt };
  } catch (error) {
    const durationMs = performance.now() - startedAt;
    if (SluiceError.isInstance(error)) {
      return {
        route: route.name,
        outcome: 'failure',
        durationMs,
        error: { kind: error.kind, code: error.code, message: error.message },
      };
    }
    const message = error instanceof Error ? error.message : String(error);
    return {
      route: route.name,
      outcome: 'failure',
      durationMs,
      error: { kind: 'unknown', code: 'SLUICE_UNKNOWN', message },
    };
  }
}

/**
 * Sends a minimal request (`ping`, `maxTokens: 1`) per route through `router.chat`, all at once;
 * the routes' budgets bound how many run in parallel. A tracker subscribed to the same router
 * sees the outcomes as telemetry, so a passed probe turns a route `ready`. Never rejects: each
 * route gets a {@link ProbeResult}. Routes without a required API key are skipped.
 *
 * @param routes Route names or resolved routes; default `router.routes()`.
 * @throws SluiceError kind `config`, synchronously and before any probe is sent, when an
 *   argument is not accepted: `timeoutMs` not a whole number of ms from 1 to 2147483647, `signal`
 *   not an AbortSignal, an unknown option, `routes` not an array of names or resolved routes.
 */
export function probeRoutes(
  router: Pick<Router, 'chat' | 'routes' | 'route'>,
  routes?: ReadonlyArray<string | ResolvedRoute>,
  options: ProbeOptions = {},
): Promise<ProbeResult[]> {
  checkProbeArguments(routes, options);
  const targets = routes ?? router.routes();
  return Promise.all(
    targets.map((target) => {
      if (typeof target !== 'string') return probeOne(router, target, options);
      let route: ResolvedRoute;
      try {
        route = router.route(target);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return Promise.resolve<ProbeResult>({
          route: target,
          outcome: 'failure',
          durationMs: 0,
          error: { kind: 'config', code: 'SLUICE_CONFIG', message },
        });
      }
      return probeOne(router, route, options);
    }),
  );
}

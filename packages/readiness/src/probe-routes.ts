import { SluiceError, type ResolvedRoute, type Router } from '@sluice/core';

/** Options of {@link probeRoutes}. */
export interface ProbeOptions {
  /** Aborting cancels every probe still running; their leases are freed by the router. */
  signal?: AbortSignal;
  /** Longest a single probe may take, in ms, queue wait included. Default 30 000. */
  timeoutMs?: number;
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
 */
export async function probeRoutes(
  router: Pick<Router, 'chat' | 'routes' | 'route'>,
  routes?: ReadonlyArray<string | ResolvedRoute>,
  options: ProbeOptions = {},
): Promise<ProbeResult[]> {
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

import { Gauge, Registry } from 'prom-client';
import { READINESS_STATE_PRECEDENCE, type ReadinessSnapshot } from './readiness-schema.js';

/** Options of {@link createReadinessMetrics}. */
export interface ReadinessMetricsOptions {
  /** Where the numbers come from: called once per scrape. */
  snapshot: () => ReadinessSnapshot;
  /** Metric name prefix. Default `sluice_`. */
  prefix?: string;
}

/** Prometheus metrics of readiness, in a registry of their own. */
export interface ReadinessMetrics {
  /** The registry the gauges live in; never prom-client's global one. */
  readonly registry: Registry;
  /** The exposition content type, for the `Content-Type` header. */
  readonly contentType: string;
  /** Takes one snapshot, sets every gauge from it and returns the text exposition. */
  render(): Promise<string>;
}

const seconds = (ms: number | null): number | undefined => (ms === null ? undefined : ms / 1000);

/**
 * Creates Prometheus gauges for route states, TTFT, failures, and per-budget in-flight, limit,
 * queued, cooldown and lease wait, all set from one snapshot per scrape so the numbers agree
 * with `/readiness.json`. Uses its own registry: several dashboards in one process, or an
 * application with its own prom-client metrics, never collide.
 */
export function createReadinessMetrics(options: ReadinessMetricsOptions): ReadinessMetrics {
  const prefix = options.prefix ?? 'sluice_';
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Gauge<L>({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });

  const routeState = gauge('route_state', '1 for the state a route is in, 0 otherwise.', [
    'route',
    'state',
  ]);
  const routeReady = gauge('route_ready', '1 when the route is ready.', ['route']);
  const ttft = gauge('route_ttft_seconds', 'Time to first token over recent requests.', [
    'route',
    'quantile',
  ]);
  const failures = gauge(
    'route_failures',
    'Failed requests (after retries) in the recent window, by kind.',
    ['route', 'kind'],
  );
  const failedAttempts = gauge(
    'route_failed_attempts',
    'Failed attempts (retries and fallbacks included) in the recent window, by kind.',
    ['route', 'kind'],
  );
  const lastSuccess = gauge(
    'route_last_success_timestamp_seconds',
    'When the route last answered successfully (unix seconds).',
    ['route'],
  );
  const budgetLabels: Array<'budget' | 'instance' | 'provider'> = [
    'budget',
    'instance',
    'provider',
  ];
  const active = gauge('budget_active', 'Leases held now (requests in flight).', budgetLabels);
  const limit = gauge('budget_limit', 'In-flight cap of the budget; 0 = no cap.', budgetLabels);
  const queued = gauge('budget_queued', 'Requests waiting for a lease now.', budgetLabels);
  const cooldown = gauge(
    'budget_cooldown_remaining_seconds',
    'Seconds until the budget grants leases again after a rate limit.',
    budgetLabels,
  );
  const leaseWait = gauge('budget_lease_wait_seconds', 'Lease wait over recent acquires.', [
    ...budgetLabels,
    'quantile',
  ]);

  function apply(snapshot: ReadinessSnapshot): void {
    registry.resetMetrics();
    for (const route of snapshot.routes) {
      for (const state of READINESS_STATE_PRECEDENCE) {
        routeState.set({ route: route.name, state }, route.state === state ? 1 : 0);
      }
      routeReady.set({ route: route.name }, route.state === 'ready' ? 1 : 0);
      const p50 = seconds(route.recent.ttftP50Ms);
      const p95 = seconds(route.recent.ttftP95Ms);
      if (p50 !== undefined) ttft.set({ route: route.name, quantile: '0.5' }, p50);
      if (p95 !== undefined) ttft.set({ route: route.name, quantile: '0.95' }, p95);
      for (const [kind, count] of Object.entries(route.recent.failuresByKind)) {
        failures.set({ route: route.name, kind }, count);
      }
      for (const [kind, count] of Object.entries(route.recent.failedAttemptsByKind)) {
        failedAttempts.set({ route: route.name, kind }, count);
      }
      if (route.recent.lastSuccessAt !== null) {
        lastSuccess.set({ route: route.name }, route.recent.lastSuccessAt / 1000);
      }
    }
    for (const provider of snapshot.providers) {
      const labels = {
        budget: provider.key,
        instance: provider.instance ?? '',
        provider: provider.providerId ?? '',
      };
      active.set(labels, provider.active);
      limit.set(labels, provider.limit);
      queued.set(labels, provider.queued);
      cooldown.set(labels, provider.cooldownRemainingMs / 1000);
      const p50 = seconds(provider.leaseWaitP50Ms);
      const p95 = seconds(provider.leaseWaitP95Ms);
      if (p50 !== undefined) leaseWait.set({ ...labels, quantile: '0.5' }, p50);
      if (p95 !== undefined) leaseWait.set({ ...labels, quantile: '0.95' }, p95);
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      apply(options.snapshot());
      return registry.metrics();
    },
  };
}

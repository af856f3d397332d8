import type { SluiceErrorKind, SluiceEvent } from '@sluice/core';

/** Kinds that say "the provider is busy" rather than "this route is broken". */
export const LOAD_KINDS: ReadonlySet<string> = new Set<SluiceErrorKind>([
  'rate-limit',
  'overloaded',
  'queue-timeout',
]);

/** One finished request of a route. */
export interface FinishedRequest {
  at: number;
  outcome: 'success' | 'failure';
  kind?: string;
}

/** One failed attempt (a retry, a fallback or a final failure). */
export interface FailedAttempt {
  at: number;
  kind: string;
  providerCode?: string;
}

/** The last failure of a route, as recorded from a `request-end` event. */
export interface RecordedError {
  kind: string;
  code: string;
  message: string;
  status: number | null;
  providerCode: string | null;
  at: number;
}

/** What the log keeps per route: bounded windows of its latest outcomes. */
export interface RouteLog {
  finished: FinishedRequest[];
  failedAttempts: FailedAttempt[];
  ttftMs: number[];
  lastError: RecordedError | null;
  lastSuccessAt: number | null;
}

/** What the log keeps per budget key. */
export interface BudgetLog {
  leaseWaitMs: number[];
  cooldownUntil: number;
  cooldownReason: string | null;
  /** Requests of this key in flight or queued, counted from telemetry alone. */
  live: Map<string, 'queued' | 'active'>;
}

/** Options of {@link createOutcomeLog}. */
export interface OutcomeLogOptions {
  /** How many samples each window keeps. Default 200. */
  windowSize?: number;
}

/** A bounded record of router telemetry, per route and per budget key. */
export interface OutcomeLog {
  record(event: SluiceEvent): void;
  route(name: string): RouteLog | undefined;
  budget(key: string): BudgetLog | undefined;
  budgetKeys(): string[];
}

function pushBounded<T>(list: T[], value: T, size: number): void {
  list.push(value);
  // One in, one out: V8 trims the front of an array in place, so this stays O(1) per event.
  while (list.length > size) list.shift();
}

/**
 * Creates the log that readiness projections read. It keeps, per route, the latest finished
 * requests, failed attempts and times to first token, and per budget key the latest lease waits,
 * the cooldown deadline and the requests live right now; every window is bounded by `windowSize`,
 * so a long-running dashboard holds constant memory.
 */
export function createOutcomeLog(options: OutcomeLogOptions = {}): OutcomeLog {
  const size = options.windowSize ?? 200;
  const routes = new Map<string, RouteLog>();
  const budgets = new Map<string, BudgetLog>();

  // A request-end carries a ttft too; count it only when no first-token event came for the
  // request, so a router that emits both is not counted twice.
  const sawFirstToken = new Set<string>();

  function routeLog(name: string): RouteLog {
    let log = routes.get(name);
    if (!log) {
      log = { finished: [], failedAttempts: [], ttftMs: [], lastError: null, lastSuccessAt: null };
      routes.set(name, log);
    }
    return log;
  }

  function budgetLog(key: string): BudgetLog {
    let log = budgets.get(key);
    if (!log) {
      log = { leaseWaitMs: [], cooldownUntil: 0, cooldownReason: null, live: new Map() };
      budgets.set(key, log);
    }
    return log;
  }

  function recordEnd(event: Extract<SluiceEvent, { type: 'request-end' }>): void {
    const log = routeLog(event.route);
    budgetLog(event.budgetKey).live.delete(event.requestId);

    if (event.ttftMs !== undefined && !sawFirstToken.has(event.requestId)) {
      pushBounded(log.ttftMs, event.ttftMs, size);
    }
    sawFirstToken.delete(event.requestId);

    // A cancelled request says nothing about the route: the caller walked away.
    if (event.outcome === 'cancelled' || event.error?.kind === 'aborted') return;

    if (event.outcome === 'success') {
      pushBounded(log.finished, { at: event.time, outcome: 'success' }, size);
      log.lastSuccessAt = event.time;
      return;
    }

    const kind = event.error?.kind ?? 'unknown';
    pushBounded(log.finished, { at: event.time, outcome: 'failure', kind }, size);
    pushBounded(
      log.failedAttempts,
      { at: event.time, kind, providerCode: event.error?.providerCode },
      size,
    );
    log.lastError = {
      kind,
      code: event.error?.code ?? 'SLUICE_UNKNOWN',
      message: event.error?.message ?? 'The request failed without an error message.',
      status: event.error?.status ?? null,
      providerCode: event.error?.providerCode ?? null,
      at: event.time,
    };
  }

  function record(event: SluiceEvent): void {
    switch (event.type) {
      case 'queued':
        budgetLog(event.budgetKey).live.set(event.requestId, 'queued');
        break;
      case 'lease-acquired': {
        const budget = budgetLog(event.budgetKey);
        budget.live.set(event.requestId, 'active');
        pushBounded(budget.leaseWaitMs, event.waitedMs, size);
        break;
      }
      case 'lease-released':
        budgetLog(event.budgetKey).live.delete(event.requestId);
        break;
      case 'first-token':
        sawFirstToken.add(event.requestId);
        pushBounded(routeLog(event.route).ttftMs, event.ttftMs, size);
        break;
      case 'retry':
        pushBounded(
          routeLog(event.route).failedAttempts,
          { at: event.time, kind: event.kind, providerCode: event.providerCode },
          size,
        );
        break;
      case 'fallback':
        pushBounded(
          routeLog(event.from).failedAttempts,
          { at: event.time, kind: event.kind },
          size,
        );
        break;
      case 'cooldown': {
        const budget = budgetLog(event.budgetKey);
        if (event.untilMs > budget.cooldownUntil) {
          budget.cooldownUntil = event.untilMs;
          budget.cooldownReason = event.reason;
        }
        break;
      }
      case 'request-end':
        recordEnd(event);
        break;
      default:
        break;
    }
  }

  return {
    record,
    route: (name) => routes.get(name),
    budget: (key) => budgets.get(key),
    budgetKeys: () => [...budgets.keys()],
  };
}

/**
 * The p-th percentile (0..100) of `values` by nearest rank, or null for an empty list.
 * Nearest rank returns an observed value, never an interpolated one.
 */
export function percentile(values: readonly number[], p: number): number | null {
  return percentiles(values, [p])[0] ?? null;
}

/** Several nearest-rank percentiles of `values` from one sort; nulls for an empty list. */
export function percentiles(
  values: readonly number[],
  ps: readonly number[],
): Array<number | null> {
  if (values.length === 0) return ps.map(() => null);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => {
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
  });
}

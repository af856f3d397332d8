import type { AcquireOptions, BudgetRegistry, Lease } from '../budget/types.js';
import { SluiceError } from '../errors/sluice-error.js';
import { abortScopeOf, onContextAbort } from './abort-scope.js';
import { holdLease } from './hold-lease-until-end.js';
import type { Middleware, RequestContext } from './types.js';

/** Options of {@link createBudgetMiddleware}. */
export interface BudgetMiddlewareOptions {
  /** Where the route's budget lives; usually {@link defaultBudgetRegistry}. */
  registry: BudgetRegistry;
}

/**
 * The budget step of the pipeline: acquires a lease from the route's budget
 * (`registry.get(route.budgetKey, { limit: route.maxConcurrency })`) with the request's signal,
 * priority, session and `timeouts.queueMs`, then calls `next` and holds the lease until the
 * response body has ended, failed or been cancelled (see `holdLeaseUntilEnd`). When `next`
 * rejects, the lease is released before the error propagates.
 *
 * Emits `queued` (only when the acquire had to wait), `lease-acquired` and `lease-released`
 * through `context.emit`. A queue timeout rejects with a `queue-timeout` SluiceError naming the
 * route; an abort while queued rejects with the signal's reason. Neither ever held a lease.
 *
 * Each call of this middleware (a retry calls it again through `next`) takes its own lease.
 */
export function createBudgetMiddleware(options: BudgetMiddlewareOptions): Middleware {
  const { registry } = options;

  return async function budgetMiddleware(context, next) {
    const route = context.route;
    const budget = registry.get(route.budgetKey, { limit: route.maxConcurrency });

    let lease: Lease;
    try {
      lease = await budget.acquire(new ContextAcquire(context));
    } catch (error) {
      throw withRoute(error, context);
    }

    const onRelease = (held: Lease) => {
      if (context.observed?.() === false) return;
      context.emit({
        ...eventBase(context),
        type: 'lease-released',
        attempt: context.attempt,
        heldMs: performance.now() - held.acquiredAt,
      });
    };

    try {
      if (context.observed?.() !== false) {
        context.emit({
          ...eventBase(context),
          type: 'lease-acquired',
          attempt: context.attempt,
          waitedMs: lease.waitedMs,
        });
      }
      const response = await next(context);
      return holdLease(response, lease, onRelease, (listener) => onContextAbort(context, listener));
    } catch (error) {
      // No response means no body to wait for: the lease goes now.
      if (!lease.released) {
        lease.release();
        onRelease(lease);
      }
      throw error;
    }
  };
}

/**
 * The acquire options of a context: its priority, session, share and queue timeout, with the
 * signal read only if the waiter has to queue (a lease granted at once then makes none).
 */
class ContextAcquire implements AcquireOptions {
  readonly #context: RequestContext;
  readonly priority: number;
  readonly session: string | undefined;
  readonly share: number | undefined;
  readonly timeoutMs: number;
  readonly abort: AcquireOptions['abort'];

  constructor(context: RequestContext) {
    this.#context = context;
    this.priority = context.priority;
    this.session = context.session?.id;
    this.share = context.session?.share;
    this.timeoutMs = context.route.timeouts.queueMs;
    this.abort = abortScopeOf(context);
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }

  // An own function: budgets take it off the options to call later.
  readonly onQueued = (): void => {
    const context = this.#context;
    context.emit({ ...eventBase(context), type: 'queued', attempt: context.attempt });
  };
}

function eventBase(context: RequestContext) {
  const route = context.route;
  return {
    requestId: context.requestId,
    route: route.name,
    instance: route.instance,
    providerId: route.provider.id,
    budgetKey: route.budgetKey,
    sessionId: context.session?.id,
    time: Date.now(),
  };
}

/** Queue timeouts from the budget know the budget key; the caller also wants the route. */
function withRoute(error: unknown, context: RequestContext): unknown {
  if (!SluiceError.isInstance(error) || error.kind !== 'queue-timeout' || error.route) return error;
  return new SluiceError({
    kind: error.kind,
    phase: error.phase,
    retryable: error.retryable,
    message: `Route "${context.route.name}": ${error.message}`,
    route: context.route.name,
    providerId: context.route.provider.id,
    cause: error,
  });
}

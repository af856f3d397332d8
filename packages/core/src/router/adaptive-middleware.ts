import { adaptiveLimitFor } from '../budget/adaptive-limit.js';
import type { LimitChange, LossSignal } from '../budget/adaptive-limit.js';
import type { BudgetRegistry } from '../budget/types.js';
import type { ResolvedRoute } from '../config/resolved-route.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import {
  EVENT_BATCHES,
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from '../pipeline/event-batches.js';
import type { Middleware, ModelResponse, Next, RequestContext } from '../pipeline/types.js';

/** Options of {@link createAdaptiveMiddleware}. */
export interface AdaptiveMiddlewareOptions {
  /** The registry the budget middleware draws from, so both see the same budget object. */
  registry: BudgetRegistry;
}

/**
 * The adaptive-limit step of the pipeline, for routes whose instance set `adaptive`: it sits just
 * inside the budget step, so it runs once per attempt right after the lease was granted (the
 * moment the request is sent, which is what the one-decrease-per-episode rule compares against).
 * It reports each attempt's outcome to the budget's {@link adaptiveLimitFor adaptive limit}:
 * a stream read to its end is a clean stream; a rate limit (429, 1302-class codes), an
 * overloaded answer or a headers timeout is an overload signal; anything else (a bad request, a
 * consumer that stopped reading, an idle timeout mid-stream) says nothing about the provider's
 * capacity and is ignored.
 *
 * Each change is published as a `limit-changed` event by the request that caused it. Routes
 * without `adaptive` pass straight through.
 */
export function createAdaptiveMiddleware(options: AdaptiveMiddlewareOptions): Middleware {
  const { registry } = options;

  // A route without `adaptive` passes through with a plain call, no async hop of its own.
  return function adaptiveMiddleware(context, next) {
    const settings = context.route.adaptive;
    if (settings === undefined) return next(context);
    return adapt(context, next, registry, settings);
  };
}

async function adapt(
  context: RequestContext,
  next: Next,
  registry: BudgetRegistry,
  settings: NonNullable<ResolvedRoute['adaptive']>,
): Promise<ModelResponse> {
  const route = context.route;
  const budget = registry.get(route.budgetKey, { limit: route.maxConcurrency });
  const controller = adaptiveLimitFor(budget, settings);
  const ticket = controller.begin();
  const report = (change: LimitChange | undefined) => {
    if (change !== undefined) publishChange(context, change);
  };
  const fail = (error: unknown) => {
    const signal = overloadSignal(error, route);
    if (signal === undefined) controller.settle(ticket);
    else report(controller.loss(ticket, signal));
  };

  let response;
  try {
    response = await next(context);
  } catch (error) {
    fail(error);
    throw error;
  }
  controller.headers(ticket);

  // Exactly one outcome per ticket: clean end, failure, or (consumer stopped, cancel) settle.
  let open = true;
  const end = (outcome: () => void) => {
    if (!open) return;
    open = false;
    outcome();
  };
  const inner = response;
  return {
    ...inner,
    events: watchOutcome(inner.events, {
      onClean: () => end(() => report(controller.success(ticket))),
      onError: (error) => end(() => fail(error)),
      onStop: () => end(() => controller.settle(ticket)),
    }),
    cancel(reason?: unknown) {
      end(() => controller.settle(ticket));
      inner.cancel(reason);
    },
  };
}

/**
 * What an error says about the provider's capacity: an overload signal with a reason for people,
 * or undefined when it says nothing (auth, bad request, the consumer's abort, a mid-stream idle
 * timeout, which depends on the model's thinking time rather than on load).
 */
export function overloadSignal(error: unknown, route: ResolvedRoute): LossSignal | undefined {
  if (!SluiceError.isInstance(error)) return undefined;
  const from = `from ${route.instance}`;
  const code = error.providerCode ?? (error.status === undefined ? '' : `HTTP ${error.status}`);
  const prefix = code === '' ? '' : `${code} `;

  if (error.kind === 'rate-limit') return { reason: `${prefix}rate limit ${from}` };
  if (error.kind === 'overloaded') return { reason: `${prefix}overloaded ${from}` };
  if (error.kind === 'timeout' && error.phase === 'headers') {
    return { reason: `headers timeout ${from}` };
  }
  return undefined;
}

function publishChange(context: RequestContext, change: LimitChange): void {
  const route = context.route;
  context.emit({
    type: 'limit-changed',
    requestId: context.requestId,
    route: route.name,
    instance: route.instance,
    providerId: route.provider.id,
    budgetKey: change.budgetKey,
    ...(context.session?.id === undefined ? {} : { sessionId: context.session.id }),
    time: change.time,
    attempt: context.attempt,
    limit: change.limit,
    previous: change.previous,
    reason: change.reason,
    direction: change.direction,
  });
}

/** Hooks of {@link watchOutcome}. */
interface OutcomeHooks {
  onClean(): void;
  onError(error: unknown): void;
  /** The consumer stopped before the end (`return()`): neither a clean stream nor a loss. */
  onStop(): void;
}

/**
 * Passes the events through, batch by batch, and reports how the body ended. A stop is reported
 * however early it comes, even before the first read.
 */
function watchOutcome(events: AsyncIterable<ChatEvent>, hooks: OutcomeHooks): BatchedEvents {
  const open = (): EventBatches => {
    const source = eventBatchesOf(events);
    return {
      next: () =>
        source.next().then(
          (batch) => {
            if (batch === undefined) hooks.onClean();
            return batch;
          },
          (error: unknown) => {
            hooks.onError(error);
            throw error;
          },
        ),
      return: () => {
        hooks.onStop();
        source.return();
      },
    };
  };
  return {
    [Symbol.asyncIterator]: () => batchedEvents(open()),
    [EVENT_BATCHES]: open,
  };
}

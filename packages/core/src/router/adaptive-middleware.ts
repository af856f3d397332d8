import { adaptiveLimitFor } from '../budget/adaptive-limit.js';
import type { LimitChange, LossSignal } from '../budget/adaptive-limit.js';
import type { BudgetRegistry } from '../budget/types.js';
import type { ResolvedRoute } from '../config/resolved-route.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { Middleware, RequestContext } from '../pipeline/types.js';

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

  return async function adaptiveMiddleware(context, next) {
    const route = context.route;
    const settings = route.adaptive;
    if (settings === undefined) return next(context);

    const budget = registry.get(route.budgetKey, { limit: route.maxConcurrency });
    const controller = adaptiveLimitFor(budget, settings);
    const ticket = controller.begin();
    const report = (change: LimitChange | undefined) => {
      if (change !== undefined) publishChange(context, change);
    };
    const fail = (error: unknown) => {
      const signal = overloadSignal(error, route);
      if (signal !== undefined) report(controller.loss(ticket, signal));
    };

    let response;
    try {
      response = await next(context);
    } catch (error) {
      fail(error);
      throw error;
    }
    return {
      ...response,
      events: watchOutcome(response.events, {
        onClean: () => report(controller.success(ticket)),
        onError: fail,
      }),
    };
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

/**
 * Passes the events through and calls `onClean` when the source ended normally, `onError` when
 * it failed. A consumer that stops early (break, cancel) triggers neither: that is the caller's
 * choice, not the provider's answer.
 */
async function* watchOutcome(
  events: AsyncIterable<ChatEvent>,
  hooks: { onClean: () => void; onError: (error: unknown) => void },
): AsyncGenerator<ChatEvent> {
  try {
    yield* events;
  } catch (error) {
    hooks.onError(error);
    throw error;
  }
  hooks.onClean();
}

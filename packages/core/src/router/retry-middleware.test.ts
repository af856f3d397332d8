import { describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../budget/budget-registry.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import { attachClassification } from '../transport/error-classification.js';
import {
  scriptedResponse,
  start,
  stop,
  testContext,
  testRoute,
  text,
  type ScriptStep,
} from '../../test/support/test-route.js';
import { RETRY_PRIORITY_BOOST, createRetryMiddleware } from './retry-middleware.js';

const network = () => new SluiceError({ kind: 'network', message: 'reset', phase: 'stream' });

async function drain(response: ModelResponse) {
  const events: ChatEvent[] = [];
  try {
    for await (const event of response.events) events.push(event);
    return { events, error: undefined as unknown };
  } catch (error) {
    return { events, error };
  }
}

/** A Next that plays one script per attempt, or throws the attempt's error. */
function attempts(...plays: Array<ScriptStep[] | Error>) {
  const contexts: Array<{ attempt: number; priority: number }> = [];
  const next: Next = async (context: RequestContext) => {
    contexts.push({ attempt: context.attempt, priority: context.priority });
    const play = plays[contexts.length - 1];
    if (play === undefined) throw new Error('no more attempts scripted');
    if (play instanceof Error) throw play;
    return scriptedResponse(play);
  };
  return { next, contexts };
}

const retry = createRetryMiddleware({ random: () => 0 });

describe('createRetryMiddleware', () => {
  it('retries a failure before output invisibly: one start, the output once', async () => {
    const { next, contexts } = attempts(
      [start(1), { throw: network() }],
      [start(2), text('Hello'), stop],
    );
    const context = testContext(testRoute({ retry: { maxAttempts: 3 } }));
    const { events, error } = await drain(await retry(context, next));

    expect(error).toBeUndefined();
    expect(events).toEqual([start(2), text('Hello'), stop]);
    expect(contexts.map((entry) => entry.attempt)).toEqual([1, 2]);
  });

  it('raises a retried attempt by RETRY_PRIORITY_BOOST so it stays ahead of new work', async () => {
    const { next, contexts } = attempts(network(), [text('ok'), stop]);
    const context = testContext(testRoute({ retry: { maxAttempts: 2 } }), { priority: 10 });
    await drain(await retry(context, next));
    expect(contexts.map((entry) => entry.priority)).toEqual([10, 10 + RETRY_PRIORITY_BOOST]);
    expect(RETRY_PRIORITY_BOOST).toBeGreaterThan(0);
    expect(RETRY_PRIORITY_BOOST).toBeLessThan(1);
  });

  it('turns a failure after output into a mid-stream error keeping the cause, without retrying', async () => {
    const cause = new SluiceError({
      kind: 'server',
      message: 'boom',
      status: 200,
      providerCode: 'x1',
    });
    const { next, contexts } = attempts([start(1), text('Hel'), { throw: cause }], [text('no')]);
    const { events, error } = await drain(
      await retry(testContext(testRoute({ retry: { maxAttempts: 3 } })), next),
    );
    expect(events).toEqual([start(1), text('Hel')]);
    expect(error).toMatchObject({ kind: 'mid-stream', retryable: false, providerCode: 'x1' });
    expect((error as SluiceError).cause).toBe(cause);
    expect(contexts).toHaveLength(1);
  });

  it.each(['auth', 'bad-request', 'billing'] as const)(
    'never retries %s, even when retryOn lists it',
    async (kind) => {
      const failure = new SluiceError({ kind, message: kind, retryable: true });
      const { next, contexts } = attempts(failure, [stop]);
      const route = testRoute({ retry: { maxAttempts: 3, retryOn: [kind] } });
      await expect(retry(testContext(route), next)).rejects.toBe(failure);
      expect(contexts).toHaveLength(1);
    },
  );

  it('stops after maxAttempts and rethrows the last failure', async () => {
    const last = network();
    const { next, contexts } = attempts(network(), network(), last);
    const route = testRoute({ retry: { maxAttempts: 3 } });
    await expect(retry(testContext(route), next)).rejects.toBe(last);
    expect(contexts).toHaveLength(3);
  });

  it('rethrows at once for a fallback when the classification prefers one', async () => {
    const overloaded = new SluiceError({ kind: 'overloaded', message: 'busy', status: 503 });
    attachClassification(overloaded, { kind: 'overloaded', preferFallback: true });
    const { next, contexts } = attempts(overloaded, [stop]);
    const route = testRoute({ retry: { maxAttempts: 3 }, fallbacks: ['backup'] });
    await expect(retry(testContext(route), next)).rejects.toBe(overloaded);
    expect(contexts).toHaveLength(1);
  });

  it('sets the route budget cooldown on a rate limit and emits a cooldown event', async () => {
    const budgets = createBudgetRegistry();
    const limited = new SluiceError({
      kind: 'rate-limit',
      message: 'slow',
      status: 429,
      retryAfterMs: 20,
      providerCode: '1302',
    });
    const { next } = attempts(limited, [text('ok'), stop]);
    const route = testRoute({ retry: { maxAttempts: 2 } });
    const context = testContext(route);
    const budget = budgets.get(route.budgetKey, { limit: 1 });
    const calls: Array<[number, string]> = [];
    const original = budget.cooldown.bind(budget);
    budget.cooldown = (untilMs, reason) => {
      calls.push([untilMs, reason]);
      original(untilMs, reason);
    };
    const before = Date.now();
    await drain(await createRetryMiddleware({ budgets })(context, next));

    const cooldown = context.events.find((event) => event.type === 'cooldown');
    expect(cooldown).toMatchObject({ reason: 'rate-limit 1302 (HTTP 429)' });
    expect((cooldown as { untilMs: number }).untilMs).toBeGreaterThanOrEqual(before + 20);
    expect(calls).toEqual([
      [(cooldown as { untilMs: number }).untilMs, 'rate-limit 1302 (HTTP 429)'],
    ]);
  });

  it('cancel() during a backoff sleep rejects the events at once with an aborted error', async () => {
    const { next, contexts } = attempts([text('x'), stop]);
    // First attempt ok at headers, then fails before output; the sleep is 10 s.
    const failing: Next = async (context) => {
      if (contexts.length === 0) {
        contexts.push({ attempt: context.attempt, priority: context.priority });
        return scriptedResponse([
          { throw: new SluiceError({ kind: 'server', message: 'x', retryAfterMs: 10_000 }) },
        ]);
      }
      return next(context);
    };
    const response = await retry(testContext(testRoute({ retry: { maxAttempts: 2 } })), failing);
    const result = drain(response);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cancelledAt = performance.now();
    response.cancel(new Error('stop'));
    const { error } = await result;
    expect(performance.now() - cancelledAt).toBeLessThan(100);
    expect(error).toMatchObject({ kind: 'aborted' });
    expect(contexts).toHaveLength(1);
  });
});

import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { ModelResponse, Next, RequestContext } from '../pipeline/types.js';
import {
  scriptedResponse,
  stop,
  testContext,
  testRoute,
  text,
  type ScriptStep,
} from '../../test/support/test-route.js';
import { createDeadlinesMiddleware } from './deadlines-middleware.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Reads every event; resolves with them or with the error the iterator threw. */
async function drain(response: ModelResponse): Promise<{ events: ChatEvent[]; error?: unknown }> {
  const events: ChatEvent[] = [];
  try {
    for await (const event of response.events) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

function respondWith(script: ScriptStep[]) {
  const response = scriptedResponse(script);
  const seen: RequestContext[] = [];
  const next: Next = async (context) => {
    seen.push(context);
    return response;
  };
  return { response, next, seen };
}

describe('createDeadlinesMiddleware', () => {
  it('fires the headers deadline from the call into the transport and aborts the attempt signal', async () => {
    const route = testRoute({ timeouts: { headersMs: 1_000 } });
    const context = testContext(route);
    let attemptSignal: AbortSignal | undefined;
    const next: Next = (attempt) =>
      new Promise((_resolve, reject) => {
        attemptSignal = attempt.signal;
        attempt.signal.addEventListener('abort', () => reject(new Error('fetch aborted')));
      });

    const pending = createDeadlinesMiddleware()(context, next).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(999);
    expect(attemptSignal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    const error = await pending;
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'timeout', phase: 'headers', retryable: true });
    expect((error as Error).message).toContain('headersMs');
    expect(attemptSignal?.aborted).toBe(true);
  });

  it('fires the idle deadline about idleMs after the last event and cancels the body', async () => {
    const route = testRoute({ timeouts: { idleMs: 1_000, totalMs: 3_000 } });
    const { response, next } = respondWith([text('a'), { waitMs: 300 }, text('b'), { hang: true }]);
    const wrapped = await createDeadlinesMiddleware()(testContext(route), next);

    const result = drain(wrapped);
    await vi.advanceTimersByTimeAsync(300 + 999);
    expect(response.cancelled).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);

    const { events, error } = await result;
    expect(events).toEqual([text('a'), text('b')]);
    expect(error).toMatchObject({ kind: 'timeout', phase: 'stream' });
    expect(response.cancelled).toHaveLength(1);
  });

  it('fires the total deadline when a stream dribbles below the idle deadline forever', async () => {
    const route = testRoute({ timeouts: { idleMs: 1_000, totalMs: 3_000 } });
    const dribble: ScriptStep[] = [];
    for (let index = 0; index < 100; index++) dribble.push({ waitMs: 400 }, text(`${index}`));
    const { response, next } = respondWith(dribble);
    const wrapped = await createDeadlinesMiddleware()(testContext(route), next);

    const result = drain(wrapped);
    await vi.advanceTimersByTimeAsync(3_000);
    const { events, error } = await result;
    expect(error).toMatchObject({ kind: 'timeout', phase: 'total' });
    expect(events).toHaveLength(7);
    expect(response.cancelled).toHaveLength(1);
  });

  it('fires the first-token deadline when only non-content events arrive', async () => {
    const route = testRoute({ timeouts: { firstTokenMs: 500 } });
    const { next } = respondWith([
      { type: 'start', attempt: 1, route: 'main' },
      { waitMs: 100 },
      { hang: true },
    ]);
    const wrapped = await createDeadlinesMiddleware()(testContext(route), next);
    const result = drain(wrapped);
    await vi.advanceTimersByTimeAsync(500);
    expect((await result).error).toMatchObject({ kind: 'timeout', phase: 'first-token' });
  });

  it('lets a stream within its deadlines finish, and leaves no timer re-armed behind', async () => {
    const route = testRoute({ timeouts: { headersMs: 10, idleMs: 10, totalMs: 5_000 } });
    const { next } = respondWith([text('a'), { waitMs: 5 }, text('b'), stop]);
    const wrapped = await createDeadlinesMiddleware()(testContext(route), next);
    const result = drain(wrapped);
    await vi.advanceTimersByTimeAsync(5);
    expect(await result).toEqual({ events: [text('a'), text('b'), stop] });
    // The shared deadline timer, armed for the 10 ms headers deadline, expires once with no
    // attempt left and is not re-armed for the finished one's later deadlines.
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('removes its listener from a caller signal shared by many requests', async () => {
    const shared = new AbortController();
    const route = testRoute({ timeouts: { totalMs: 1_000 } });
    for (let index = 0; index < 20; index++) {
      const { next } = respondWith([text('x'), stop]);
      const wrapped = await createDeadlinesMiddleware()(
        testContext(route, { signal: shared.signal }),
        next,
      );
      await drain(wrapped);
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBudgetRegistry } from '../budget/budget-registry.js';
import type { ResolvedRoute } from '../config/resolved-route.js';
import type { ChatEvent } from '../events/chat-events.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { SluiceEvent } from '../router/router-events.js';
import { createBudgetMiddleware } from './budget-middleware.js';
import { composeMiddleware } from './compose-middleware.js';
import type { ModelResponse, Next, RequestContext } from './types.js';

function fakeRoute(overrides: { maxConcurrency?: number; queueMs?: number } = {}): ResolvedRoute {
  return {
    name: 'glm-fast',
    instance: 'glm',
    provider: { id: 'zhipu' },
    model: 'glm-4.6',
    maxConcurrency: overrides.maxConcurrency ?? 1,
    budgetKey: 'glm:cred1',
    timeouts: { queueMs: overrides.queueMs ?? 0 },
  } as unknown as ResolvedRoute;
}

function fakeContext(
  options: { route?: ResolvedRoute; session?: string; signal?: AbortSignal; id?: string } = {},
) {
  const events: SluiceEvent[] = [];
  const context: RequestContext = {
    requestId: options.id ?? 'req-1',
    request: { messages: [] } as unknown as RequestContext['request'],
    route: options.route ?? fakeRoute(),
    session: options.session ? { id: options.session } : undefined,
    priority: 0,
    signal: options.signal ?? new AbortController().signal,
    attempt: 1,
    emit: (event) => events.push(event),
    state: new Map(),
  };
  return { context, events };
}

/**
 * A terminal whose body the test drives: each `push` hands one event to the consumer, `fail`
 * makes the body throw, `end` finishes it. Records whether the body was cancelled or returned.
 */
function controlledTerminal() {
  const calls: { cancelled: unknown[]; returned: number }[] = [];
  let feed: {
    push(event: ChatEvent): void;
    fail(error: unknown): void;
    end(): void;
  } = undefined as never;

  const terminal: Next = async () => {
    const record = { cancelled: [] as unknown[], returned: 0 };
    calls.push(record);
    const queue: (IteratorResult<ChatEvent> | { error: unknown })[] = [];
    let wake: (() => void) | undefined;
    const put = (item: IteratorResult<ChatEvent> | { error: unknown }) => {
      queue.push(item);
      wake?.();
    };
    feed = {
      push: (event) => put({ done: false, value: event }),
      fail: (error) => put({ error }),
      end: () => put({ done: true, value: undefined }),
    };

    const iterator: AsyncIterator<ChatEvent> = {
      async next() {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const item = queue.shift()!;
        if ('error' in item) throw item.error;
        return item;
      },
      async return() {
        record.returned++;
        return { done: true, value: undefined };
      },
    };
    const response: ModelResponse = {
      status: 200,
      headers: new Headers({ 'content-type': 'text/event-stream' }),
      events: { [Symbol.asyncIterator]: () => iterator },
      cancel: (reason) => void record.cancelled.push(reason),
    };
    return response;
  };
  return { terminal, calls, feed: () => feed };
}

const delta: ChatEvent = { type: 'text-delta', text: 'Hel' };

function setup(maxConcurrency = 1) {
  const registry = createBudgetRegistry();
  const route = fakeRoute({ maxConcurrency });
  const budget = registry.get(route.budgetKey, { limit: maxConcurrency });
  const { terminal, calls, feed } = controlledTerminal();
  const run = composeMiddleware([createBudgetMiddleware({ registry })], terminal);
  return { registry, route, budget, run, calls, feed };
}

afterEach(() => vi.useRealTimers());

describe('createBudgetMiddleware', () => {
  it('builds no lease events while nobody observes, and still holds and frees the lease', async () => {
    const { budget, run, feed, route } = setup();
    const { context, events } = fakeContext({ route });
    const response = await run({ ...context, observed: () => false });
    expect(budget.active).toBe(1);
    feed().end();
    for await (const _ of response.events) void _;
    expect(budget.active).toBe(0);
    expect(events).toEqual([]);
  });

  it('holds the lease past the headers until the body ends', async () => {
    const { budget, run, feed, route } = setup();
    const { context, events } = fakeContext({ route, session: 'root' });
    const response = await run(context);

    expect(response.status).toBe(200);
    expect(budget.active).toBe(1);

    const iterator = response.events[Symbol.asyncIterator]();
    feed().push(delta);
    expect(await iterator.next()).toEqual({ done: false, value: delta });
    expect(budget.active).toBe(1);
    feed().end();
    expect((await iterator.next()).done).toBe(true);
    expect(budget.active).toBe(0);

    expect(events.map((event) => event.type)).toEqual(['lease-acquired', 'lease-released']);
    expect(events[0]).toMatchObject({
      requestId: 'req-1',
      route: 'glm-fast',
      instance: 'glm',
      providerId: 'zhipu',
      budgetKey: 'glm:cred1',
      sessionId: 'root',
      attempt: 1,
      waitedMs: 0,
    });
    expect(typeof events[0]!.time).toBe('number');
    expect((events[1] as { heldMs: number }).heldMs).toBeGreaterThanOrEqual(0);
  });

  it('emits queued only when the acquire had to wait', async () => {
    const { run, feed, route } = setup();
    const first = fakeContext({ route, id: 'a' });
    const second = fakeContext({ route, id: 'b' });
    const responseA = await run(first.context);
    const pendingB = run(second.context);
    await Promise.resolve();
    expect(second.events.map((event) => event.type)).toEqual(['queued']);

    feed().end();
    for await (const _ of responseA.events) void _;
    const responseB = await pendingB;
    expect(first.events.map((event) => event.type)).toEqual(['lease-acquired', 'lease-released']);
    expect(second.events.map((event) => event.type)).toEqual(['queued', 'lease-acquired']);
    responseB.cancel();
  });

  describe('C08: every way a stream can end releases the lease once and B starts at once', () => {
    async function streamThenEnd(
      end: (response: ModelResponse, feed: ReturnType<typeof setup>['feed']) => Promise<void>,
    ) {
      const setupResult = setup();
      const { budget, run, route, feed, calls } = setupResult;
      const released: number[] = [];
      budget.on('released', (event) => released.push(event.leaseId));
      const a = fakeContext({ route, id: 'A' });
      const responseA = await run(a.context);
      const b = fakeContext({ route, id: 'B' });
      let bStarted = false;
      const pendingB = run(b.context).then((response) => {
        bStarted = true;
        return response;
      });

      await end(responseA, feed);
      await new Promise((resolve) => setImmediate(resolve));

      expect(bStarted).toBe(true);
      expect(released).toEqual([1]);
      expect(a.events.filter((event) => event.type === 'lease-released')).toHaveLength(1);
      expect(budget.active).toBe(1);
      (await pendingB).cancel('done');
      expect(budget.active).toBe(0);
      return { calls, released };
    }

    it('consumer breaks out of for await after one delta: body returned, lease released', async () => {
      const { calls } = await streamThenEnd(async (response, feed) => {
        feed().push(delta);
        for await (const event of response.events) {
          expect(event).toEqual(delta);
          break;
        }
      });
      expect(calls[0]!.returned).toBe(1);
    });

    it('body throws mid-stream: the error reaches the consumer, lease released', async () => {
      const failure = new SluiceError({ kind: 'mid-stream', message: 'socket reset' });
      await streamThenEnd(async (response, feed) => {
        feed().push(delta);
        const seen: ChatEvent[] = [];
        await expect(
          (async () => {
            for await (const event of response.events) {
              seen.push(event);
              feed().fail(failure);
            }
          })(),
        ).rejects.toBe(failure);
        expect(seen).toEqual([delta]);
      });
    });

    it('cancel() cancels the inner response and releases the lease; a second cancel does nothing more', async () => {
      const { calls, released } = await streamThenEnd(async (response, feed) => {
        feed().push(delta);
        const iterator = response.events[Symbol.asyncIterator]();
        await iterator.next();
        response.cancel('user stop');
        response.cancel('again');
      });
      expect(calls[0]!.cancelled[0]).toBe('user stop');
      expect(released).toEqual([1, 2]);
    });

    it('the request signal aborts while streaming: inner cancelled with its reason, lease released', async () => {
      const { budget, run, route, calls, feed } = setup();
      const controller = new AbortController();
      const a = fakeContext({ route, signal: controller.signal });
      const response = await run(a.context);
      feed().push(delta);
      await response.events[Symbol.asyncIterator]().next();
      const reason = new Error('caller aborted');
      controller.abort(reason);
      expect(calls[0]!.cancelled).toEqual([reason]);
      expect(budget.active).toBe(0);
      expect(a.events.filter((event) => event.type === 'lease-released')).toHaveLength(1);
    });

    it('next throws (HTTP 400 before any body): lease released before the error propagates', async () => {
      const registry = createBudgetRegistry();
      const route = fakeRoute();
      const budget = registry.get(route.budgetKey, { limit: 1 });
      const failure = new SluiceError({ kind: 'bad-request', status: 400, message: 'bad' });
      const run = composeMiddleware([createBudgetMiddleware({ registry })], async () => {
        expect(budget.active).toBe(1);
        throw failure;
      });
      const { context, events } = fakeContext({ route });
      await expect(run(context)).rejects.toBe(failure);
      expect(budget.active).toBe(0);
      expect(events.map((event) => event.type)).toEqual(['lease-acquired', 'lease-released']);

      // B starts at once.
      await expect(run(fakeContext({ route }).context)).rejects.toBe(failure);
      expect(budget.active).toBe(0);
    });
  });

  it('a retry around the budget takes a fresh lease per attempt and never two at once', async () => {
    const registry = createBudgetRegistry();
    const route = fakeRoute();
    const budget = registry.get(route.budgetKey, { limit: 1 });
    const seenActive: number[] = [];
    let attempt = 0;
    const retry = async (ctx: RequestContext, next: Next) => {
      for (;;) {
        try {
          return await next(ctx);
        } catch (error) {
          if (ctx.attempt >= 3) throw error;
          ctx.attempt++;
        }
      }
    };
    const terminal: Next = async () => {
      seenActive.push(budget.active);
      attempt++;
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return {
        status: 200,
        headers: new Headers(),
        events: (async function* () {})(),
        cancel() {},
      };
    };
    const run = composeMiddleware([retry, createBudgetMiddleware({ registry })], terminal);
    const { context, events } = fakeContext({ route });
    const response = await run(context);
    for await (const _ of response.events) void _;

    expect(seenActive).toEqual([1, 1, 1]);
    expect(budget.active).toBe(0);
    expect(
      events.map((event) => `${event.type}#${'attempt' in event ? event.attempt : ''}`),
    ).toEqual([
      'lease-acquired#1',
      'lease-released#1',
      'lease-acquired#2',
      'lease-released#2',
      'lease-acquired#3',
      'lease-released#3',
    ]);
  });

  it('a queue timeout rejects with a queue-timeout error naming the route, no lease held', async () => {
    vi.useFakeTimers();
    const registry = createBudgetRegistry();
    const route = fakeRoute({ queueMs: 1500 });
    const budget = registry.get(route.budgetKey, { limit: 1 });
    const holder = await budget.acquire();
    const run = composeMiddleware([createBudgetMiddleware({ registry })], async () => {
      throw new Error('never reached');
    });
    const { context, events } = fakeContext({ route });
    const outcome = run(context).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1500);
    const error = (await outcome) as SluiceError;

    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error.kind).toBe('queue-timeout');
    expect(error.route).toBe('glm-fast');
    expect(error.message).toContain('Route "glm-fast"');
    expect(error.message).toContain('1500 ms');
    expect(events.map((event) => event.type)).toEqual(['queued']);
    expect(budget.active).toBe(1);
    holder.release();
  });

  it('an already-aborted request rejects with the signal reason, takes no lease, never calls next', async () => {
    const { budget, run, route, calls } = setup();
    const reason = new Error('caller gave up');
    const { context, events } = fakeContext({ route, signal: AbortSignal.abort(reason) });
    await expect(run(context)).rejects.toBe(reason);
    expect(calls).toHaveLength(0);
    expect(events).toEqual([]);
    expect(budget.active).toBe(0);
    expect(budget.pending).toBe(0);
  });

  it('an abort while queued rejects, emits only queued, and the next request gets the slot', async () => {
    const { budget, run, route, feed } = setup();
    const first = await run(fakeContext({ route }).context);
    const controller = new AbortController();
    const waiting = fakeContext({ route, signal: controller.signal });
    const outcome = run(waiting.context).catch((error: unknown) => error);
    await Promise.resolve();
    const reason = new Error('stop waiting');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(waiting.events.map((event) => event.type)).toEqual(['queued']);
    expect(budget.pending).toBe(0);

    feed().end();
    for await (const _ of first.events) void _;
    const next = await run(fakeContext({ route }).context);
    expect(budget.active).toBe(1);
    next.cancel();
  });

  it('uses the registry budget of the route, opened with maxConcurrency', async () => {
    const registry = createBudgetRegistry();
    const route = fakeRoute({ maxConcurrency: 2 });
    const run = composeMiddleware([createBudgetMiddleware({ registry })], async () => ({
      status: 200,
      headers: new Headers(),
      events: (async function* () {})(),
      cancel() {},
    }));
    const response = await run(fakeContext({ route }).context);
    const budget = registry.get('glm:cred1', { limit: 2 });
    expect(budget.limit).toBe(2);
    expect(budget.active).toBe(1);
    response.cancel();
    expect(budget.active).toBe(0);
  });
});

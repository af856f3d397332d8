import { getEventListeners } from 'node:events';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import type { ChatEvent } from '../src/events/chat-events.js';
import type { Middleware } from '../src/pipeline/types.js';
import {
  MOCK_CHAT_URL,
  chatHandler,
  createMockServer,
  errorResponse,
  mockConfig,
  mockDescriptor,
  streamBody,
} from './support/msw-chat.js';
import { sseAnswer, roleFrame, textFrame, finishFrame, DONE } from './support/sse.js';
import { TEST_API_KEY } from './support/test-route.js';

const server = createMockServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const BACKUP_URL = 'https://backup.mock.test/v1';
const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };
const sse = (body: string | ReadableStream<Uint8Array>) =>
  new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });

function routerWith(config: unknown) {
  const router = createRouter({ config, budgets: createBudgetRegistry() });
  const events: SluiceEvent[] = [];
  router.subscribe((event) => events.push(event));
  return { router, events };
}

describe('router.chat', () => {
  it('publishes request-start, headers, first-token and one request-end with the outcome', async () => {
    server.use(chatHandler(() => sse(sseAnswer('Hel', 'lo'))));
    const { router, events } = routerWith(mockConfig());
    expect(await router.chat(hi).text()).toBe('Hello');

    const types = events.map((event) => event.type);
    expect(types[0]).toBe('request-start');
    for (const type of ['lease-acquired', 'headers', 'first-token', 'lease-released'] as const) {
      expect(types).toContain(type);
    }
    const ends = events.filter((event) => event.type === 'request-end');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      outcome: 'success',
      attempts: 1,
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      route: 'main',
      instance: 'glm',
    });
    expect(typeof (ends[0] as { ttftMs?: number }).ttftMs).toBe('number');
    await router.close();
  });

  it('falls back to the next route on a retryable failure before output, emitting fallback', async () => {
    server.use(
      chatHandler(() => errorResponse(503, { message: 'overloaded' })),
      http.post(`${BACKUP_URL}/chat/completions`, () => sse(sseAnswer('from backup'))),
    );
    const { router, events } = routerWith(
      mockConfig({
        retry: { maxAttempts: 2, baseDelayMs: 1 },
        fallbacks: ['backup'],
        extraProviders: {
          spare: {
            descriptor: mockDescriptor({ id: 'spare', baseURL: BACKUP_URL }),
            apiKey: TEST_API_KEY,
          },
        },
        extraRoutes: { backup: { provider: 'spare', model: 'glm-4.5' } },
      }),
    );
    const result = await router.chat(hi).result();
    expect(result).toMatchObject({ text: 'from backup', route: 'backup' });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(1);
    expect(events.find((event) => event.type === 'fallback')).toMatchObject({
      from: 'main',
      to: 'backup',
      kind: 'overloaded',
    });
    expect(events.find((event) => event.type === 'request-end')).toMatchObject({
      outcome: 'success',
      attempts: 3,
      route: 'backup',
    });
    await router.close();
  });

  it('cancel() ends the iterator with an aborted error and frees the lease', async () => {
    // msw does not pass a body cancel on to the mocked stream; the real-socket C08 test checks
    // that the socket closes. Here: the iterator ends at once and the lease is free.
    server.use(
      chatHandler(() =>
        sse(
          streamBody([roleFrame(), textFrame('a'), ...Array(50).fill(': ping\n\n')], {
            delayMs: 50,
          }),
        ),
      ),
    );
    const { router } = routerWith(mockConfig());
    const stream = router.chat(hi);
    const seen: string[] = [];
    let failure: unknown;
    try {
      for await (const event of stream) {
        if (event.type === 'text-delta') {
          seen.push(event.text);
          stream.cancel();
        }
      }
    } catch (error) {
      failure = error;
    }
    expect(seen).toEqual(['a']);
    expect(failure).toMatchObject({ kind: 'aborted', code: 'SLUICE_ABORTED' });
    expect(router.budgets.get(router.route().budgetKey, { limit: 1 }).active).toBe(0);
    await router.close();
  });

  it('leaves no listener on an AbortSignal shared by many requests', async () => {
    server.use(chatHandler(() => sse(sseAnswer('x'))));
    const { router } = routerWith(mockConfig({ maxConcurrency: 4 }));
    const shared = new AbortController();
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 10 }, () => router.chat(hi, { signal: shared.signal }).text()),
      );
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    await router.close();
  });

  it('follows one signal shared by 50 concurrent requests with one listener, and no leak warning', async () => {
    const encoder = new TextEncoder();
    // Each answer starts and then stays open until the caller aborts.
    server.use(
      chatHandler(() =>
        sse(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(encoder.encode(roleFrame() + textFrame('a')));
            },
          }),
        ),
      ),
    );
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { router } = routerWith(mockConfig({ maxConcurrency: 4 }));
    const shared = new AbortController();
    const outcomes = Array.from({ length: 50 }, () =>
      router
        .chat(hi, { signal: shared.signal })
        .text()
        .catch((error: unknown) => error),
    );
    const budget = router.budgets.get(router.route().budgetKey, { limit: 4 });
    await expect.poll(() => budget.active + budget.pending).toBe(50);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);

    shared.abort(new Error('the agent stopped'));
    const errors = await Promise.all(outcomes);
    expect(errors.every((error) => SluiceError.isInstance(error) && error.kind === 'aborted')).toBe(
      true,
    );
    expect(budget.active + budget.pending).toBe(0);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual(
      [],
    );
    await router.close();
  });

  it('counts the headers deadline from send, not from the queue', async () => {
    // A holds the only lease for ~600 ms; B (headers deadline 400 ms) waits for it, then is sent
    // and answered at once. Had the deadline started at the queue, B would have failed.
    let served = 0;
    server.use(
      chatHandler(() => {
        served += 1;
        if (served === 1) {
          return sse(
            streamBody([roleFrame(), textFrame('a'), textFrame('b'), finishFrame(), DONE], {
              delayMs: 200,
            }),
          );
        }
        return sse(sseAnswer('b'));
      }),
    );
    const { router } = routerWith(mockConfig({ timeouts: { headersMs: 400 } }));
    const a = router.chat(hi).text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const b = router.chat(hi).text();
    expect(await Promise.all([a, b])).toEqual(['ab', 'b']);
    await router.close();
  });

  it('keeps the API key out of error messages, error JSON and events', async () => {
    server.use(
      chatHandler(() =>
        errorResponse(401, { message: `Invalid key ${TEST_API_KEY}`, code: 'invalid_api_key' }),
      ),
    );
    const { router, events } = routerWith(mockConfig());
    const failure = await router
      .chat(hi)
      .text()
      .catch((error: unknown) => error);
    expect(SluiceError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    const error = failure as SluiceError;
    expect(error.message).not.toContain(TEST_API_KEY);
    expect(JSON.stringify(error)).not.toContain(TEST_API_KEY);
    expect(JSON.stringify(events)).not.toContain(TEST_API_KEY);
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(0);
    await router.close();
  });

  it('rejects an unknown route with a config error naming the known routes', () => {
    const { router } = routerWith(mockConfig());
    expect(() => router.chat(hi, { route: 'nope' })).toThrow(/nope/);
  });

  it('passes the request through the descriptor transform with route and request provider options', async () => {
    const sent: Array<Record<string, unknown>> = [];
    server.use(chatHandler(() => sse(sseAnswer('ok')), sent));
    const descriptor = mockDescriptor({
      transformRequest: (body, context) => ({
        ...body,
        thinking: context.providerOptions.thinking,
      }),
    });
    const { router } = routerWith(mockConfig({ descriptor }));
    await router
      .chat({ ...hi, temperature: 0.2, providerOptions: { thinking: { type: 'enabled' } } })
      .text();
    expect(sent[0]).toMatchObject({
      model: 'glm-4.5',
      temperature: 0.2,
      stream: true,
      thinking: { type: 'enabled' },
    });
    await router.close();
  });
});

describe('router over MOCK_CHAT_URL', () => {
  it('uses the route URL', () => {
    const { router } = routerWith(mockConfig());
    expect(router.route().url).toBe(MOCK_CHAT_URL);
  });
});

describe('router.chat without streaming', () => {
  it('reads a recorded non-streaming completion into the same events (stream: false)', async () => {
    const { readRecording } = await import('./support/recordings.js');
    const recording = readRecording('TestOpenAICompatibleCommon__zai-glm-4.5__simple.0');
    const completion = JSON.parse(recording.body) as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: { total_tokens: number };
    };
    const sent: Array<Record<string, unknown>> = [];
    server.use(
      chatHandler(
        () =>
          new HttpResponse(recording.body, {
            status: recording.status,
            headers: { 'content-type': recording.contentType },
          }),
        sent,
      ),
    );
    const { router } = routerWith(mockConfig());
    const result = await router.chat({ ...hi, stream: false }).result();
    expect(result.text).toBe(completion.choices[0]!.message.content);
    expect(result.rawFinishReason).toBe(completion.choices[0]!.finish_reason);
    expect(result.usage?.totalTokens).toBe(completion.usage.total_tokens);
    expect(sent[0]).toMatchObject({ stream: false });
    expect(sent[0]).not.toHaveProperty('stream_options');
    await router.close();
  });
});

describe('router transport details', () => {
  it('sends the credential from descriptor.auth.credential and never the raw key when it differs', async () => {
    const seen: Array<string | null> = [];
    server.use(
      chatHandler((_body, request) => {
        seen.push(request.headers.get('authorization'));
        return sse(sseAnswer('ok'));
      }),
    );
    const base = mockDescriptor();
    const descriptor = {
      ...base,
      auth: {
        ...base.auth,
        credential: (key: string, nowMs: number) => `signed.${key.length}.${nowMs > 0}`,
      },
    };
    const { router } = routerWith(mockConfig({ descriptor }));
    expect(await router.chat(hi).text()).toBe('ok');
    expect(seen).toEqual([`Bearer signed.${TEST_API_KEY.length}.true`]);
    await router.close();
  });

  it('close() cancels an in-flight stream with an aborted error and frees its lease', async () => {
    server.use(
      chatHandler(() =>
        sse(
          streamBody([roleFrame(), textFrame('a'), ...Array(40).fill(': ping\n\n')], {
            delayMs: 50,
          }),
        ),
      ),
    );
    const { router } = routerWith(mockConfig());
    const budget = router.budgets.get(router.route().budgetKey, { limit: 1 });
    let failure: unknown;
    try {
      for await (const event of router.chat(hi)) {
        if (event.type === 'text-delta') void router.close();
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ kind: 'aborted' });
    expect(budget.active).toBe(0);
    expect(() => router.chat(hi)).toThrow(/closed/);
  });
});

describe('user middleware that wraps the events in its own generator', () => {
  it('sees every event, and the router still collects the answer and frees the lease', async () => {
    server.use(chatHandler(() => sse(sseAnswer('Hel', 'lo', ' there'))));
    const seen: string[] = [];
    const shout: Middleware = async (context, next) => {
      const response = await next(context);
      async function* loud(): AsyncGenerator<ChatEvent> {
        for await (const event of response.events) {
          seen.push(event.type);
          yield event.type === 'text-delta' ? { ...event, text: event.text.toUpperCase() } : event;
        }
      }
      return { ...response, events: loud() };
    };
    const budgets = createBudgetRegistry();
    const router = createRouter({ config: mockConfig(), budgets, middleware: [shout] });
    const budget = budgets.get(router.route().budgetKey, { limit: 1 });

    expect(await router.chat(hi).text()).toBe('HELLO THERE');
    expect(seen[0]).toBe('start');
    expect(seen.at(-1)).toBe('finish');
    expect(budget.active).toBe(0);

    // Breaking out early still ends the body and releases the lease exactly once.
    server.use(chatHandler(() => sse(sseAnswer('a', 'b', 'c'))));
    const stream = router.chat(hi);
    for await (const event of stream) {
      if (event.type === 'text-delta') break;
    }
    expect(budget.active).toBe(0);
    await router.close();
  });
});

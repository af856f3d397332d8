// Field cases C03-C06 of the shared CASES.md, through router.chat with the zhipu descriptor and
// this package's msw testing handlers. Expected values are the ones CASES.md states.
import { openAICompatible, SluiceError } from '@sluice/core';
import type { ChatEvent, Router, SluiceEvent } from '@sluice/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { provider } from '../src/index.js';
import { glmError, glmStream, sseResponse, zhipuMock } from '../src/testing.js';
import type { SseItem, ZhipuScriptStep } from '../src/testing.js';
import { setupRouterTests, TEST_KEY } from './support.js';

const { server, makeRouter, glmRouter: baseRouter } = setupRouterTests();
afterEach(() => vi.useRealTimers());

/** A zhipu router whose retries wait milliseconds, not seconds. */
function glmRouter(instance: Record<string, unknown> = {}) {
  return baseRouter({ instance: { retry: { baseDelayMs: 2, maxDelayMs: 10 }, ...instance } });
}

function serve(...script: ZhipuScriptStep[]) {
  const mock = zhipuMock({ baseURL: 'https://api.z.ai/api/coding/paas/v4', script });
  server.use(...mock.handlers);
  return mock;
}

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'case',
  model: 'glm-4.6',
  choices: [{ index: 0, delta, ...extra }],
});

const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

/** Reads the stream to its end; returns what the consumer saw and what it threw. */
async function consume(router: Router) {
  const seen: ChatEvent[] = [];
  let error: unknown;
  try {
    for await (const event of router.chat(ask)) seen.push(event);
  } catch (caught) {
    error = caught;
  }
  const text = seen.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
  return { seen, error, text };
}

describe('C03: GLM-only finish reasons', () => {
  it('C03: network_error after output is a provider error, not retried, with the output kept', async () => {
    const mock = serve(
      sseResponse([
        chunk({ role: 'assistant', content: 'Hel' }),
        chunk({}, { finish_reason: 'network_error' }),
        '[DONE]',
      ]),
      glmStream({ text: 'never sent' }),
    );
    const { router } = glmRouter();

    const { text, error } = await consume(router);

    expect(text).toBe('Hel');
    expect(mock.requests).toHaveLength(1);
    // Output had reached the consumer, so the router reports it as a mid-stream failure whose
    // cause is the provider error the finish reason maps to.
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'mid-stream', retryable: false });
    expect((error as SluiceError).cause).toMatchObject({ kind: 'provider' });
    expect((error as SluiceError).message).toContain('network_error');
  });

  it('C03: network_error before any output is retried and the second attempt answers', async () => {
    const mock = serve(
      sseResponse([chunk({ role: 'assistant' }, { finish_reason: 'network_error' }), '[DONE]']),
      glmStream({ text: 'second try' }),
    );
    const { router } = glmRouter();

    const { text, error, seen } = await consume(router);

    expect(error).toBeUndefined();
    expect(text).toBe('second try');
    expect(mock.requests).toHaveLength(2);
    expect(seen.filter((event) => event.type === 'start')).toHaveLength(1);
  });

  it('C03: sensitive is a content-filter finish that keeps the raw reason', async () => {
    serve(
      sseResponse([
        chunk({ role: 'assistant', content: 'partial' }),
        chunk({}, { finish_reason: 'sensitive' }),
        '[DONE]',
      ]),
    );
    const { router } = glmRouter();

    const { text, error, seen } = await consume(router);

    expect(error).toBeUndefined();
    expect(text).toBe('partial');
    expect(seen.find((event) => event.type === 'finish')).toMatchObject({
      reason: 'content-filter',
      rawReason: 'sensitive',
    });
  });
});

describe('C04: untrustworthy tool-call fields', () => {
  const fragments = ['{"', 'q":"', 'tea"}'];
  const cases: Array<[string, SseItem[]]> = [
    [
      'a: one delta, index -1, arguments as an object, finish in the same chunk',
      [
        chunk(
          {
            tool_calls: [
              {
                index: -1,
                id: 'call_a',
                type: 'function',
                function: { name: 'search', arguments: { q: 'tea' } },
              },
            ],
          },
          { finish_reason: 'tool_calls' },
        ),
        '[DONE]',
      ],
    ],
    [
      'b: three fragments at index 0 with a different id each',
      [
        ...fragments.map((piece, i) =>
          chunk({
            tool_calls: [
              {
                index: 0,
                id: `call_b${i}`,
                type: 'function',
                function: { ...(i === 0 ? { name: 'search' } : {}), arguments: piece },
              },
            ],
          }),
        ),
        chunk({}, { finish_reason: 'tool_calls' }),
        '[DONE]',
      ],
    ],
    [
      'c: the same fragments with no index at all',
      [
        ...fragments.map((piece, i) =>
          chunk({
            tool_calls: [
              {
                id: `call_c${i}`,
                type: 'function',
                function: { ...(i === 0 ? { name: 'search' } : {}), arguments: piece },
              },
            ],
          }),
        ),
        chunk({}, { finish_reason: 'tool_calls' }),
        '[DONE]',
      ],
    ],
  ];

  it.each(cases)(
    'C04 %s: exactly one call, arguments as a JSON string, before the finish',
    async (_name, items) => {
      serve(sseResponse(items));
      const { router } = glmRouter();

      const { seen, error } = await consume(router);

      expect(error).toBeUndefined();
      const calls = seen.filter((event) => event.type === 'tool-call');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ name: 'search', arguments: '{"q":"tea"}' });
      const finish = seen.findIndex((event) => event.type === 'finish');
      expect(seen.indexOf(calls[0] as ChatEvent)).toBeLessThan(finish);
      expect(seen[finish]).toMatchObject({ reason: 'tool-calls' });
    },
  );
});

describe('C05: rate limit in the body', () => {
  const chinese: Record<string, string> = {
    '1302': '您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。',
    '1305': '该API已触发流量限制，请稍后再试。',
  };

  it.each([
    ['1302', false, 'rate-limit'],
    ['1302', true, 'rate-limit'],
    ['1305', false, 'overloaded'],
    ['1305', true, 'overloaded'],
  ])(
    'C05: HTTP 429 with code %s (numeric %s), no Retry-After: backed off, then succeeds; the error keeps the code',
    async (code, numericCode, kind) => {
      const mock = serve(
        glmError(code, { status: 429, message: chinese[code], numericCode }),
        glmStream({ text: 'ok after backoff' }),
      );
      const { router, events } = glmRouter();

      const { text, error } = await consume(router);

      expect(error).toBeUndefined();
      expect(text).toBe('ok after backoff');
      expect(mock.requests).toHaveLength(2);
      const retries = events.filter((event) => event.type === 'retry');
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({ kind, status: 429, providerCode: code, attempt: 1 });
    },
  );

  it('C05: 1302 sets the shared cooldown so queued requests wait it out together', async () => {
    // A server-chosen wait makes the delay, and so the cooldown, deterministic.
    serve(glmError(1302, { headers: { 'retry-after-ms': '30' } }), glmStream({ text: 'ok' }));
    const { router, events } = glmRouter();

    await consume(router);

    const cooldown = events.find((event) => event.type === 'cooldown');
    expect(cooldown).toMatchObject({ type: 'cooldown' });
    expect(cooldown?.type === 'cooldown' ? cooldown.reason : '').toContain('1302');
  });

  it('C05: 1302 on every attempt fails with the code kept on the error', async () => {
    const mock = serve(glmError(1302), glmError(1302), glmError(1302));
    const { router } = glmRouter({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });

    const { error } = await consume(router);

    expect(mock.requests).toHaveLength(3);
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'rate-limit', providerCode: '1302', status: 429 });
    expect((error as SluiceError).message).not.toContain(TEST_KEY);
  });

  it('1113 (arrears) is not retried and tells a Coding Plan user which endpoint to use', async () => {
    const mock = serve(glmError(1113), glmStream({ text: 'never' }));
    const { router } = glmRouter({ endpoint: 'general' });
    server.use(
      ...zhipuMock({ baseURL: 'https://api.z.ai/api/paas/v4', script: [glmError(1113)] }).handlers,
    );

    const { error } = await consume(router);

    expect(mock.requests).toHaveLength(0);
    expect(error).toMatchObject({ kind: 'billing', retryable: false, providerCode: '1113' });
    expect((error as SluiceError).hint).toContain('coding');
  });
});

describe('C06: per-provider timeouts win', () => {
  function twoProviderRouter(): Router {
    const other = openAICompatible({
      id: 'otherllm',
      baseURL: 'https://other.example/v1',
      models: ['m'],
    });
    return makeRouter({
      config: {
        timeouts: { idleMs: 120_000 },
        providers: {
          glm: { use: 'zhipu', apiKey: TEST_KEY, timeouts: { idleMs: 600_000 } },
          other: { descriptor: other, apiKey: 'other-test-key-0123456789' },
        },
        routes: {
          main: { provider: 'glm', model: 'glm-4.6' },
          elsewhere: { provider: 'other', model: 'm' },
        },
        defaultRoute: 'main',
      },
      providers: [provider],
    });
  }

  it('C06: the zhipu instance resolves to its 600 s idle timeout, the other provider to the global 120 s', () => {
    const router = twoProviderRouter();
    expect(router.route('main').timeouts.idleMs).toBe(600_000);
    expect(router.route('elsewhere').timeouts.idleMs).toBe(120_000);
    // Fields nobody overrode come from the zhipu descriptor.
    expect(router.route('main').timeouts.headersMs).toBe(45_000);
    expect(router.route('main').maxConcurrency).toBe(3);
  });

  it('C06: a zhipu stream silent for 150 s (a thinking phase) goes on', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    serve(
      glmStream({ reasoning: 'Let me think.', thinkingPauseMs: 150_000, text: 'Done thinking.' }),
    );
    const router = twoProviderRouter();

    const result = router.chat(ask).result();
    await vi.advanceTimersByTimeAsync(151_000);
    const settled = await result;

    expect(settled.reasoning).toBe('Let me think.');
    expect(settled.text).toBe('Done thinking.');
    expect(settled.finishReason).toBe('stop');
  });

  it('C06: with the idle timeout at 120 s, 150 s of silence before any output is a timeout', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    serve(glmStream({ thinkingPauseMs: 150_000, text: 'Done thinking.' }));
    const { router } = glmRouter({ timeouts: { idleMs: 120_000 }, retry: { maxAttempts: 1 } });

    const result = router.chat(ask).result();
    const outcome = result.then(
      () => undefined,
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(151_000);
    const error = await outcome;

    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect((error as SluiceError).message).toMatch(/idle|silen/i);
  });

  it.each([Number.NaN, -1, 1.5])(
    'C06: maxConcurrency %s is rejected with the path of the field',
    (value) => {
      expect(() => glmRouter({ maxConcurrency: value })).toThrow(/providers\.glm\.maxConcurrency/);
    },
  );
});

describe('GLM specifics through the router', () => {
  it('a response naming a newer build than the requested model is no error', async () => {
    serve({ text: 'hello', model: 'glm-4.6-0930' });
    const { router } = glmRouter();

    const result = await router.chat(ask).result();

    expect(result.text).toBe('hello');
    expect(result.model).toBe('glm-4.6-0930');
  });

  it('1312 (model overloaded) goes to the route’s fallback instead of retrying the same model', async () => {
    const mock = serve(glmError(1312), { text: 'from the fallback' });
    const router = makeRouter({
      config: {
        providers: {
          glm: { use: 'zhipu', apiKey: TEST_KEY, retry: { baseDelayMs: 1, maxDelayMs: 2 } },
        },
        routes: {
          main: { provider: 'glm', model: 'glm-4.6', fallbacks: ['air'] },
          air: { provider: 'glm', model: 'glm-4.5-air' },
        },
        defaultRoute: 'main',
      },
      providers: [provider],
    });
    const events: SluiceEvent[] = [];
    router.subscribe((event) => events.push(event));

    const result = await router.chat(ask).result();

    expect(result.text).toBe('from the fallback');
    expect(mock.requests.map((request) => request.body?.model)).toEqual(['glm-4.6', 'glm-4.5-air']);
    expect(events.find((event) => event.type === 'fallback')).toMatchObject({
      from: 'main',
      to: 'air',
      kind: 'overloaded',
    });
  });
});

import { afterEach, describe, expect, test } from 'vitest';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { createRouter } from '../src/router/create-router.js';
import type { ChatRequest } from '../src/events/chat-request.js';
import type { Router } from '../src/router/types.js';

let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
});

function makeRouter(onFetch: () => Response) {
  let sent = 0;
  const budgets = createBudgetRegistry();
  router = createRouter({
    config: {
      providers: { local: { use: 'local', apiKey: 'k-0123456789abcdef', maxConcurrency: 1 } },
      routes: { default: { provider: 'local', model: 'm' } },
    },
    providers: [openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] })],
    budgets,
    fetch: (async () => {
      sent += 1;
      return onFetch();
    }) as typeof fetch,
  });
  return { router, budgets, sent: () => sent };
}

/** What `call` throws, or undefined. */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const sse = (text: string) =>
  new Response(
    `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}\n\n` +
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    { headers: { 'content-type': 'text/event-stream' } },
  );

describe('router.chat input', () => {
  test.each([
    ['no request', undefined, /the request must be an object, got undefined/],
    ['null', null, /the request must be an object, got null/],
    ['no messages', {}, /request\.messages must be a non-empty array/],
    ['messages as a string', { messages: 'hi' }, /request\.messages must be a non-empty array/],
    ['empty messages', { messages: [] }, /request\.messages must be a non-empty array/],
    [
      'a message without role',
      { messages: [{ content: 'hi' }] },
      /request\.messages\[0\] has no role/,
    ],
  ])(
    '%s is a bad-request at the call: nothing sent, no lease, no retry',
    (_name, request, message) => {
      const { router, budgets, sent } = makeRouter(() => sse('x'));

      const error = thrownBy(() => router.chat(request as unknown as ChatRequest));

      expect(SluiceError.isInstance(error)).toBe(true);
      expect((error as SluiceError).kind).toBe('bad-request');
      expect((error as SluiceError).retryable).toBe(false);
      expect((error as SluiceError).message).toMatch(message);
      expect(sent()).toBe(0);
      expect(budgets.list().every((budget) => budget.active === 0)).toBe(true);
    },
  );
});

describe('router.chat request fields', () => {
  const hi = [{ role: 'user', content: 'hi' }];
  test.each([
    [
      'content as a number',
      { messages: [{ role: 'user', content: 42 }] },
      /request\.messages\[0\]\.content must be a string, an array of parts or null, got 42/,
    ],
    [
      'maxTokens -1',
      { messages: hi, maxTokens: -1 },
      /request\.maxTokens must be a whole number > 0, got -1/,
    ],
    [
      'maxTokens NaN',
      { messages: hi, maxTokens: Number.NaN },
      /request\.maxTokens must be a whole number > 0, got NaN/,
    ],
    [
      'maxTokens as a string',
      { messages: hi, maxTokens: '10' },
      /request\.maxTokens must be a whole number > 0, got "10"/,
    ],
    [
      'temperature NaN',
      { messages: hi, temperature: Number.NaN },
      /request\.temperature must be a finite number >= 0, got NaN/,
    ],
    [
      'topP -0.5',
      { messages: hi, topP: -0.5 },
      /request\.topP must be a finite number >= 0, got -0\.5/,
    ],
    [
      'tools as an object',
      { messages: hi, tools: {} },
      /request\.tools must be an array of tools, got an object/,
    ],
    [
      'stream as a string',
      { messages: hi, stream: 'yes' },
      /request\.stream must be true or false, got "yes"/,
    ],
    [
      'an empty model',
      { messages: hi, model: '' },
      /request\.model must be a model name \(a non-empty string\), got ""/,
    ],
    [
      'max_tokens, the OpenAI spelling (trial: the cap was dropped)',
      { messages: hi, max_tokens: 5 },
      /unknown request field "max_tokens" \(did you mean "maxTokens"\?\); it would not be sent/,
    ],
    [
      'top_p',
      { messages: hi, top_p: 0.5 },
      /unknown request field "top_p" \(did you mean "topP"\?\)/,
    ],
    [
      'a misspelt field',
      { messages: hi, temprature: 0.2 },
      /unknown request field "temprature" \(did you mean "temperature"\?\)/,
    ],
  ])('%s is a bad-request at the call: nothing sent, no lease', (_name, request, message) => {
    const { router, budgets, sent } = makeRouter(() => sse('x'));

    const error = thrownBy(() => router.chat(request as unknown as ChatRequest));

    expect(SluiceError.isInstance(error) && error.kind).toBe('bad-request');
    expect((error as SluiceError).message).toMatch(message);
    expect(sent()).toBe(0);
    expect(budgets.list().every((budget) => budget.active === 0)).toBe(true);
  });

  test('an unknown field says where a provider field goes instead', () => {
    const { router } = makeRouter(() => sse('x'));
    const error = thrownBy(() =>
      router.chat({ messages: hi, enable_thinking: true } as unknown as ChatRequest),
    ) as SluiceError;

    expect(error.message).toMatch(/unknown request field "enable_thinking"; it would not be sent/);
    expect(error.hint).toContain('extra: { "enable_thinking": ... }');
    expect(error.hint).toContain('maxTokens');
  });

  test('valid fields and content as parts or null pass', async () => {
    const { router } = makeRouter(() => sse('ok'));
    const request: ChatRequest = {
      messages: [
        { role: 'system', content: null },
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      ],
      maxTokens: 64,
      temperature: 0,
      topP: 1,
      tools: [],
      stream: true,
      model: 'm',
    };
    expect(await router.chat(request).text()).toBe('ok');
  });
});

describe('router.chat options', () => {
  test.each([
    ['a misspelt key', { rout: 'default' }, /unknown option "rout" \(did you mean "route"\?\)/],
    ['an unknown key', { model: 'x' }, /unknown option "model"\./],
    [
      'a route that is not a string',
      { route: 1 },
      /options\.route must be a route name \(a string\), got number/,
    ],
    ['a signal that is not one', { signal: {} }, /options\.signal must be an AbortSignal/],
    [
      'a NaN priority',
      { priority: Number.NaN },
      /options\.priority must be a finite number, got NaN/,
    ],
    [
      'a session without id',
      { session: { priority: 1 } },
      /options\.session must be \{ id: string/,
    ],
    [
      'an Infinity session priority',
      { session: { id: 's', priority: Infinity } },
      /options\.session\.priority must be a finite number, got Infinity/,
    ],
    [
      'a zero session share',
      { session: { id: 's', share: 0 } },
      /options\.session\.share must be a finite number > 0, got 0/,
    ],
    ['options that are not an object', 'fast', /the options must be an object, got string/],
  ])('%s is a bad-request at the call: nothing sent, no lease', (_name, options, message) => {
    const { router, budgets, sent } = makeRouter(() => sse('x'));

    const error = thrownBy(() =>
      router.chat({ messages: [{ role: 'user', content: 'hi' }] }, options as never),
    );

    expect(SluiceError.isInstance(error) && error.kind).toBe('bad-request');
    expect((error as SluiceError).message).toMatch(message);
    expect((error as SluiceError).hint).toBeTruthy();
    expect(sent()).toBe(0);
    expect(budgets.list().every((budget) => budget.active === 0)).toBe(true);
  });

  test('the documented options pass, and a signal from AbortSignal.timeout is one', async () => {
    const { router } = makeRouter(() => sse('ok'));
    const text = await router
      .chat(
        { messages: [{ role: 'user', content: 'hi' }] },
        {
          route: 'default',
          signal: AbortSignal.timeout(5_000),
          priority: 2,
          session: { id: 's', priority: 1, share: 2 },
        },
      )
      .text();
    expect(text).toBe('ok');
  });
});

describe('a request that cannot be serialized', () => {
  const circular: Record<string, unknown> = { role: 'user', content: 'hi' };
  circular.self = circular;
  test.each([
    ['a circular message', { messages: [circular] }, /cannot be sent as JSON: Converting circular/],
    [
      'a BigInt in extra',
      { messages: [{ role: 'user', content: 'hi' }], extra: { seed: 10n } },
      /cannot be sent as JSON: Do not know how to serialize a BigInt/,
    ],
  ])(
    '%s is a bad-request: never sent, not retried, lease released',
    async (_name, request, message) => {
      const { router, budgets, sent } = makeRouter(() => sse('x'));
      const events: string[] = [];
      router.subscribe((event) => events.push(event.type));

      const error = await router
        .chat(request as unknown as ChatRequest)
        .text()
        .catch((caught: unknown) => caught);

      expect(SluiceError.isInstance(error) && error.kind).toBe('bad-request');
      expect((error as SluiceError).retryable).toBe(false);
      expect((error as SluiceError).message).toMatch(message);
      expect((error as SluiceError).hint).toMatch(/plain JSON values/);
      expect(sent()).toBe(0);
      expect(events.filter((type) => type === 'retry')).toEqual([]);
      expect(budgets.list().every((budget) => budget.active === 0)).toBe(true);
    },
  );
});

describe('ChatStream collectors', () => {
  test('text() twice and result() after it give the same answer from one request', async () => {
    const { router, sent } = makeRouter(() => sse('Hello'));
    const stream = router.chat({ messages: [{ role: 'user', content: 'hi' }] });

    const first = await stream.text();
    const second = await stream.text();
    const result = await stream.result();

    expect([first, second, result.text]).toEqual(['Hello', 'Hello', 'Hello']);
    expect(result.finishReason).toBe('stop');
    expect(sent()).toBe(1);
  });

  test('iterating after text() says the stream was consumed and what to do instead', async () => {
    const { router } = makeRouter(() => sse('Hello'));
    const stream = router.chat({ messages: [{ role: 'user', content: 'hi' }] });
    await stream.text();

    expect(() => stream[Symbol.asyncIterator]()).toThrow(
      /already consumed by text\(\)\/result\(\)/,
    );
  });
});

// router.fetch as the fetch of third-party SDKs: the real `openai` client and the Vercel AI SDK's
// openai-compatible provider, against msw. At limit 2, five concurrent SDK streams never have more
// than 2 in flight at the mock, and all complete.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { createRouter } from '../src/router/create-router.js';
import {
  InFlightCounter,
  MOCK_BASE_URL,
  chatHandler,
  createMockServer,
  errorResponse,
  mockConfig,
  streamBody,
} from './support/msw-chat.js';
import { DONE, finishFrame, roleFrame, textFrame } from './support/sse.js';
import { TEST_API_KEY } from './support/test-route.js';

const server = createMockServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Each request streams `n:` + five pieces, 20 ms apart, counted while its body is open. */
function countingStreams(counter: InFlightCounter) {
  return chatHandler((_body, _request, index) => {
    const pieces = [roleFrame(), ...['a', 'b', 'c', 'd', 'e'].map((piece) => textFrame(piece))];
    return new Response(
      streamBody([textFrame(`${index}:`), ...pieces, finishFrame(), DONE], {
        delayMs: 20,
        counter,
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
}

function budgetedRouter() {
  return createRouter({
    config: mockConfig({ maxConcurrency: 2 }),
    budgets: createBudgetRegistry(),
  });
}

describe('router.fetch with SDKs', () => {
  it('openai: five concurrent streams at limit 2 never exceed 2 in flight and all complete', async () => {
    const counter = new InFlightCounter();
    server.use(countingStreams(counter));
    const router = budgetedRouter();
    const client = new OpenAI({
      baseURL: MOCK_BASE_URL,
      apiKey: TEST_API_KEY,
      fetch: router.fetch('glm', { session: { id: 'sdk' } }),
      maxRetries: 0,
    });

    const texts = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const stream = await client.chat.completions.create({
          model: 'glm-4.5',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        return text.replace(/^\d+:/, '');
      }),
    );

    expect(texts).toEqual(Array(5).fill('abcde'));
    expect(counter.total).toBe(5);
    expect(counter.peak).toBe(2);
    const budget = router.budgets.get(router.route().budgetKey, { limit: 2 });
    expect(budget.active).toBe(0);
    await router.close();
  });

  it('Vercel AI SDK: five concurrent streamText calls at limit 2 never exceed 2 in flight and all complete', async () => {
    const counter = new InFlightCounter();
    server.use(countingStreams(counter));
    const router = budgetedRouter();
    const provider = createOpenAICompatible({
      baseURL: MOCK_BASE_URL,
      name: 'glm',
      apiKey: TEST_API_KEY,
      fetch: router.fetch('glm'),
    });

    const texts = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const result = streamText({ model: provider('glm-4.5'), prompt: 'hi', maxRetries: 0 });
        return (await result.text).replace(/^\d+:/, '');
      }),
    );

    expect(texts).toEqual(Array(5).fill('abcde'));
    expect(counter.total).toBe(5);
    expect(counter.peak).toBe(2);
    expect(router.budgets.get(router.route().budgetKey, { limit: 2 }).active).toBe(0);
    await router.close();
  });

  it('releases the lease of an error response once the SDK has read its body', async () => {
    server.use(chatHandler(() => errorResponse(400, { message: 'bad', code: 'invalid' })));
    const router = budgetedRouter();
    const client = new OpenAI({
      baseURL: MOCK_BASE_URL,
      apiKey: TEST_API_KEY,
      fetch: router.fetch('glm'),
      maxRetries: 0,
    });
    await expect(
      client.chat.completions.create({
        model: 'glm-4.5',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 400 });
    expect(router.budgets.get(router.route().budgetKey, { limit: 2 }).active).toBe(0);
    await router.close();
  });

  it('names the known instances when asked for an unknown one', () => {
    const router = budgetedRouter();
    expect(() => router.fetch('nope')).toThrow(/no provider instance "nope".*glm/);
    expect(() => router.fetch('gml')).toThrow(/\(did you mean "glm"\?\)/);
  });

  it('given a route name, names the route\'s provider instance (trial: router.fetch("default"))', () => {
    const router = budgetedRouter();
    const route = router.route();
    let error: unknown;
    try {
      router.fetch(route.name);
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toContain(
      `"${route.name}" is a route; its provider instance is "${route.instance}".`,
    );
    expect((error as { hint?: string }).hint).toContain(`router.fetch("${route.instance}")`);
  });
});

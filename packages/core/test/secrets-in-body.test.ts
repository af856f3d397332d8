import { afterEach, describe, expect, test } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import type { ChatEvent } from '../src/events/chat-events.js';
import { createRouter } from '../src/router/create-router.js';
import type { Router } from '../src/router/types.js';

// Providers quote parts of the request back in their errors; a 200 body that does must not carry
// the request's API key into a SluiceError, an `error` event or a published event.
const KEY = 'sk-trial-SECRET-123456';
const MASK = 'sk-t…';

let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
});

function makeRouter(body: string, contentType = 'text/event-stream') {
  const budgets = createBudgetRegistry();
  router = createRouter({
    config: {
      providers: {
        local: { use: 'local', apiKey: KEY, maxConcurrency: 1, retry: { maxAttempts: 1 } },
      },
      routes: { default: { provider: 'local', model: 'm' } },
    },
    providers: [
      openAICompatible({
        id: 'local',
        baseURL: 'http://127.0.0.1:9/v1',
        models: ['m'],
        // A finish reason this provider reports as a failure.
        mapFinishReason: (raw) =>
          raw.startsWith('network_error')
            ? {
                error: {
                  kind: 'provider' as const,
                  message: `upstream said ${raw}`,
                  retryable: false,
                },
              }
            : undefined,
      }),
    ],
    budgets,
    fetch: (async () =>
      new Response(body, { headers: { 'content-type': contentType } })) as typeof fetch,
  });
  const published: unknown[] = [];
  router.subscribe((event) => published.push(event));
  return { router, budgets, published };
}

const delta = (text: string) =>
  `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}\n\n`;

/** Runs one request; returns its error, its events and every text a user could see. */
async function run(body: string, contentType?: string) {
  const { router, budgets, published } = makeRouter(body, contentType);
  const events: ChatEvent[] = [];
  let error: unknown;
  try {
    for await (const event of router.chat({ messages: [{ role: 'user', content: 'hi' }] })) {
      events.push(event);
    }
  } catch (caught) {
    error = caught;
  }
  const seen = [
    String(error),
    (error as Error | undefined)?.stack ?? '',
    JSON.stringify(error),
    JSON.stringify(events),
    JSON.stringify(published),
  ].join('\n');
  return { error: error as SluiceError, events, seen, budgets };
}

describe('a key quoted back in a 200 body', () => {
  test.each([
    ['an error chunk', `data: {"error":{"code":"1214","message":"bad key ${KEY}"}}\n\n`, undefined],
    ['an event: error frame', `event: error\ndata: {"message":"bad key ${KEY}"}\n\n`, undefined],
    [
      'an error chunk after output (mid-stream)',
      `${delta('partial ')}data: {"error":{"message":"expired ${KEY}"}}\n\n`,
      undefined,
    ],
    [
      'a finish reason mapped to an error',
      `${delta('x')}data: {"choices":[{"index":0,"delta":{},"finish_reason":"network_error ${KEY}"}]}\n\ndata: [DONE]\n\n`,
      undefined,
    ],
    [
      'a JSON error body with status 200',
      `{"error":{"message":"bad key ${KEY}"}}`,
      'application/json',
    ],
  ])(
    '%s: the error says what the provider said, with the key masked',
    async (_name, body, type) => {
      const { error, seen, budgets } = await run(body, type);

      expect(SluiceError.isInstance(error)).toBe(true);
      expect(error.message).toContain(MASK);
      expect(seen).not.toContain(KEY);
      expect(budgets.list().map((budget) => budget.active)).toEqual([0]);
    },
  );

  test('a chunk that cannot be parsed becomes an error event whose raw text has the key masked', async () => {
    const { events, seen } = await run(
      `${delta('ok')}data: {"choices": [${KEY}\n\n${delta('!')}data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`,
    );

    const skipped = events.find((event) => event.type === 'error');
    expect(skipped && 'raw' in skipped && skipped.raw).toContain(MASK);
    expect(events.filter((event) => event.type === 'text-delta').map((e) => e.text)).toEqual([
      'ok',
      '!',
    ]);
    expect(seen).not.toContain(KEY);
  });
});

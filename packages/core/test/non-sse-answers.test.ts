import { afterEach, describe, expect, test } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createRouter } from '../src/router/create-router.js';
import type { Router } from '../src/router/types.js';

let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
});

/** A router whose provider instance "proxy" answers every request with `answer()`. */
function routerAnswering(answer: () => Response) {
  let sent = 0;
  const budgets = createBudgetRegistry();
  router = createRouter({
    config: {
      providers: { proxy: { use: 'local', apiKey: 'k-0123456789abcdef' } },
      routes: { default: { provider: 'proxy', model: 'm' } },
    },
    providers: [openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] })],
    budgets,
    fetch: (async () => {
      sent += 1;
      return answer();
    }) as typeof fetch,
  });
  const failure = () =>
    router!
      .chat({ messages: [{ role: 'user', content: 'hi' }] })
      .text()
      .catch((caught: unknown) => caught);
  return { failure, budgets, sent: () => sent };
}

describe('a 200 answer that is a web page', () => {
  test.each([['text/html'], ['text/html; charset=utf-8'], ['TEXT/HTML']])(
    'content-type %s names the page and the endpoint to check; not retried, body cancelled, lease released',
    async (contentType) => {
      let cancelled = 0;
      const { failure, budgets, sent } = routerAnswering(() => {
        const page = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('<html><body>Sign in</body></html>'));
          },
          cancel() {
            cancelled += 1;
          },
        });
        return new Response(page, { headers: { 'content-type': contentType } });
      });

      const error = await failure();

      expect(SluiceError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        kind: 'provider',
        retryable: false,
        phase: 'headers',
        status: 200,
      });
      expect((error as SluiceError).message).toContain(
        'answered HTTP 200 with a web page (content-type text/html), not a chat completion',
      );
      expect((error as SluiceError).hint).toContain(
        'Check the endpoint of provider instance "proxy"',
      );
      expect(sent()).toBe(1);
      expect(cancelled).toBe(1);
      expect(budgets.list().map((budget) => budget.active)).toEqual([0]);
    },
  );
});

describe('a 2xx answer with no body', () => {
  test.each([[204], [205]])(
    'HTTP %i names the missing body and the endpoint to check; not retried, lease released',
    async (status) => {
      const { failure, budgets, sent } = routerAnswering(() => new Response(null, { status }));

      const error = await failure();

      expect(error).toMatchObject({ kind: 'provider', retryable: false, phase: 'headers', status });
      expect((error as SluiceError).message).toContain(`answered HTTP ${status} with no body`);
      expect((error as SluiceError).hint).toContain('provider instance "proxy"');
      expect(sent()).toBe(1);
      expect(budgets.list().map((budget) => budget.active)).toEqual([0]);
    },
  );
});

describe('an error built from the body of a 2xx answer other than 200', () => {
  test('carries the answer’s own status', async () => {
    const { failure } = routerAnswering(
      () =>
        new Response('data: {"error":{"message":"upstream busy"}}\n\n', {
          status: 299,
          headers: { 'content-type': 'text/event-stream' },
        }),
    );

    const error = await failure();

    expect(SluiceError.isInstance(error)).toBe(true);
    expect((error as SluiceError).status).toBe(299);
    expect((error as SluiceError).message).toContain('carried an error: upstream busy');
  });
});

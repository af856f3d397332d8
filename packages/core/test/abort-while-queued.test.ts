import { afterEach, describe, expect, test } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import { openAICompatible } from '../src/descriptor/open-ai-compatible.js';
import { SluiceError } from '../src/errors/sluice-error.js';
import { createRouter } from '../src/router/create-router.js';
import type { SluiceEvent } from '../src/router/router-events.js';
import type { Router } from '../src/router/types.js';

// A caller who gives up on a queued request has cancelled it: the provider did not fail, so the
// request-end event (which readiness and fleet stats count) must not say so.

let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
});

const messages = [{ role: 'user' as const, content: 'hi' }];

/** A router whose one lease is held by a stream that ends only when `finish()` is called. */
function heldRouter() {
  let finish = () => {};
  const events: SluiceEvent[] = [];
  router = createRouter({
    config: {
      providers: { local: { use: 'local', apiKey: 'k-0123456789abcdef', maxConcurrency: 1 } },
      routes: { default: { provider: 'local', model: 'm' } },
    },
    providers: [openAICompatible({ id: 'local', baseURL: 'http://127.0.0.1:9/v1', models: ['m'] })],
    budgets: createBudgetRegistry(),
    fetch: (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            const encoder = new TextEncoder();
            controller.enqueue(
              encoder.encode('data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'),
            );
            finish = () => {
              controller.enqueue(
                encoder.encode(
                  'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
                ),
              );
              controller.close();
            };
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )) as typeof fetch,
  });
  router.subscribe((event) => events.push(event));
  return { router, events, finish: () => finish() };
}

describe('an abort while queued', () => {
  test.each([
    ['abort()', (controller: AbortController) => controller.abort()],
    ['abort(new Error)', (controller: AbortController) => controller.abort(new Error('gave up'))],
    ['abort("a string")', (controller: AbortController) => controller.abort('gave up')],
  ])('%s ends the request as cancelled, not as a failure', async (_name, abort) => {
    const { router, events, finish } = heldRouter();
    const first = router.chat({ messages });
    const holding = first.text();
    await new Promise((resolve) => setTimeout(resolve, 10));

    const controller = new AbortController();
    const queued = router.chat({ messages }, { signal: controller.signal }).text();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(router.budgets.list()[0]!.pending).toBe(1);
    abort(controller);

    const error = await queued.catch((caught: unknown) => caught);
    expect(SluiceError.isInstance(error) && error.kind).toBe('aborted');
    finish();
    expect(await holding).toBe('x');

    const ends = events.filter((event) => event.type === 'request-end');
    expect(ends.map((end) => end.outcome).sort()).toEqual(['cancelled', 'success']);
    const cancelled = ends.find((end) => end.outcome === 'cancelled')!;
    expect(cancelled.error?.kind).toBe('aborted');
    expect(router.budgets.list()[0]!.active).toBe(0);
  });

  test('AbortSignal.timeout while queued is cancelled too', async () => {
    const { router, events, finish } = heldRouter();
    const holding = router.chat({ messages }).text();
    await new Promise((resolve) => setTimeout(resolve, 10));

    const queued = router.chat({ messages }, { signal: AbortSignal.timeout(20) }).text();
    const error = await queued.catch((caught: unknown) => caught);
    expect(SluiceError.isInstance(error) && error.kind).toBe('aborted');
    finish();
    await holding;

    const ends = events.filter((event) => event.type === 'request-end');
    expect(ends.map((end) => end.outcome).sort()).toEqual(['cancelled', 'success']);
  });
});

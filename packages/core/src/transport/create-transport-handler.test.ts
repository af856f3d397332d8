import { describe, expect, it } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { TEST_API_KEY, testContext, testRoute } from '../../test/support/test-route.js';
import { createTransport } from './create-transport.js';
import { createTransportHandler } from './create-transport-handler.js';
import { classificationOf } from './error-classification.js';

function handlerWith(respond: (request: Request) => Response) {
  const requests: Request[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push(request);
    return respond(request);
  }) as typeof globalThis.fetch;
  const transport = createTransport({ fetch, connections: 1 });
  return { next: createTransportHandler({ transportFor: () => transport }), requests };
}

describe('createTransportHandler', () => {
  it('classifies a non-2xx answer by status, keeps Retry-After and redacts the key', async () => {
    const { next } = handlerWith(
      () =>
        new Response(JSON.stringify({ error: { message: `slow down ${TEST_API_KEY}` } }), {
          status: 429,
          headers: { 'retry-after': '7', 'content-type': 'application/json' },
        }),
    );
    const error = await next(testContext(testRoute())).catch((failure: unknown) => failure);
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'rate-limit',
      status: 429,
      retryAfterMs: 7_000,
      phase: 'headers',
      route: 'main',
      providerId: 'testprov',
    });
    expect((error as Error).message).not.toContain(TEST_API_KEY);
    expect(classificationOf(error)).toMatchObject({ kind: 'rate-limit', cooldown: true });
  });

  it('uses the descriptor classifier before the status defaults', async () => {
    const { next } = handlerWith(
      () => new Response(JSON.stringify({ error: { code: 1302 } }), { status: 429 }),
    );
    const route = testRoute();
    route.provider = {
      ...route.provider,
      classify: (input) => ({
        kind: 'rate-limit',
        providerCode: String((input.body as { error: { code: number } }).error.code),
        hint: 'Lower maxConcurrency.',
      }),
    };
    const error = await next(testContext(route)).catch((failure: unknown) => failure);
    expect(error).toMatchObject({
      kind: 'rate-limit',
      providerCode: '1302',
      hint: 'Lower maxConcurrency.',
    });
  });

  it('fails before sending when a bearer provider has no key, naming the env vars tried', async () => {
    const { next, requests } = handlerWith(() => new Response('never'));
    const route = testRoute({ apiKey: undefined, apiKeyEnvTried: ['TEST_API_KEY'] });
    const error = await next(testContext(route)).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ kind: 'auth', phase: 'config', retryable: false });
    expect((error as Error).message).toContain('TEST_API_KEY');
    expect(requests).toHaveLength(0);
  });

  it('leads the decoded events with one start naming id, model, attempt and route', async () => {
    const { next, requests } = handlerWith(
      () =>
        new Response(
          'data: {"id":"r1","model":"m-2","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n' +
            'data: {"id":"r1","model":"m-2","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
            'data: [DONE]\n\n',
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    );
    const context = testContext(testRoute());
    const response = await next(context);
    const events = [];
    for await (const event of response.events) events.push(event);
    expect(events.map((event) => event.type)).toEqual(['start', 'text-delta', 'finish']);
    expect(events[0]).toEqual({ type: 'start', id: 'r1', model: 'm-2', attempt: 1, route: 'main' });
    expect(requests[0]!.headers.get('authorization')).toBe(`Bearer ${TEST_API_KEY}`);
    expect(requests[0]!.headers.get('accept')).toBe('text/event-stream');
    expect(context.events.find((event) => event.type === 'headers')).toMatchObject({ status: 200 });
  });
});

import { describe, expect, it } from 'vitest';
import { testDescriptor, testRoute } from '../../test/support/test-route.js';
import { buildChatRequestBody } from './build-chat-request-body.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('buildChatRequestBody', () => {
  it('uses the route model, streams with include_usage and maps fields to wire names', () => {
    const body = buildChatRequestBody(
      {
        messages,
        temperature: 0.3,
        topP: 0.9,
        maxTokens: 100,
        stop: 'END',
        toolChoice: 'auto',
        tools: [{ type: 'function', function: { name: 'f' } }],
      },
      testRoute(),
    );
    expect(body).toEqual({
      model: 'test-model',
      messages,
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 100,
      stop: 'END',
      tool_choice: 'auto',
      tools: [{ type: 'function', function: { name: 'f' } }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends stream: false without stream_options, and the request model over the route model', () => {
    const body = buildChatRequestBody({ messages, stream: false, model: 'other' }, testRoute());
    expect(body).toEqual({ model: 'other', messages, stream: false });
  });

  it('keeps extra stream_options fields and extra wire fields', () => {
    const body = buildChatRequestBody(
      { messages, extra: { stream_options: { chunk: 1 }, seed: 7 } },
      testRoute(),
    );
    expect(body).toMatchObject({ seed: 7, stream_options: { include_usage: true, chunk: 1 } });
  });

  it('lets the descriptor transform the body with route and request provider options merged', () => {
    const route = testRoute({
      provider: testDescriptor({
        transformRequest: (body, context) => ({
          ...body,
          seen: context.providerOptions,
          model: `${context.model}!`,
        }),
      }),
      providerOptions: { a: 1, b: 1 },
    });
    const body = buildChatRequestBody({ messages, providerOptions: { b: 2 } }, route);
    expect(body).toMatchObject({ model: 'test-model!', seen: { a: 1, b: 2 } });
  });
});

import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyZhipuError } from './classify-zhipu-error.js';
import { glmError, glmReplay, glmStreamEvents, sseResponse, zhipuMock } from './testing.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const CODING = 'https://api.z.ai/api/coding/paas/v4/chat/completions';

function post(url: string, body: Record<string, unknown>) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' },
    body: JSON.stringify(body),
  });
}

function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

describe('zhipuMock', () => {
  it('serves a GLM-shaped stream: reasoning, text, finish with usage, [DONE]', async () => {
    const mock = zhipuMock({
      script: [
        {
          reasoning: 'Let me think',
          text: 'Hello there',
          usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
        },
      ],
    });
    server.use(...mock.handlers);

    const response = await post(CODING, { model: 'glm-4.6', stream: true, messages: [] });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const lines = dataLines(await response.text());

    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1).map((line) => JSON.parse(line));
    const reasoning = chunks.map((c) => c.choices[0].delta.reasoning_content ?? '').join('');
    const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(reasoning).toBe('Let me think');
    expect(text).toBe('Hello there');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 4,
      total_tokens: 9,
    });
    expect(chunks.every((c) => c.model === 'glm-4.6')).toBe(true);
  });

  it('sends each tool call whole, arguments as a JSON string, and finishes with tool_calls', () => {
    const events = glmStreamEvents({
      toolCalls: [{ id: 'call_1', name: 'weather', arguments: { q: 'tea' } }],
    });
    const call = (events[0] as { choices: Array<{ delta: { tool_calls: unknown[] } }> }).choices[0]
      ?.delta.tool_calls[0];
    expect(call).toEqual({
      id: 'call_1',
      index: 0,
      type: 'function',
      function: { name: 'weather', arguments: '{"q":"tea"}' },
    });
    expect(
      (events.at(-2) as { choices: Array<{ finish_reason: string }> }).choices[0]?.finish_reason,
    ).toBe('tool_calls');
  });

  it('serves a JSON completion when the request says stream: false', async () => {
    server.use(...zhipuMock({ script: [{ text: 'ok' }] }).handlers);
    const response = await post(CODING, { model: 'glm-4.5', stream: false, messages: [] });
    const json = await response.json();
    expect(json.choices[0].message.content).toBe('ok');
    expect(json.model).toBe('glm-4.5');
  });

  it('serves steps in order, records every request, and fails loudly past the script', async () => {
    const mock = zhipuMock({ script: [glmError(1302), { text: 'second' }] });
    server.use(...mock.handlers);

    const first = await post(CODING, {
      model: 'glm-4.6',
      messages: [{ role: 'user', content: 'a' }],
    });
    const second = await post(CODING, {
      model: 'glm-4.6',
      messages: [{ role: 'user', content: 'b' }],
    });
    const third = await post(CODING, { model: 'glm-4.6', messages: [] });

    expect(first.status).toBe(429);
    expect(second.status).toBe(200);
    expect(third.status).toBe(400);
    expect((await third.json()).error.code).toBe('MOCK_SCRIPT_EXHAUSTED');
    expect(mock.requests.map((r) => r.number)).toEqual([1, 2, 3]);
    expect(mock.requests[1]?.body?.messages).toEqual([{ role: 'user', content: 'b' }]);
    expect(mock.requests[0]?.headers.get('authorization')).toBe('Bearer test-key');
    expect(mock.remaining()).toBe(0);
  });

  it('answers on all four endpoints by default and only on baseURL when given', async () => {
    server.use(...zhipuMock({ fallback: { text: 'x' } }).handlers);
    for (const base of [
      'https://open.bigmodel.cn/api/coding/paas/v4',
      'https://api.z.ai/api/paas/v4',
      'https://open.bigmodel.cn/api/paas/v4',
    ]) {
      expect((await post(`${base}/chat/completions`, { model: 'glm-4.6' })).status).toBe(200);
    }

    // A catch-all after the mock's handlers answers what they leave alone (msw tries handlers in
    // order), so the test needs no real network and msw logs no unhandled request.
    server.resetHandlers(
      ...zhipuMock({ baseURL: 'http://glm.test/v4/', fallback: { text: 'x' } }).handlers,
      http.all('*', () => new HttpResponse('not the mock', { status: 599 })),
    );
    expect((await post('http://glm.test/v4/chat/completions', { model: 'glm-4.6' })).status).toBe(
      200,
    );
    expect((await post(CODING, { model: 'glm-4.6' })).status).toBe(599);
  });
});

describe('glmError', () => {
  it.each([
    [1302, 429, 'rate-limit'],
    [1305, 429, 'overloaded'],
    [1113, 429, 'billing'],
    [1002, 401, 'auth'],
    [1211, 400, 'model-not-found'],
    [500, 500, 'server'],
  ])('code %i is served with HTTP %i and classifies as %s', async (code, status, kind) => {
    const response = glmError(code);
    const body = await response.json();
    expect(response.status).toBe(status);
    expect(body.error.code).toBe(String(code));
    expect(
      classifyZhipuError({ status, headers: response.headers, body, bodyText: '' })?.kind,
    ).toBe(kind);
  });

  it('can send the code as a number, with a chosen status and message', async () => {
    const response = glmError(1305, { numericCode: true, status: 503, message: 'busy' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { code: 1305, message: 'busy' } });
  });
});

describe('glmReplay and sseResponse', () => {
  it('replays a recorded body event by event, byte for byte', async () => {
    const recorded = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    expect(await glmReplay(recorded).text()).toBe(recorded);
  });

  it('sends raw items as they are, including odd shapes', async () => {
    const response = sseResponse([{ choices: [{ index: -1, delta: {} }] }, '[DONE]']);
    expect(await response.text()).toBe(
      'data: {"choices":[{"index":-1,"delta":{}}]}\n\ndata: [DONE]\n\n',
    );
  });
});

// The testing helpers check what they are given when they are called, naming the option or the
// step, what is accepted and the fix (findings of the external-user trial, test/wrong-msw.test.ts).
import { ConfigError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import {
  glmCompletion,
  glmError,
  glmReplay,
  glmStream,
  glmStreamEvents,
  sseResponse,
  zhipuHandlers,
  zhipuMock,
} from '../src/testing.js';
import { failureOf, setupRouterTests, TEST_KEY } from './support.js';

const { server, glmRouter } = setupRouterTests();

const CODING = 'https://api.z.ai/api/coding/paas/v4';
const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

/** The ConfigError `make` throws; fails the test when it throws nothing or something else. */
function configErrorOf(make: () => unknown): ConfigError {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(ConfigError.isConfigError(caught), `expected a ConfigError, got ${String(caught)}`).toBe(
    true,
  );
  return caught as ConfigError;
}

describe('trial findings: the testing helpers check their input when called', () => {
  it('zhipuMock refuses baseUrl (trial: misspelt option ignored)', () => {
    const error = configErrorOf(() =>
      zhipuMock({ baseUrl: CODING, script: [{ text: 'hi' }] } as never),
    );
    expect(error.message).toContain('Invalid zhipuMock options: 1 problem');
    expect(error.message).toContain(
      '- baseUrl: unknown option; did you mean "baseURL"?. Fix: rename it to baseURL (accepted: baseURL, script, fallback)',
    );
    expect(error.issues).toEqual([expect.objectContaining({ path: 'baseUrl' })]);
  });

  it('zhipuMock refuses a step with tool_calls (trial: served as an empty answer)', () => {
    const error = configErrorOf(() =>
      zhipuMock({
        script: [{ text: 'fine' }, { tool_calls: [{ name: 'x', arguments: {} }] }],
      } as never),
    );
    expect(error.message).toContain(
      '- script[1].tool_calls: unknown step field; did you mean "toolCalls"?. Fix: rename it to toolCalls',
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(['script[1].tool_calls']);
  });

  it('glmError refuses statusCode (trial: option ignored, 429 served)', () => {
    const error = configErrorOf(() => glmError(1302, { statusCode: 503 } as never));
    expect(error.message).toContain('Invalid glmError arguments');
    expect(error.message).toContain(
      '- statusCode: unknown option; did you mean "status"?. Fix: rename it to status (accepted: status, message, numericCode, headers)',
    );
    expect(glmError(1302, { status: 503 }).status).toBe(503);
  });

  it('glmError refuses status 99 (trial: not an HTTP error status)', () => {
    const error = configErrorOf(() => glmError(1302, { status: 99 }));
    expect(error.message).toContain(
      '- status: must be an HTTP error status, a whole number from 400 to 599 (got 99). Fix: write e.g. status: 503',
    );
    for (const status of [200, 600, 429.5]) {
      expect(configErrorOf(() => glmError(1302, { status })).issues[0]?.path).toBe('status');
    }
    expect(glmError(1302, { status: 400 }).status).toBe(400);
    expect(glmError(1302, { status: 599 }).status).toBe(599);
  });

  it('zhipuMock refuses text: 42 when called (trial: TypeError hidden behind MOCK_SCRIPT_EXHAUSTED)', () => {
    const error = configErrorOf(() => zhipuMock({ script: [{ text: 42 }] } as never));
    expect(error.message).toContain(
      "- script[0].text: must be a string or an array of strings (the exact deltas) (got 42). Fix: write text: '42' (a string)",
    );
  });

  it('a function step answering text: 42 fails its request with the cause, not retried (trial: MOCK_SCRIPT_EXHAUSTED hid it)', async () => {
    const mock = zhipuMock({
      baseURL: CODING,
      script: [() => ({ text: 42 }) as never, { text: 'never' }],
    });
    server.use(...mock.handlers);
    const { router } = glmRouter({ instance: { retry: { baseDelayMs: 1, maxDelayMs: 2 } } });

    const error = await failureOf(router.chat(ask).text());

    expect(mock.requests).toHaveLength(1);
    expect(error).toMatchObject({
      kind: 'bad-request',
      status: 400,
      providerCode: 'MOCK_STEP_FAILED',
    });
    expect(error.message).toContain('zhipu mock: script[0] (request 1) failed');
    expect(error.message).toContain('text: must be a string or an array of strings');
    expect(error.message).not.toContain('MOCK_SCRIPT_EXHAUSTED');
  });

  it('zhipuMock refuses a script that is not an array (trial: TypeError "is not iterable")', () => {
    const error = configErrorOf(() => zhipuMock({ script: { text: 'hi' } } as never));
    expect(error.message).toContain(
      '- script: must be an array of steps, one per request (got an object). Fix: wrap the step in an array: script: [{ ... }]',
    );
  });

  it('zhipuMock takes a baseURL ending in the chat path without doubling it (trial: no handler matched)', async () => {
    for (const baseURL of [`${CODING}/chat/completions`, `${CODING}/chat/completions/`]) {
      const mock = zhipuMock({ baseURL, script: [{ text: 'hi there' }] });
      server.resetHandlers(...mock.handlers);
      const { router } = glmRouter();

      expect(await router.chat(ask).text()).toBe('hi there');
      expect(mock.requests[0]?.url).toBe(`${CODING}/chat/completions`);
    }
  });
});

describe('every helper checks every option and step field', () => {
  const cases: Array<[string, () => unknown, string]> = [
    [
      'zhipuMock: options not an object',
      () => zhipuMock('glm' as never),
      '(root): must be an object (got "glm"). Fix: write e.g. zhipuMock({ script: [{ text: \'Hello\' }] })',
    ],
    [
      'zhipuMock: baseURL not a URL',
      () => zhipuMock({ baseURL: 'api.z.ai/v4' }),
      'baseURL: must be an http(s) base URL',
    ],
    [
      'zhipuMock: empty baseURL array',
      () => zhipuMock({ baseURL: [] }),
      'baseURL: is an empty array, so the mock answers on no endpoint',
    ],
    [
      'zhipuMock: one bad baseURL of several',
      () => zhipuMock({ baseURL: [CODING, 42 as never] }),
      'baseURL[1]: must be an http(s) base URL (got 42)',
    ],
    [
      'zhipuMock: a step that is a number',
      () => zhipuMock({ script: [7 as never] }),
      'script[0]: must be an answer object, a Response (e.g. from glmError) or a function of the call (got 7)',
    ],
    [
      'zhipuMock: the same Response twice',
      () => {
        const busy = glmError(1302);
        return zhipuMock({ script: [busy, busy] });
      },
      'script[1]: is the same Response as script[0]; a body can be read only once. Fix: make a new one for each step',
    ],
    [
      'zhipuMock: a Response as fallback',
      () => zhipuMock({ fallback: glmError(1302) as never }),
      'fallback: must not be a Response (a body is read once, and a fallback may serve many requests). Fix: write a function',
    ],
    [
      'zhipuMock: a misspelt fallback field',
      () => zhipuMock({ fallback: { txt: 'x' } as never }),
      'fallback.txt: unknown fallback field; did you mean "text"?',
    ],
    [
      'step: content (OpenAI spelling)',
      () => zhipuMock({ script: [{ content: 'hi' } as never] }),
      'script[0].content: unknown step field; did you mean "text"?',
    ],
    [
      'step: reasoning_content (GLM wire spelling)',
      () => zhipuMock({ script: [{ reasoning_content: 'hm' } as never] }),
      'script[0].reasoning_content: unknown step field; did you mean "reasoning"?',
    ],
    [
      'step: finish_reason',
      () => zhipuMock({ script: [{ finish_reason: 'stop' } as never] }),
      'script[0].finish_reason: unknown step field; did you mean "finishReason"?',
    ],
    [
      'step: reasoning not a string',
      () => zhipuMock({ script: [{ reasoning: ['a', 1] as never }] }),
      'script[0].reasoning: must be a string or an array of strings',
    ],
    [
      'step: toolCalls not an array',
      () => zhipuMock({ script: [{ toolCalls: { name: 'x', arguments: {} } as never }] }),
      'script[0].toolCalls: must be an array of tool calls (got an object)',
    ],
    [
      'step: a tool call in the OpenAI wire shape',
      () =>
        zhipuMock({
          script: [{ toolCalls: [{ function: { name: 'x', arguments: '{}' } } as never] }],
        }),
      'script[0].toolCalls[0].function: unknown tool call field (the OpenAI wire shape)',
    ],
    [
      'step: a tool call without a name',
      () => zhipuMock({ script: [{ toolCalls: [{ arguments: {} } as never] }] }),
      "script[0].toolCalls[0].name: is missing. Fix: write the tool's name, e.g. name: 'weather'",
    ],
    [
      'step: a tool call with misspelt args',
      () => zhipuMock({ script: [{ toolCalls: [{ name: 'x', args: {} } as never] }] }),
      'script[0].toolCalls[0].args: unknown tool call field; did you mean "arguments"?',
    ],
    [
      'step: tool call arguments a number',
      () => zhipuMock({ script: [{ toolCalls: [{ name: 'x', arguments: 3 as never }] }] }),
      'script[0].toolCalls[0].arguments: must be an object (sent as a JSON string) or a JSON string (got 3)',
    ],
    [
      'step: usage in camelCase',
      () =>
        zhipuMock({
          script: [{ usage: { promptTokens: 1, completion_tokens: 1, total_tokens: 2 } as never }],
        }),
      'script[0].usage.prompt_tokens: is missing; usage uses GLM\'s snake_case names, not "promptTokens"',
    ],
    [
      'step: usage true',
      () => zhipuMock({ script: [{ usage: true as never }] }),
      'script[0].usage: must be a usage object or false (got true)',
    ],
    [
      'step: finishReason empty',
      () => zhipuMock({ script: [{ finishReason: '' }] }),
      'script[0].finishReason: must be a non-empty string',
    ],
    [
      'step: model a number',
      () => zhipuMock({ script: [{ model: 4.6 as never }] }),
      'script[0].model: must be a non-empty string (got 4.6)',
    ],
    [
      'step: negative chunkDelayMs',
      () => zhipuMock({ script: [{ chunkDelayMs: -1 }] }),
      'script[0].chunkDelayMs: must be a number of ms >= 0 (got -1)',
    ],
    [
      'step: thinkingPauseMs NaN',
      () => zhipuMock({ script: [{ thinkingPauseMs: Number.NaN }] }),
      'script[0].thinkingPauseMs: must be a number of ms >= 0 (got NaN)',
    ],
    [
      'step: done a string',
      () => zhipuMock({ script: [{ done: 'no' as never }] }),
      'script[0].done: must be true or false (got "no")',
    ],
    [
      'zhipuHandlers: the same checks',
      () => zhipuHandlers({ baseUrl: CODING } as never),
      'baseUrl: unknown option; did you mean "baseURL"?',
    ],
    [
      'glmStream: tool_calls',
      () => glmStream({ tool_calls: [] } as never),
      'Invalid glmStream options: 1 problem\n  - tool_calls: unknown answer field; did you mean "toolCalls"?',
    ],
    [
      'glmStream: requestedModel not a string',
      () => glmStream({ text: 'x' }, 46 as never),
      'requestedModel: must be a model id (got 46)',
    ],
    [
      'glmCompletion: text a number',
      () => glmCompletion({ text: 42 } as never),
      'Invalid glmCompletion options: 1 problem\n  - text: must be a string or an array of strings',
    ],
    [
      'glmStreamEvents: options not an object',
      () => glmStreamEvents('hi' as never),
      '(root): must be an answer object (got "hi")',
    ],
    [
      'glmError: code not a code',
      () => glmError({ code: 1302 } as never),
      'code: must be a GLM business code: a whole number or a non-empty string (got an object)',
    ],
    [
      'glmError: message not a string',
      () => glmError(1302, { message: 42 as never }),
      'message: must be a string (got 42)',
    ],
    [
      'glmError: numericCode with a non-numeric code',
      () => glmError('busy', { numericCode: true }),
      'numericCode: is true but the code is not a number (got "busy")',
    ],
    [
      'glmError: headers with a number value',
      () => glmError(1302, { headers: { 'retry-after': 2 } as never }),
      'headers: must be headers: an object of header names to string values',
    ],
    [
      'sseResponse: items not an array',
      () => sseResponse('data: x' as never),
      'items: must be an array of events (objects, data strings or { pauseMs }) (got "data: x")',
    ],
    [
      'sseResponse: a pause with a string',
      () => sseResponse([{ pauseMs: '100' }]),
      'items[0].pauseMs: must be a number of ms >= 0 (got "100")',
    ],
    [
      'sseResponse: a number item',
      () => sseResponse([1 as never]),
      'items[0]: must be an object (sent as JSON), a data string or a pause { pauseMs } (got 1)',
    ],
    [
      'sseResponse: misspelt option',
      () => sseResponse([], { chunkDelay: 5 } as never),
      'chunkDelay: unknown option; did you mean "chunkDelayMs"?',
    ],
    [
      'sseResponse: status 700',
      () => sseResponse([], { status: 700 }),
      'status: must be an HTTP status, a whole number from 200 to 599 (got 700)',
    ],
    [
      'glmReplay: a Buffer-like body',
      () => glmReplay(new Uint8Array([1]) as never),
      'bodyText: must be the recorded body as a string (got an object)',
    ],
    [
      'glmReplay: statusCode',
      () => glmReplay('data: [DONE]\n\n', { statusCode: 200 } as never),
      'statusCode: unknown option; did you mean "status"?',
    ],
  ];

  it.each(cases)('%s', (_name, make, expected) => {
    expect(configErrorOf(make).message).toContain(expected);
  });

  it('lists every problem of a mock in one error, each with its fix', () => {
    const error = configErrorOf(() =>
      zhipuMock({
        baseUrl: CODING,
        script: [{ text: 42 }, { tool_calls: [] }, glmError(1302)],
      } as never),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'baseUrl',
      'script[0].text',
      'script[1].tool_calls',
    ]);
    expect(error.issues.every((issue) => issue.fix !== '')).toBe(true);
  });

  it('never shows more of a mistyped baseURL than its start', () => {
    const error = configErrorOf(() => zhipuMock({ baseURL: `api.z.ai?key=${TEST_KEY}` }));
    expect(error.message).not.toContain(TEST_KEY);
  });

  it('still accepts every valid shape', async () => {
    const mock = zhipuMock({
      baseURL: [CODING, 'http://127.0.0.1:8080/v4/'],
      script: [
        glmError(1302, { status: 503, message: 'busy', numericCode: true, headers: { a: 'b' } }),
        { text: ['Hel', 'lo'], reasoning: 'hm', usage: false, done: true, chunkDelayMs: 0 },
        {
          toolCalls: [
            { id: 'c1', name: 'weather', arguments: { city: 'Florence' } },
            { name: 'time', arguments: '{}' },
          ],
          finishReason: 'tool_calls',
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, extra: 1 },
          model: 'glm-4.6-0930',
          id: 'x',
          thinkingPauseMs: 0,
        },
        () => ({ text: 'from a function' }),
        () => glmError('1305'),
      ],
      fallback: () => ({ text: 'fallback' }),
    });
    expect(mock.handlers).toHaveLength(2);
    expect(mock.remaining()).toBe(5);
    expect(zhipuMock().handlers).toHaveLength(4);
    expect(glmError('MOCK', { status: 418 }).status).toBe(418);
    expect(
      sseResponse([{ pauseMs: 0 }, '[DONE]'], { status: 200, headers: [['a', 'b']] }).status,
    ).toBe(200);
    expect(glmReplay('{}', { status: 429, contentType: 'application/json' }).status).toBe(429);
    expect(glmStreamEvents({ text: 'a' }, 'glm-4.5').length).toBeGreaterThan(0);
  });
});

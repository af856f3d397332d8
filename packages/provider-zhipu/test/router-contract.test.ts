// Contract tests: the recorded glm-4.5 and glm-4.6 traffic replayed through router.chat with the
// zhipu descriptor, on global fetch intercepted by this package's own msw testing handlers.
// Expected values come from test/recordings.ts, which reads each recording by itself.
import type { ChatEvent, ChatMessage, ChatRequest, Router } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { glmReplay, zhipuMock } from '../src/testing.js';
import type { ZhipuMock } from '../src/testing.js';
import { readAnswer, readTurn, recordedExchanges } from './recordings.js';
import type { RecordedAnswer, RecordedTurn } from './recordings.js';
import { setupRouterTests, TEST_KEY } from './support.js';

const { server, glmRouter } = setupRouterTests();

/** The ChatRequest an agent would make to send the recorded request body. */
function requestOf(body: Record<string, unknown>): ChatRequest {
  const { messages, model, tools, tool_choice, max_tokens, stream, stream_options, ...extra } =
    body;
  void stream;
  void stream_options;
  return {
    messages: messages as ChatMessage[],
    model: model as string,
    ...(tools ? { tools: tools as ChatRequest['tools'] } : {}),
    ...(tool_choice ? { toolChoice: tool_choice as ChatRequest['toolChoice'] } : {}),
    ...(max_tokens ? { maxTokens: max_tokens as number } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

async function collect(router: Router, request: ChatRequest): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of router.chat(request)) events.push(event);
  return events;
}

function replayMock(...turns: RecordedTurn[]): ZhipuMock {
  const mock = zhipuMock({
    baseURL: 'https://api.z.ai/api/coding/paas/v4',
    script: turns.map(
      (turn) => () => glmReplay(turn.body, { status: turn.status, contentType: turn.contentType }),
    ),
  });
  server.use(...mock.handlers);
  return mock;
}

const FINISH: Record<string, string> = { stop: 'stop', tool_calls: 'tool-calls', length: 'length' };

function expectAnswer(events: ChatEvent[], expected: RecordedAnswer): void {
  const text = events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
  const reasoning = events
    .map((event) => (event.type === 'reasoning-delta' ? event.text : ''))
    .join('');
  expect(text).toBe(expected.text);
  expect(reasoning).toBe(expected.reasoning);

  const calls = events.flatMap((event) =>
    event.type === 'tool-call'
      ? [{ id: event.id, name: event.name, arguments: event.arguments }]
      : [],
  );
  expect(calls).toEqual(expected.toolCalls);

  const finishes = events.filter((event) => event.type === 'finish');
  expect(finishes).toHaveLength(1);
  const finish = finishes[0];
  if (finish?.type !== 'finish') throw new Error('no finish event');
  expect(finish.rawReason).toBe(expected.finishReason);
  expect(finish.reason).toBe(FINISH[expected.finishReason ?? '']);
  expect(finish.usage).toMatchObject({
    promptTokens: expected.usage.prompt_tokens,
    completionTokens: expected.usage.completion_tokens,
    totalTokens: expected.usage.total_tokens,
  });
  if (expected.usage.cached !== undefined) {
    expect(finish.usage?.cachedPromptTokens).toBe(expected.usage.cached);
  }

  // Every tool call is assembled before the finish event.
  const lastCall = events.findLastIndex((event) => event.type === 'tool-call');
  expect(lastCall).toBeLessThan(events.indexOf(finish));
  expect(events[0]).toMatchObject({ type: 'start', attempt: 1, model: expected.model });
}

const exchanges = recordedExchanges(0).filter((name) => name.includes('streaming'));

describe('recorded GLM traffic through router.chat with the zhipu descriptor', () => {
  it('covers glm-4.5 and glm-4.6, with text, reasoning and tool calls', () => {
    const turns = exchanges.map((name) => readTurn(name, 0));
    expect(new Set(turns.map((turn) => turn.request.body.model))).toEqual(
      new Set(['glm-4.5', 'glm-4.6']),
    );
    const answers = turns.map((turn) => readAnswer(turn.body));
    expect(answers.some((answer) => answer.reasoning.length > 0)).toBe(true);
    expect(answers.some((answer) => answer.toolCalls.length >= 2)).toBe(true);
  });

  it.each(exchanges)(
    '%s: text, reasoning, tool calls, finish and usage as recorded; the request as recorded',
    async (name) => {
      const turn = readTurn(name, 0);
      const mock = replayMock(turn);
      const { router } = glmRouter({ model: turn.request.body.model as string });

      const events = await collect(router, requestOf(turn.request.body));

      expectAnswer(events, readAnswer(turn.body));
      expect(mock.requests).toHaveLength(1);
      expect(mock.requests[0]?.url).toBe(turn.request.url);
      expect(mock.requests[0]?.body).toEqual(turn.request.body);
      expect(mock.requests[0]?.headers.get('authorization')).toBe(`Bearer ${TEST_KEY}`);
    },
  );
});

const followUps = recordedExchanges(1).filter((name) => name.includes('streaming'));

describe('multi-turn tool exchanges through router.chat', () => {
  it('has recorded follow-ups for both models', () => {
    const models = followUps.map((name) => readTurn(name, 1).request.body.model);
    expect(new Set(models)).toEqual(new Set(['glm-4.5', 'glm-4.6']));
  });

  it.each(followUps)(
    '%s: the follow-up built from turn 1’s result is sent as recorded, and answers as recorded',
    async (name) => {
      const first = readTurn(name, 0);
      const second = readTurn(name, 1);
      const mock = replayMock(first, second);
      const { router } = glmRouter({ model: first.request.body.model as string });
      const firstRequest = requestOf(first.request.body);

      const result = await router.chat(firstRequest).result();
      expect(result.finishReason).toBe('tool-calls');

      // The agent answers each call with the tool output the recording used; whether it sends
      // the reasoning back is the recorded client's choice (the glm-4.5 one did, the 4.6 one not).
      const recordedMessages = second.request.body.messages as ChatMessage[];
      const toolMessages = recordedMessages.filter((message) => message.role === 'tool');
      const recordedAssistant = recordedMessages.find((message) => message.role === 'assistant');
      const assistant: ChatMessage = {
        role: 'assistant',
        content: result.text,
        tool_calls: result.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
        ...(recordedAssistant?.reasoning_content !== undefined
          ? { reasoning_content: result.reasoning }
          : {}),
      };
      const followUp: ChatRequest = {
        ...firstRequest,
        messages: [...firstRequest.messages, assistant, ...toolMessages],
      };

      const events = await collect(router, followUp);

      expect(mock.requests).toHaveLength(2);
      expect(mock.requests[1]?.body?.messages).toEqual(second.request.body.messages);
      expect(mock.requests[1]?.body).toEqual(second.request.body);
      expectAnswer(events, readAnswer(second.body));
    },
  );
});

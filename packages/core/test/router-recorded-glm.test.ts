// Contract tests: the recorded GLM exchanges replayed through router.chat on global fetch (msw),
// with an openAICompatible descriptor. Expected values come from reading each recording with a
// minimal parser of its own (test/support/recordings.ts), never from the code under test.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetRegistry } from '../src/budget/budget-registry.js';
import type { ChatEvent } from '../src/events/chat-events.js';
import type { ChatRequest } from '../src/events/chat-request.js';
import { createRouter } from '../src/router/create-router.js';
import { chatHandler, createMockServer, mockConfig, recordedResponse } from './support/msw-chat.js';
import { listRecordings, readRecordedAnswer, type Recording } from './support/recordings.js';
import { TEST_API_KEY } from './support/test-route.js';

const server = createMockServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const streamed = listRecordings().filter((recording) => recording.streaming);

/** The ChatRequest that reproduces a recorded request body. */
function requestOf(recording: Recording): ChatRequest {
  const { messages, model, tools, tool_choice, max_tokens, stream, stream_options, ...extra } =
    recording.request.body as Record<string, unknown>;
  void stream;
  void stream_options;
  return {
    messages: messages as ChatRequest['messages'],
    model: model as string,
    ...(tools ? { tools: tools as ChatRequest['tools'] } : {}),
    ...(tool_choice ? { toolChoice: tool_choice as ChatRequest['toolChoice'] } : {}),
    ...(max_tokens ? { maxTokens: max_tokens as number } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

const FINISH: Record<string, string> = { stop: 'stop', tool_calls: 'tool-calls', length: 'length' };

describe('recorded GLM streams through router.chat', () => {
  it('has streaming recordings to replay', () => {
    expect(streamed.length).toBeGreaterThanOrEqual(10);
  });

  it.each(streamed.map((recording) => [recording.name, recording] as const))(
    '%s: text, reasoning, tool calls, finish and usage as recorded; request body as recorded',
    async (_name, recording) => {
      const sent: Array<Record<string, unknown>> = [];
      const authorizations: Array<string | null> = [];
      server.use(
        chatHandler((_body, request) => {
          authorizations.push(request.headers.get('authorization'));
          return recordedResponse(recording);
        }, sent),
      );
      const router = createRouter({
        config: mockConfig({ maxConcurrency: 2 }),
        budgets: createBudgetRegistry(),
      });

      const events: ChatEvent[] = [];
      for await (const event of router.chat(requestOf(recording))) events.push(event);
      const expected = readRecordedAnswer(recording.body);

      const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []));
      const reasoning = events.flatMap((event) =>
        event.type === 'reasoning-delta' ? [event.text] : [],
      );
      expect(text.join('')).toBe(expected.text);
      expect(reasoning.join('')).toBe(expected.reasoning);

      const calls = events.flatMap((event) =>
        event.type === 'tool-call'
          ? [{ id: event.id, name: event.name, arguments: event.arguments }]
          : [],
      );
      expect(calls).toEqual(expected.toolCalls);
      for (const call of calls) expect(() => JSON.parse(call.arguments)).not.toThrow();

      expect(events[0]).toMatchObject({ type: 'start', attempt: 1, route: 'main' });
      expect(events.filter((event) => event.type === 'start')).toHaveLength(1);
      const finishes = events.filter((event) => event.type === 'finish');
      expect(finishes).toHaveLength(1);
      const finish = finishes[0]!;
      expect(finish).toMatchObject({
        rawReason: expected.rawFinishReason,
        reason: FINISH[expected.rawFinishReason ?? ''] ?? 'other',
      });
      expect(finish.usage).toMatchObject({
        promptTokens: expected.usage?.prompt_tokens,
        completionTokens: expected.usage?.completion_tokens,
        totalTokens: expected.usage?.total_tokens,
      });
      // Each assembled tool call comes before the finish.
      const lastCall = events.map((event) => event.type).lastIndexOf('tool-call');
      expect(lastCall).toBeLessThan(events.indexOf(finish));

      expect(sent).toHaveLength(1);
      const recorded = recording.request.body;
      expect(sent[0]).toMatchObject({
        model: recorded.model,
        messages: recorded.messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(sent[0]!.tools).toEqual(recorded.tools);
      expect(authorizations).toEqual([`Bearer ${TEST_API_KEY}`]);
      await router.close();
    },
  );

  it('result() folds a recorded tool-call stream into text, reasoning, calls, finish and usage', async () => {
    const recording = streamed.find((entry) => entry.name.includes('glm-4.6__tool_streaming.0'))!;
    server.use(chatHandler(() => recordedResponse(recording)));
    const router = createRouter({ config: mockConfig(), budgets: createBudgetRegistry() });
    const expected = readRecordedAnswer(recording.body);

    const result = await router.chat(requestOf(recording)).result();
    expect(result).toMatchObject({
      text: expected.text,
      reasoning: expected.reasoning,
      rawFinishReason: expected.rawFinishReason,
      finishReason: 'tool-calls',
      route: 'main',
      attempts: 1,
      model: expected.model,
    });
    expect(
      result.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
    ).toEqual(expected.toolCalls);
    expect(result.usage?.totalTokens).toBe(expected.usage?.total_tokens);
    await router.close();
  });
});

// Contract tests: every recorded GLM exchange in fixtures/glm-recorded, replayed through the
// decoder. Expected values are read from the recording here, with the plainest possible reading
// (split lines, JSON.parse the data lines, concatenate), never with the code under test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ChatEvent } from '../events/chat-events.js';
import { collectChatResult } from './collect-chat-result.js';
import { decodeChatStream } from './decode-chat-stream.js';
import { parseChatCompletion } from './parse-chat-completion.js';
import { bodyOf, drain, ofType, randomCuts } from './sse-test-helpers.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/glm-recorded');

interface Expected {
  text: string;
  reasoning: string;
  toolCalls: Array<{ name: string; arguments: string }>;
  rawFinishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
  cachedTokens: number | undefined;
}

interface Recording {
  name: string;
  streaming: boolean;
  body: Buffer;
}

const recordings: Recording[] = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.response.body'))
  .sort()
  .map((file) => {
    const name = file.slice(0, -'.response.body'.length);
    const meta = JSON.parse(readFileSync(join(FIXTURES, `${name}.response.json`), 'utf8')) as {
      headers: Record<string, string[]>;
    };
    const contentType = meta.headers['Content-Type']?.[0] ?? '';
    return {
      name,
      streaming: contentType.startsWith('text/event-stream'),
      body: readFileSync(join(FIXTURES, file)),
    };
  });
const streams = recordings.filter((recording) => recording.streaming);
const completions = recordings.filter((recording) => !recording.streaming);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function expectedFromStream(body: Buffer): Expected {
  const expected: Expected = {
    text: '',
    reasoning: '',
    toolCalls: [],
    rawFinishReason: null,
    usage: undefined,
    cachedTokens: undefined,
  };
  const calls = new Map<number, { name: string; arguments: string }>();
  for (const line of body.toString('utf8').split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice('data: '.length)) as Json;
    const choice = chunk.choices?.[0] as Json | undefined;
    expected.text += choice?.delta?.content ?? '';
    expected.reasoning += choice?.delta?.reasoning_content ?? '';
    for (const call of (choice?.delta?.tool_calls ?? []) as Json[]) {
      const entry = calls.get(call.index) ?? { name: '', arguments: '' };
      entry.name ||= call.function?.name ?? '';
      entry.arguments += call.function?.arguments ?? '';
      calls.set(call.index, entry);
    }
    if (choice?.finish_reason) expected.rawFinishReason = choice.finish_reason;
    if (chunk.usage) {
      expected.usage = chunk.usage;
      expected.cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens;
    }
  }
  expected.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return expected;
}

function expectedFromCompletion(body: Buffer): Expected {
  const completion = JSON.parse(body.toString('utf8')) as Json;
  const choice = completion.choices[0] as Json;
  return {
    text: choice.message.content ?? '',
    reasoning: choice.message.reasoning_content ?? '',
    toolCalls: ((choice.message.tool_calls ?? []) as Json[]).map((call) => ({
      name: call.function.name,
      arguments: call.function.arguments,
    })),
    rawFinishReason: choice.finish_reason,
    usage: completion.usage,
    cachedTokens: completion.usage?.prompt_tokens_details?.cached_tokens,
  };
}

// The two wire values the recordings hold, mapped as the OpenAI format defines them.
const NORMALIZED: Record<string, string> = { stop: 'stop', tool_calls: 'tool-calls' };

async function expectMatches(events: ChatEvent[], expected: Expected): Promise<void> {
  const result = await collectChatResult(events);

  expect(result.text).toBe(expected.text);
  expect(result.reasoning).toBe(expected.reasoning);
  expect(result.toolCalls.map(({ name, arguments: args }) => ({ name, arguments: args }))).toEqual(
    expected.toolCalls,
  );
  expect(result.rawFinishReason).toBe(expected.rawFinishReason);
  expect(result.finishReason).toBe(NORMALIZED[expected.rawFinishReason ?? '']);
  expect(result.usage).toMatchObject({
    promptTokens: expected.usage?.prompt_tokens,
    completionTokens: expected.usage?.completion_tokens,
    totalTokens: expected.usage?.total_tokens,
    cachedPromptTokens: expected.cachedTokens,
  });

  const types = events.map((event) => event.type);
  expect(types.filter((type) => type === 'finish')).toHaveLength(1);
  expect(types.at(-1)).toBe('finish');
  expect(ofType(events, 'error')).toEqual([]);
}

describe('recorded GLM streams', () => {
  test('the fixture folder holds streaming and non-streaming recordings', () => {
    expect(streams.length).toBeGreaterThanOrEqual(10);
    expect(completions.length).toBeGreaterThanOrEqual(10);
  });

  test.each(streams.map((recording) => [recording.name, recording] as const))(
    '%s decodes to the text, reasoning, tool calls, finish and usage it records',
    async (_name, recording) => {
      const expected = expectedFromStream(recording.body);
      expect(expected.rawFinishReason).not.toBeNull();

      const deliveries = [
        [recording.body],
        randomCuts(recording.body, recording.body.length, 17),
        randomCuts(recording.body, 7919, 4096),
      ];
      for (const chunks of deliveries) {
        const { events, error } = await drain(decodeChatStream(bodyOf(chunks)));
        expect(error).toBeUndefined();
        await expectMatches(events, expected);
      }
    },
  );

  test.each(completions.map((recording) => [recording.name, recording] as const))(
    '%s (non-streaming) parses to what it records',
    async (_name, recording) => {
      const expected = expectedFromCompletion(recording.body);

      await expectMatches(parseChatCompletion(recording.body.toString('utf8')), expected);
      await expectMatches(
        parseChatCompletion(JSON.parse(recording.body.toString('utf8'))),
        expected,
      );
    },
  );
});

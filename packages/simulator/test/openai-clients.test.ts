import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';

import type { Simulator } from '../src/index.js';
import { startSimulator } from '../src/index.js';
import { recordedStream } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('off-the-shelf OpenAI-compatible clients', () => {
  it('streams the recorded tool call to the openai SDK', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity, apiKey: 'sim-key' });
    const client = new OpenAI({ baseURL: sim.baseURL, apiKey: 'sim-key', maxRetries: 0 });

    const stream = await client.chat.completions.create({
      model: 'glm-4.6',
      stream: true,
      messages: [{ role: 'user', content: "What's the weather in Florence?" }],
      tools: [
        {
          type: 'function',
          function: { name: 'weather', parameters: { type: 'object', properties: {} } },
        },
      ],
    });
    const calls: string[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls.push(`${call.function?.name}:${call.function?.arguments}`);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }

    const expected = recordedStream('TestZAICommon__zai-glm-4.6__tool_streaming.0').toolCalls;
    expect(calls).toEqual(expected.map((call) => `${call.name}:${call.arguments}`));
    expect(finish).toBe('tool_calls');
  });

  it('surfaces the ceiling rejection to the openai SDK as a 429 carrying code 1302', async () => {
    sim = await startSimulator({ ceiling: 1, mode: 'reject', tokensPerSecond: 20 });
    const client = new OpenAI({ baseURL: sim.baseURL, apiKey: 'unused', maxRetries: 0 });
    const request = () =>
      client.chat.completions.create({
        model: 'glm-4.6',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });

    const first = await request();
    const error = await request().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('1302');
    first.controller.abort();
  });

  it('streams the recorded text to the AI SDK through openai-compatible', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const provider = createOpenAICompatible({ name: 'zhipu', baseURL: sim.baseURL, apiKey: 'x' });

    const result = streamText({ model: provider('glm-4.5'), prompt: 'hello' });
    let text = '';
    for await (const delta of result.textStream) text += delta;

    const expected = recordedStream('TestOpenAICompatibleCommon__zai-glm-4.5__simple_streaming.0');
    expect(text).toBe(expected.content);
    expect(await result.finishReason).toBe('stop');
  });
});

import { readdirSync, readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import type { Simulator } from '../src/index.js';
import { startSimulator } from '../src/index.js';
import {
  FIXTURES,
  assemble,
  chatBody,
  postChat,
  recordedDocument,
  recordedStream,
  ssePayloads,
} from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const weatherTool = {
  type: 'function',
  function: { name: 'weather', parameters: { type: 'object', properties: {} } },
};

describe('recorded replay', () => {
  it('replays the recorded glm-4.6 text stream exactly, ending with [DONE]', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const response = await postChat(sim.baseURL);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const got = assemble(ssePayloads(await response.text()));
    const expected = recordedStream('TestZAICommon__zai-glm-4.6__simple_streaming.0');
    expect(got.content).toBe(expected.content);
    expect(got.reasoning).toBe(expected.reasoning);
    expect(got.finishReasons).toEqual(expected.finishReasons);
    expect(got.usage).toEqual(expected.usage);
    expect(got.done).toBe(true);
    expect(got.content.length).toBeGreaterThan(100);
  });

  it('answers a glm-4.5 request with the glm-4.5 recording and echoes the request model', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const response = await postChat(sim.baseURL, chatBody({ model: 'glm-4.5-air' }));

    const got = assemble(ssePayloads(await response.text()));
    const expected = recordedStream('TestOpenAICompatibleCommon__zai-glm-4.5__simple_streaming.0');
    expect(got.content).toBe(expected.content);
    expect(new Set(got.models)).toEqual(new Set(['glm-4.5-air']));
  });

  it('answers a request with tools with the recorded tool call', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const response = await postChat(sim.baseURL, chatBody({ tools: [weatherTool] }));

    const got = assemble(ssePayloads(await response.text()));
    const expected = recordedStream('TestZAICommon__zai-glm-4.6__tool_streaming.0');
    expect(got.toolCalls).toEqual(expected.toolCalls);
    expect(got.toolCalls[0]?.name).toBe('weather');
    expect(got.reasoning).toBe(expected.reasoning);
    expect(got.finishReasons).toEqual(['tool_calls']);
  });

  it('answers a tool result with the recorded follow-up text, so agent loops end', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const messages = [
      { role: 'user', content: 'weather in Florence?' },
      { role: 'assistant', content: '', tool_calls: [] },
      { role: 'tool', tool_call_id: 'call_1', content: '40 C' },
    ];
    const response = await postChat(sim.baseURL, chatBody({ tools: [weatherTool], messages }));

    const got = assemble(ssePayloads(await response.text()));
    const expected = recordedStream('TestZAICommon__zai-glm-4.6__tool_streaming.1');
    expect(got.content).toBe(expected.content);
    expect(got.toolCalls).toEqual([]);
    expect(got.finishReasons).toEqual(['stop']);
  });

  it('serves the recording named by x-sim-recording', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const name = 'TestZAICommon__zai-glm-4.6__multi_tool_streaming.0';
    const response = await postChat(sim.baseURL, chatBody(), {
      headers: { 'x-sim-recording': name },
    });

    const got = assemble(ssePayloads(await response.text()));
    expect(got.toolCalls).toEqual(recordedStream(name).toolCalls);
    expect(got.toolCalls).toHaveLength(2);
  });

  it('answers 400 with a did-you-mean and the known names when x-sim-recording names none', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const response = await postChat(sim.baseURL, chatBody(), {
      headers: { 'x-sim-recording': 'TestZAICommon__zai-glm-4.6__simple_stream.0' },
    });

    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(
      /: recording "TestZAICommon__zai-glm-4.6__simple_stream.0" is not in the recordings folder; did you mean "TestZAICommon__zai-glm-4.6__simple_streaming.0"\? \(known recordings: .*TestZAICommon__zai-glm-4.6__tool_streaming.1\)$/,
    );
  });

  it('answers 400 naming the recording when a stream recording is forced on a plain request', async () => {
    sim = await startSimulator({ recording: 'TestZAICommon__zai-glm-4.6__simple_streaming.0' });
    const response = await postChat(sim.baseURL, chatBody({ stream: false }));

    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.message).toContain('simple_streaming.0');
  });

  it('answers a non-streaming request with the recorded document, with its own id and model', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const response = await postChat(sim.baseURL, chatBody({ stream: false, model: 'glm-4.6' }));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const got = await response.json();
    const expected = recordedDocument('TestZAICommon__zai-glm-4.6__simple.0');
    expect(got.choices).toEqual(expected.choices);
    expect(got.usage).toEqual(expected.usage);
    expect(got.model).toBe('glm-4.6');
    expect(got.id).not.toBe(expected.id);
    expect(got.request_id).toBe(got.id);
  });

  it('gives every response its own id, the same on every chunk', async () => {
    sim = await startSimulator({ tokensPerSecond: Infinity });
    const ids = async () => {
      const text = await (await postChat(sim!.baseURL)).text();
      return new Set(
        ssePayloads(text)
          .filter((p) => p !== '[DONE]')
          .map((p) => JSON.parse(p).id),
      );
    };
    const [first, second] = [await ids(), await ids()];
    expect(first.size).toBe(1);
    expect(second.size).toBe(1);
    expect([...first][0]).not.toBe([...second][0]);
  });

  it('paces a recorded stream at tokensPerSecond', async () => {
    // 62 events of the glm-4.5 tool stream at 200 events/s take at least 62 * 5 ms.
    sim = await startSimulator({ tokensPerSecond: 200 });
    const name = 'TestOpenAICompatibleCommon__zai-glm-4.5__tool_streaming.0';
    const events = ssePayloads(readFileSync(`${FIXTURES}/${name}.response.body`, 'utf8')).filter(
      (p) => p !== '[DONE]',
    ).length;
    const startedAt = performance.now();
    const response = await postChat(sim.baseURL, chatBody(), {
      headers: { 'x-sim-recording': name },
    });
    await response.text();
    const elapsedMs = performance.now() - startedAt;

    expect(events).toBeGreaterThan(40);
    expect(elapsedMs).toBeGreaterThanOrEqual(((events - 1) * 1000) / 200 - 5);
  });
});

describe('every recording', () => {
  const names = readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.response.body'))
    .map((file) => file.slice(0, -'.response.body'.length));
  const withoutIdentity = (value: Record<string, unknown>) => {
    const { id: _id, created: _created, model: _model, request_id: _requestId, ...rest } = value;
    return rest;
  };

  it('covers streaming and plain recordings', () => {
    expect(names.filter((name) => name.includes('_streaming')).length).toBeGreaterThan(5);
    expect(names.filter((name) => !name.includes('_streaming')).length).toBeGreaterThan(5);
  });

  it.each(names)('replays %s event for event, identity fields aside', async (name) => {
    sim ??= await startSimulator({ tokensPerSecond: Infinity });
    const raw = readFileSync(`${FIXTURES}/${name}.response.body`, 'utf8');
    const streaming = raw.startsWith('data:');
    const response = await postChat(sim.baseURL, chatBody({ stream: streaming }), {
      headers: { 'x-sim-recording': name },
    });
    const text = await response.text();

    if (!streaming) {
      expect(withoutIdentity(JSON.parse(text))).toEqual(withoutIdentity(JSON.parse(raw)));
      return;
    }
    const recorded = ssePayloads(raw);
    const served = ssePayloads(text);
    expect(served).toHaveLength(recorded.length);
    expect(served.at(-1)).toBe('[DONE]');
    for (const [i, payload] of served.slice(0, -1).entries()) {
      const event = JSON.parse(payload);
      expect(event.model).toBe('glm-4.6');
      expect(withoutIdentity(event)).toEqual(withoutIdentity(JSON.parse(recorded[i]!)));
    }
  });
});

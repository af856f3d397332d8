import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { Simulator, SimulatorFault, SimulatorOptions } from '../src/index.js';
import { parseFaultHeader, startSimulator } from '../src/index.js';
import { assemble, chatBody, postChat, recordedStream, ssePayloads, waitUntil } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ source: 'generate', outputTokens: 8, ...options });
  return sim;
}

/** Reads a body chunk by chunk, returning the text seen and the error that ended it, if any. */
async function readAll(response: Response): Promise<{ text: string; error: unknown }> {
  const decoder = new TextDecoder();
  let text = '';
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

describe('faults', () => {
  it('stays silent for thinkingPauseMs after the headers, before the first delta', async () => {
    const target = await start({ thinkingPauseMs: 800 });
    const response = await postChat(target.baseURL);
    const headersAt = performance.now();

    const reader = response.body!.getReader();
    const first = await reader.read();
    const silenceMs = performance.now() - headersAt;
    await reader.cancel();

    // Headers held back until the pause ended would make the silence close to zero.
    expect(response.status).toBe(200);
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: \{/);
    expect(silenceMs).toBeGreaterThanOrEqual(400);
  });

  it('takes the thinking pause of one request from x-sim-fault', async () => {
    const target = await start();
    const startedAt = performance.now();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'thinking-pause-ms=300' },
    });
    await response.text();
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(295);
  });

  it('resets the socket after N events, with no [DONE]', async () => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'reset-after=3' },
    });
    const { text, error } = await readAll(response);

    expect(error).toBeInstanceOf(Error);
    expect(ssePayloads(text)).toHaveLength(3);
    expect(text).not.toContain('[DONE]');
    expect(target.stats()).toMatchObject({ resets: 1, completed: 0, inFlight: 0 });
  });

  it('C11: resets after two recorded content deltas, after the consumer saw them', async () => {
    const target = await start({ source: 'recorded', fault: { resetAfterChunks: 2 } });
    const { text, error } = await readAll(await postChat(target.baseURL));

    const expected = recordedStream('TestZAICommon__zai-glm-4.6__simple_streaming.0');
    expect(error).toBeInstanceOf(Error);
    expect(expected.content.startsWith(assemble(ssePayloads(text)).content)).toBe(true);
    expect(ssePayloads(text)).toHaveLength(2);
  });

  it('C02: truncates the body inside a JSON value, without [DONE], and ends HTTP cleanly', async () => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'truncate-after=2' },
    });
    const { text, error } = await readAll(response);

    expect(error).toBeUndefined();
    expect(text).not.toContain('[DONE]');
    const payloads = ssePayloads(text);
    expect(payloads).toHaveLength(3);
    expect(() => JSON.parse(payloads[2]!)).toThrow();
    expect(text.endsWith('\n')).toBe(false);
    expect(text).toMatch(/"content":"[^"]+$/);
  });

  it.each([
    ['status=500', 500, '500'],
    ['status=503', 503, '1305'],
    ['status=429', 429, '1302'],
    ['status=429, code=1305', 429, '1305'],
  ])('answers x-sim-fault %s with HTTP %i and code %s', async (header, status, code) => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': header },
    });

    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(/[\u4e00-\u9fff]/);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(target.stats()).toMatchObject({ failed: 1, peakStreaming: 0 });
  });

  it('C05: sends Retry-After with a 429 fault when asked, and only then', async () => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'status=429; code=1305; retry-after=2' },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect((await response.json()).error.code).toBe('1305');
  });

  it('C05: lets a fault function fail the first request with 1302 and serve the retry', async () => {
    const target = await start({
      fault: ({ index }) => (index === 0 ? { status: 429, code: '1302' } : undefined),
    });
    const first = await postChat(target.baseURL);
    const second = await postChat(target.baseURL);

    expect(first.status).toBe(429);
    expect((await first.json()).error.code).toBe('1302');
    expect(second.status).toBe(200);
    expect(assemble(ssePayloads(await second.text())).done).toBe(true);
  });

  it.each(['network_error', 'sensitive'])(
    'C03: ends the stream with the GLM finish reason %s, then [DONE]',
    async (reason) => {
      const target = await start();
      const response = await postChat(target.baseURL, chatBody(), {
        headers: { 'x-sim-fault': `finish=${reason}` },
      });
      const got = assemble(ssePayloads(await response.text()));

      expect(response.status).toBe(200);
      expect(got.finishReasons).toEqual([reason]);
      expect(got.content.length).toBeGreaterThan(0);
      expect(got.done).toBe(true);
    },
  );

  it('C03: writes the finish reason into a recorded non-streaming answer', async () => {
    const target = await start({
      source: 'recorded',
      tokensPerSecond: Infinity,
      fault: { finishReason: 'sensitive' },
    });
    const response = await postChat(target.baseURL, chatBody({ stream: false }));
    const body = await response.json();
    expect(body.choices[0].finish_reason).toBe('sensitive');
  });

  it('answers 400 naming the key when x-sim-fault does not parse', async () => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'explode=1' },
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain('unknown key "explode"');
  });

  it('answers 400 naming the field when the fault function returns a bad fault', async () => {
    const target = await start({ fault: () => ({ status: 99 }) });
    const response = await postChat(target.baseURL);
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain('fault(request 0).status');
  });

  it('accepts a JSON object in x-sim-fault', async () => {
    const target = await start();
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': JSON.stringify({ status: 503 }) },
    });
    expect(response.status).toBe(503);
  });
});

describe('api key check', () => {
  it.each([
    [undefined, '1001'],
    ['Token secret-key', '1002'],
    ['Bearer wrong-key', '1000'],
  ])('answers Authorization %s with 401 and code %s', async (authorization, code) => {
    const target = await start({ apiKey: 'secret-key' });
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const response = await postChat(target.baseURL, chatBody(), { headers });

    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text).error.code).toBe(code);
    expect(text).not.toContain('secret-key');
  });

  it('serves a request that carries the key as a bearer token', async () => {
    const target = await start({ apiKey: 'secret-key' });
    const response = await postChat(target.baseURL, chatBody(), {
      headers: { authorization: 'Bearer secret-key' },
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(target.settings())).not.toContain('secret-key');
  });
});

describe('generated text', () => {
  it('streams outputTokens content deltas, then finish stop with usage', async () => {
    const target = await start({ outputTokens: 12, reasoningTokens: 3 });
    const got = assemble(ssePayloads(await (await postChat(target.baseURL)).text()));

    expect(got.content.split(' ')).toHaveLength(12);
    expect(got.reasoning.split(' ')).toHaveLength(3);
    expect(got.finishReasons).toEqual(['stop']);
    expect(got.usage).toMatchObject({ completion_tokens: 15 });
    expect(new Set(got.models)).toEqual(new Set(['glm-4.6']));
  });

  it('stops at max_tokens with finish length', async () => {
    const target = await start({ outputTokens: 12 });
    const response = await postChat(target.baseURL, chatBody({ max_tokens: 5 }));
    const got = assemble(ssePayloads(await response.text()));
    expect(got.content.split(' ')).toHaveLength(5);
    expect(got.finishReasons).toEqual(['length']);
  });

  it('answers a non-streaming request with one chat completion document', async () => {
    const target = await start({ outputTokens: 6 });
    const response = await postChat(target.baseURL, chatBody({ stream: false, model: 'glm-4.5' }));
    const body = await response.json();

    expect(body.model).toBe('glm-4.5');
    expect(body.choices[0].message.content.split(' ')).toHaveLength(6);
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBe(6);
  });
});

describe('routes and bad requests', () => {
  it.each(['/api/coding/paas/v4', '/api/paas/v4', '/v1'])('serves chat at %s', async (base) => {
    const target = await start();
    const response = await postChat(`${target.url}${base}`);
    expect(response.status).toBe(200);
    await response.text();
  });

  it('answers 404 for an unknown path and 405 for GET', async () => {
    const target = await start();
    expect((await fetch(`${target.url}/nope`)).status).toBe(404);
    expect((await fetch(`${target.baseURL}/chat/completions`)).status).toBe(405);
  });

  it.each([
    ['{not json', 'not valid JSON'],
    [JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 'model'],
    [JSON.stringify({ model: 'glm-4.6', messages: [] }), 'messages'],
  ])('answers 400 with code 1214 for body %s', async (raw, field) => {
    const target = await start();
    const response = await fetch(`${target.baseURL}/chat/completions`, {
      method: 'POST',
      body: raw,
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe('1214');
    expect(body.error.message).toContain(field);
  });
});

describe('slow headers', () => {
  it('holds the headers of a served request for headersDelayMs, taking a slot', async () => {
    const target = await start();
    const startedAt = performance.now();
    const pending = postChat(target.baseURL, chatBody(), {
      headers: { 'x-sim-fault': 'headers-delay-ms=300' },
    });
    await waitUntil(() => target.stats().streaming === 1);
    expect(target.stats()).toMatchObject({ streaming: 1, stalling: 0 });

    const response = await pending;
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(295);
    expect(assemble(ssePayloads(await response.text())).done).toBe(true);
  });
});

/** The README's Faults table as `[field, header key]` pairs, read from the file, not the code. */
function readmeFaultRows(): Array<[field: string, key: string]> {
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Faults'), readme.indexOf('Header form:'));
  return [...section.matchAll(/^\| `(\w+)`\s*\| `([\w-]+)`\s*\|/gm)].map(
    (match) => [match[1]!, match[2]!] as [string, string],
  );
}

/** A value each fault field accepts, for the header form. */
function sampleValue(field: string): string {
  if (field === 'status') return '503';
  if (field === 'code') return '1305';
  if (field === 'finishReason') return 'sensitive';
  return '7';
}

describe('the README faults table', () => {
  const rows = readmeFaultRows();

  it('lists every header key the x-sim-fault parser accepts, and no other', () => {
    let message = '';
    try {
      parseFaultHeader('no-such-key=1');
    } catch (error) {
      message = (error as Error).message;
    }
    const accepted = /use one of (.+)$/.exec(message)?.[1]?.split(', ');
    expect(accepted).toBeDefined();
    expect(rows.map(([, key]) => key).sort()).toEqual([...accepted!].sort());
  });

  it('names for each header key the fault field it sets, in header and JSON form', () => {
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [field, key] of rows) {
      const raw = sampleValue(field);
      const value = field === 'code' || field === 'finishReason' ? raw : Number(raw);
      expect(parseFaultHeader(`${key}=${raw}`)).toEqual({ [field]: value });
      expect(parseFaultHeader(JSON.stringify({ [field]: value }))).toEqual({ [field]: value });
    }
  });

  it('rejects a fault field that is not in the table, naming it and the closest field', async () => {
    let message = '';
    try {
      parseFaultHeader('{"headerDelayMs":300}');
    } catch (error) {
      message = (error as Error).message;
    }
    const prefix =
      'x-sim-fault: unknown fault field "headerDelayMs"; did you mean "headersDelayMs"?; use ';
    expect(message.startsWith(prefix)).toBe(true);
    expect(message.slice(prefix.length).split(', ').sort()).toEqual(
      rows.map(([field]) => field).sort(),
    );
    await expect(
      startSimulator({ fault: { statuz: 500 } as unknown as SimulatorFault }),
    ).rejects.toThrow(
      'startSimulator: fault: unknown fault field "statuz"; did you mean "status"?',
    );

    const target = await start({
      fault: () => ({ resetAfterChunk: 2 }) as unknown as SimulatorFault,
    });
    const response = await postChat(target.baseURL);
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain(
      'fault(request 0): unknown fault field "resetAfterChunk"; did you mean "resetAfterChunks"?',
    );
  });
});

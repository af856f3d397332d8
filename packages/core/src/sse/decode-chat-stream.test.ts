import { describe, expect, it, test, vi } from 'vitest';
import type { Classification, ClassifyInput, FinishMapping } from '../descriptor/types.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import { decodeChatStream } from './decode-chat-stream.js';
import { bodyOf, byteByByte, cutBytes, drain, ofType, textOf, utf8 } from './sse-test-helpers.js';

const contentFrame = (text: string): string =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
const DONE = 'data: [DONE]\n\n';

function splitAfter(bytes: Uint8Array, marker: number[], keep: number): Uint8Array[] {
  const at = bytes.findIndex((_, i) => marker.every((byte, j) => bytes[i + j] === byte));
  expect(at).toBeGreaterThan(0);
  return cutBytes(bytes, [at + keep]);
}

describe('C01: characters cut across chunks', () => {
  const frame = 'data: {"choices":[{"index":0,"delta":{"content":"智谱"}}]}\n\n';
  const cases: Array<[string, Uint8Array[], string]> = [
    ['cut after E6 99 inside 智', splitAfter(utf8(frame + DONE), [0xe6, 0x99], 2), '智谱'],
    ['one byte per chunk', byteByByte(utf8(frame + DONE)), '智谱'],
    [
      '😀 cut after its first byte',
      splitAfter(utf8(contentFrame('😀') + DONE), [0xf0, 0x9f, 0x98, 0x80], 1),
      '😀',
    ],
    ['😀 one byte per chunk', byteByByte(utf8(contentFrame('😀') + DONE)), '😀'],
  ];

  test.each(cases)('C01: %s gives the exact text with no U+FFFD', async (_name, chunks, text) => {
    const { events, error } = await drain(decodeChatStream(bodyOf(chunks)));

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe(text);
    expect(JSON.stringify(events)).not.toContain('\uFFFD');
  });
});

describe('C02: the last event has no blank line', () => {
  const finishFrame =
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}';
  const endings: Array<[string, string]> = [
    ['a single \\n', '\n'],
    ['a single \\r', '\r'],
    ['nothing', ''],
    ['a blank line', '\n\n'],
    ['a blank line and [DONE]', `\n\n${DONE}`],
  ];

  for (const delivery of ['whole', 'byte by byte'] as const) {
    test.each(endings)(
      `C02: closing with %s (${delivery}) gives finish stop and usage exactly once`,
      async (_name, ending) => {
        const bytes = utf8(contentFrame('ok') + finishFrame + ending);
        const chunks = delivery === 'whole' ? [bytes] : byteByByte(bytes);

        const { events, error } = await drain(decodeChatStream(bodyOf(chunks)));

        expect(error).toBeUndefined();
        expect(textOf(events)).toBe('ok');
        const finishes = ofType(events, 'finish');
        expect(finishes).toHaveLength(1);
        expect(finishes[0]).toMatchObject({
          reason: 'stop',
          rawReason: 'stop',
          usage: { promptTokens: 3, completionTokens: 1, totalTokens: 4 },
        });
        expect(events.at(-1)?.type).toBe('finish');
      },
    );
  }

  const truncations: Array<[string, string]> = [
    ['inside a JSON value', 'data: {"choices":[{"index":0,"delta":{"content":"o'],
    [
      'inside a JSON value after a line feed',
      'data: {"choices":[{"index":0,"delta":{"content":"o\n',
    ],
    ['inside a field name', 'da'],
    ['after a whole delta with no finish and no [DONE]', contentFrame('o')],
    ['with an empty body', ''],
  ];

  test.each(truncations)(
    'C02: a body that ends %s is a typed truncation error, never a finish',
    async (_name, tail) => {
      const bytes = utf8(contentFrame('ok') + tail);

      for (const chunks of [[bytes], byteByByte(bytes)]) {
        const { events, error } = await drain(decodeChatStream(bodyOf(chunks)));

        expect(ofType(events, 'finish')).toHaveLength(0);
        expect(SluiceError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({
          kind: 'truncated',
          code: 'SLUICE_TRUNCATED',
          retryable: true,
          phase: 'stream',
        });
      }
    },
  );

  it('C02: a body cut inside a JSON value after a finish chunk is still truncated', async () => {
    const body = bodyOf([finishFrame, '\n\ndata: {"choices":[{"index":0,"delta":{"conte']);

    const { events, error } = await drain(decodeChatStream(body, { route: 'glm' }));

    expect(ofType(events, 'finish')).toHaveLength(0);
    expect(error).toMatchObject({ kind: 'truncated', route: 'glm' });
    expect((error as Error).message).toContain('route "glm"');
  });

  it('C02: usage sent in a later chunk (include_usage) joins the one finish event', async () => {
    const body = bodyOf([
      contentFrame('ok'),
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9,"completion_tokens_details":{"reasoning_tokens":1},"prompt_tokens_details":{"cached_tokens":5}}}\n\n',
      DONE,
    ]);

    const { events, error } = await drain(decodeChatStream(body));

    expect(error).toBeUndefined();
    expect(ofType(events, 'finish')).toEqual([
      {
        type: 'finish',
        reason: 'length',
        rawReason: 'length',
        usage: {
          promptTokens: 7,
          completionTokens: 2,
          totalTokens: 9,
          reasoningTokens: 1,
          cachedPromptTokens: 5,
          raw: expect.objectContaining({ total_tokens: 9 }),
        },
      },
    ]);
  });
});

describe('line endings', () => {
  const lines = [
    ': keep-alive comment',
    'data: {"id":"r1","model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"think"}}]}',
    '',
    'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}',
    '',
    ':',
    'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}',
    '',
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    '',
    'data: [DONE]',
    '',
  ];

  test.each([
    ['LF', '\n'],
    ['CR', '\r'],
    ['CRLF', '\r\n'],
  ])('events separated by %s decode the same, whole and byte by byte', async (_name, eol) => {
    const bytes = utf8(lines.join(eol) + eol);

    for (const chunks of [[bytes], byteByByte(bytes), cutBytes(bytes, [3, 50, 1, 1, 70])]) {
      const { events, error } = await drain(
        decodeChatStream(bodyOf(chunks), { coalesceDeltas: false }),
      );

      expect(error).toBeUndefined();
      expect(events).toEqual([
        { type: 'reasoning-delta', text: 'think' },
        { type: 'text-delta', text: 'Hel' },
        { type: 'text-delta', text: 'lo' },
        { type: 'finish', reason: 'stop', rawReason: 'stop' },
      ]);
    }
  });
});

describe('coalescing deltas', () => {
  const frames = [
    'data: {"choices":[{"index":0,"delta":{"reasoning_content":"a"}}]}\n\n',
    'data: {"choices":[{"index":0,"delta":{"reasoning_content":"b"}}]}\n\n',
    contentFrame('Hel'),
    contentFrame('lo'),
    'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"}}]}}]}\n\n',
    contentFrame('!'),
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
  ];

  it('merges same-type deltas decoded from one body read, keeping the order of kinds', async () => {
    const { events } = await drain(decodeChatStream(bodyOf([frames.join('')])));

    expect(events.map((event) => event.type)).toEqual([
      'reasoning-delta',
      'text-delta',
      'tool-call-delta',
      'text-delta',
      'tool-call',
      'finish',
    ]);
    expect(ofType(events, 'reasoning-delta')[0]?.text).toBe('ab');
    expect(ofType(events, 'text-delta').map((event) => event.text)).toEqual(['Hello', '!']);
  });

  it('never merges deltas of different body reads', async () => {
    const { events } = await drain(decodeChatStream(bodyOf(frames)));

    expect(ofType(events, 'text-delta').map((event) => event.text)).toEqual(['Hel', 'lo', '!']);
    expect(ofType(events, 'reasoning-delta').map((event) => event.text)).toEqual(['a', 'b']);
  });

  it('gives one event per wire delta with coalesceDeltas: false', async () => {
    const { events } = await drain(
      decodeChatStream(bodyOf([frames.join('')]), { coalesceDeltas: false }),
    );

    expect(ofType(events, 'text-delta').map((event) => event.text)).toEqual(['Hel', 'lo', '!']);
  });
});

describe('loose chunk reading', () => {
  it('a malformed chunk is an error event with its raw text, and the stream goes on', async () => {
    const body = bodyOf([
      contentFrame('a'),
      'data: {"choices":[{"index":0,"delta":{"content":\n\n',
      'data: 42\n\n',
      contentFrame('b'),
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
      DONE,
    ]);

    const { events, error } = await drain(decodeChatStream(body, { providerId: 'zhipu' }));

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('ab');
    const errors = ofType(events, 'error');
    expect(errors.map((event) => event.raw)).toEqual([
      '{"choices":[{"index":0,"delta":{"content":',
      '42',
    ]);
    for (const event of errors) {
      expect(event.error).toMatchObject({ kind: 'provider', providerId: 'zhipu', phase: 'stream' });
    }
    expect(ofType(events, 'finish')).toHaveLength(1);
  });

  it('unknown fields, chunks without choices and unknown finish reasons pass through', async () => {
    const body = bodyOf([
      'data: {"object":"chunk","surprise":{"x":1},"choices":[{"index":0,"logprobs":null,"delta":{"content":"x","audio":{}}}]}\n\n',
      'data: {"heartbeat":true}\n\n',
      'data: {"choices":[{"index":0,"delta":{"reasoning":"r"},"finish_reason":"brand_new"}]}\n\n',
      DONE,
    ]);

    const { events, error } = await drain(decodeChatStream(body));

    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'reasoning-delta', text: 'r' },
      { type: 'finish', reason: 'other', rawReason: 'brand_new' },
    ]);
  });

  it('[DONE] without any finish reason ends cleanly with reason other', async () => {
    const { events, error } = await drain(decodeChatStream(bodyOf([contentFrame('hi'), DONE])));

    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'other', rawReason: null });
  });

  it('accepts an async iterable of Uint8Array chunks as the body', async () => {
    async function* chunks() {
      yield utf8(contentFrame('it'));
      yield utf8('data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n');
    }

    const { events, error } = await drain(decodeChatStream(chunks()));

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('it');
    expect(ofType(events, 'finish')[0]?.reason).toBe('stop');
  });

  it('reports id and model once through onMetadata before the first event', async () => {
    const seen: string[] = [];
    const body = bodyOf([
      'data: {"id":"r1","model":"glm-4.6","created":5,"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n',
      'data: {"id":"r1","model":"glm-4.6","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    ]);

    for await (const event of decodeChatStream(body, {
      onMetadata: (metadata) => seen.push(`meta ${JSON.stringify(metadata)}`),
    })) {
      seen.push(event.type);
    }

    expect(seen).toEqual([
      'meta {"id":"r1","model":"glm-4.6","created":5}',
      'text-delta',
      'finish',
    ]);
  });

  it('hands every SSE frame to onEvent', async () => {
    const frames: string[] = [];
    const body = bodyOf([': comment\n', contentFrame('a'), 'event: ping\ndata: hello\n\n', DONE]);

    const { events } = await drain(
      decodeChatStream(body, { onEvent: (frame) => frames.push(`${frame.event}:${frame.data}`) }),
    );

    expect(frames).toEqual([
      'undefined:{"choices":[{"index":0,"delta":{"content":"a"}}]}',
      'ping:hello',
      'undefined:[DONE]',
    ]);
    expect(ofType(events, 'error')).toHaveLength(0);
  });
});

describe('error frames', () => {
  const errorJson = '{"error":{"code":"1302","message":"请求过于频繁"}}';

  test.each([
    ['an event: error frame', `event: error\ndata: ${errorJson}\n\n`],
    ['a data: {"error"} frame', `data: ${errorJson}\n\n`],
  ])('%s throws the classified error after the events before it', async (_name, frame) => {
    const classify = vi.fn((input: ClassifyInput): Classification | undefined =>
      (input.body as { error?: { code?: string } }).error?.code === '1302'
        ? { kind: 'rate-limit', providerCode: '1302', cooldown: true }
        : undefined,
    );
    const body = bodyOf([contentFrame('partial'), frame, DONE]);

    const { events, error } = await drain(
      decodeChatStream(body, { classify, route: 'glm', providerId: 'zhipu' }),
    );

    expect(textOf(events)).toBe('partial');
    expect(ofType(events, 'finish')).toHaveLength(0);
    expect(classify).toHaveBeenCalledWith(
      expect.objectContaining({ status: 200, bodyText: errorJson, body: JSON.parse(errorJson) }),
    );
    expect(error).toMatchObject({
      kind: 'rate-limit',
      retryable: true,
      status: 200,
      providerCode: '1302',
      route: 'glm',
      providerId: 'zhipu',
      phase: 'stream',
    });
    expect((error as Error).message).toContain('请求过于频繁');
  });

  it('without a classifier an error frame is a provider error keeping the provider code', async () => {
    const body = bodyOf(['event: error\ndata: {"error":{"code":500,"message":"boom"}}\n\n']);

    const { error } = await drain(decodeChatStream(body));

    expect(error).toMatchObject({ kind: 'provider', status: 200, providerCode: '500' });
    expect((error as Error).message).toContain('boom');
  });

  it('an event: error frame whose data is plain text is still an error', async () => {
    const { error } = await drain(decodeChatStream(bodyOf(['event: error\ndata: overloaded\n\n'])));

    expect(error).toMatchObject({ kind: 'provider', status: 200 });
    expect((error as Error).message).toContain('overloaded');
  });
});

describe('C03: finish reasons through mapFinishReason', () => {
  const mapFinishReason = (raw: string): FinishMapping | undefined => {
    if (raw === 'sensitive') return { reason: 'content-filter' };
    if (raw === 'network_error') {
      return {
        error: { kind: 'network', message: 'the provider lost its upstream', retryable: true },
      };
    }
    return undefined;
  };
  const finishFrame = (raw: string): string =>
    `data: {"choices":[{"index":0,"delta":{},"finish_reason":"${raw}"}]}\n\n`;

  it('C03: network_error throws a retryable network error after the delta, despite HTTP 200', async () => {
    const body = bodyOf([contentFrame('Hel'), finishFrame('network_error'), DONE]);

    const { events, error } = await drain(
      decodeChatStream(body, { mapFinishReason, route: 'glm', providerId: 'zhipu' }),
    );

    expect(events).toEqual([{ type: 'text-delta', text: 'Hel' }]);
    expect(error).toMatchObject({
      kind: 'network',
      retryable: true,
      phase: 'stream',
      status: 200,
      route: 'glm',
    });
    expect((error as Error).message).toContain('network_error');
  });

  it('C03: sensitive is a content-filter finish keeping the raw reason', async () => {
    const body = bodyOf([contentFrame('x'), finishFrame('sensitive'), DONE]);

    const { events, error } = await drain(decodeChatStream(body, { mapFinishReason }));

    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({
      type: 'finish',
      reason: 'content-filter',
      rawReason: 'sensitive',
    });
  });

  it('plain OpenAI reasons are normalized without the hook', async () => {
    const reasons: Array<[string, string]> = [
      ['stop', 'stop'],
      ['length', 'length'],
      ['tool_calls', 'tool-calls'],
      ['content_filter', 'content-filter'],
    ];
    for (const [raw, normalized] of reasons) {
      const { events } = await drain(decodeChatStream(bodyOf([finishFrame(raw)])));
      expect(events.at(-1)).toEqual({ type: 'finish', reason: normalized, rawReason: raw });
    }
  });
});

describe('C04: untrustworthy tool-call fields', () => {
  const toolFrame = (toolCalls: unknown[], finishReason?: string): string =>
    `data: ${JSON.stringify({
      choices: [
        { index: 0, delta: { tool_calls: toolCalls }, finish_reason: finishReason ?? null },
      ],
    })}\n\n`;
  const finishFrame = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n';
  const fragments = (withIndex: boolean): string[] =>
    ['{"', 'q":"', 'tea"}'].map((args, i) =>
      toolFrame([
        {
          ...(withIndex ? { index: 0 } : {}),
          id: `call_${i}`,
          type: 'function',
          function: i === 0 ? { name: 'search', arguments: args } : { arguments: args },
        },
      ]),
    );

  const cases: Array<[string, string[]]> = [
    [
      '(a) index -1, object arguments, finish in the same chunk',
      [
        toolFrame(
          [{ index: -1, id: 'call_a', function: { name: 'search', arguments: { q: 'tea' } } }],
          'tool_calls',
        ),
        DONE,
      ],
    ],
    ['(b) three fragments at index 0 with a different id each', [...fragments(true), finishFrame]],
    ['(c) three fragments with no index', [...fragments(false), finishFrame, DONE]],
  ];

  test.each(cases)('C04 %s: one call, arguments as a string, before finish', async (_n, frames) => {
    const { events, error } = await drain(decodeChatStream(bodyOf(frames)));

    expect(error).toBeUndefined();
    const calls = ofType(events, 'tool-call');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ index: 0, name: 'search', arguments: '{"q":"tea"}' });
    expect(calls[0]?.id).toMatch(/^call_[a0]$/);
    const types = events.map((event) => event.type);
    expect(types.indexOf('tool-call')).toBeLessThan(types.indexOf('finish'));
    expect(types.filter((type) => type === 'finish')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' });
    const deltas = ofType(events, 'tool-call-delta');
    expect(deltas.map((delta) => delta.argumentsDelta).join('')).toBe('{"q":"tea"}');
    expect(deltas.every((delta) => delta.index === 0)).toBe(true);
  });

  it('C04: several whole calls without an index, or all at index 0, stay separate', async () => {
    const whole = (id: string, name: string, args: string) => ({
      id,
      function: { name, arguments: args },
    });
    for (const index of [undefined, 0, -1]) {
      const body = bodyOf([
        toolFrame([{ index, ...whole('c1', 'add', '{"a":1}') }]),
        toolFrame([{ index, ...whole('c2', 'mul', '{"b":2}') }]),
        finishFrame,
      ]);

      const { events, error } = await drain(decodeChatStream(body));

      expect(error).toBeUndefined();
      expect(ofType(events, 'tool-call')).toEqual([
        { type: 'tool-call', index: 0, id: 'c1', name: 'add', arguments: '{"a":1}' },
        { type: 'tool-call', index: 1, id: 'c2', name: 'mul', arguments: '{"b":2}' },
      ]);
    }
  });

  it('C04: interleaved fragments of two indexed calls assemble by index', async () => {
    const body = bodyOf([
      toolFrame([{ index: 1, id: 'b', function: { name: 'second', arguments: '{"y"' } }]),
      toolFrame([{ index: 0, id: 'a', function: { name: 'first', arguments: '{"x"' } }]),
      toolFrame([{ index: 1, function: { arguments: ':2}' } }]),
      toolFrame([{ index: 0, function: { name: 'first', arguments: ':1}' } }]),
      finishFrame,
    ]);

    const { events } = await drain(decodeChatStream(body));

    expect(ofType(events, 'tool-call')).toEqual([
      { type: 'tool-call', index: 0, id: 'a', name: 'first', arguments: '{"x":1}' },
      { type: 'tool-call', index: 1, id: 'b', name: 'second', arguments: '{"y":2}' },
    ]);
  });

  it('C04: a call with no id and no arguments still gets an id and {} arguments', async () => {
    const body = bodyOf([toolFrame([{ index: 0, function: { name: 'now' } }]), finishFrame]);

    const { events } = await drain(decodeChatStream(body));

    const [call] = ofType(events, 'tool-call');
    expect(call).toMatchObject({ name: 'now', arguments: '{}' });
    expect(call?.id).toMatch(/^call_[0-9a-f]{32}$/);
  });
});

describe('ending the body', () => {
  function endlessBody(first: string[]): {
    body: ReadableStream<Uint8Array>;
    cancel: () => number;
  } {
    let cancelled = 0;
    const queue = first.map(utf8);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = queue.shift();
        // After the given chunks the stream stays open, as a server that never closes would.
        if (next !== undefined) controller.enqueue(next);
        else return new Promise<void>(() => {});
      },
      cancel() {
        cancelled++;
      },
    });
    return { body, cancel: () => cancelled };
  }

  it('stops at [DONE] and cancels the rest of the body', async () => {
    const { body, cancel } = endlessBody([contentFrame('a') + DONE + contentFrame('ignored')]);

    const { events, error } = await drain(decodeChatStream(body));

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('a');
    expect(cancel()).toBe(1);
  });

  it('cancels the body once when the consumer breaks out', async () => {
    const { body, cancel } = endlessBody([contentFrame('a'), contentFrame('b')]);

    for await (const event of decodeChatStream(body)) {
      expect(event).toEqual({ type: 'text-delta', text: 'a' });
      break;
    }

    expect(cancel()).toBe(1);
  });

  it('rethrows a read error of the body unchanged and yields what came before', async () => {
    const reset = new TypeError('terminated');
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(reset);
        else controller.enqueue(utf8(contentFrame('Hel')));
        sent = true;
      },
    });

    const { events, error } = await drain(decodeChatStream(body));

    expect(events).toEqual([{ type: 'text-delta', text: 'Hel' }] satisfies ChatEvent[]);
    expect(error).toBe(reset);
  });
});

describe('limits', () => {
  it('fails with a provider error naming the limit when one event outgrows maxEventChars', async () => {
    const body = bodyOf([contentFrame('ok'), `data: {"choices":"${'x'.repeat(5000)}`]);

    const { events, error } = await drain(decodeChatStream(body, { maxEventChars: 1000 }));

    expect(textOf(events)).toBe('ok');
    expect(error).toMatchObject({ kind: 'provider', retryable: false, phase: 'stream' });
    expect((error as Error).message).toContain('longer than 1000 characters');
  });
});

describe('iterator protocol', () => {
  it('answers next() calls made before the previous one settled, in order', async () => {
    const iterator = decodeChatStream(
      bodyOf([
        contentFrame('a'),
        contentFrame('b'),
        'data: {"choices":[{"finish_reason":"stop"}]}\n\n',
      ]),
    );

    const results = await Promise.all([
      iterator.next(),
      iterator.next(),
      iterator.next(),
      iterator.next(),
    ]);

    expect(results).toEqual([
      { done: false, value: { type: 'text-delta', text: 'a' } },
      { done: false, value: { type: 'text-delta', text: 'b' } },
      { done: false, value: { type: 'finish', reason: 'stop', rawReason: 'stop' } },
      { done: true, value: undefined },
    ]);
  });

  it('after a thrown error, further next() calls are done', async () => {
    const iterator = decodeChatStream(bodyOf([contentFrame('a')]));

    const [first, second, third] = await Promise.allSettled([
      iterator.next(),
      iterator.next(),
      iterator.next(),
    ]);

    expect(first).toEqual({
      status: 'fulfilled',
      value: { done: false, value: { type: 'text-delta', text: 'a' } },
    });
    expect(second).toMatchObject({ status: 'rejected', reason: { kind: 'truncated' } });
    expect(third).toEqual({ status: 'fulfilled', value: { done: true, value: undefined } });
  });

  it('return() while a read is pending cancels the body and ends the iterator', async () => {
    let cancelled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: () => new Promise<void>(() => {}),
      cancel: () => {
        cancelled++;
      },
    });
    const iterator = decodeChatStream(body);

    const pending = iterator.next();
    await iterator.return();

    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(cancelled).toBe(1);
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('masks configured secrets in error frames and raw malformed chunks', async () => {
    const key = 'glm-key-abcdef0123456789';
    const body = bodyOf([
      `data: {bad ${key}\n\n`,
      `data: {"error":{"message":"bad key ${key}"}}\n\n`,
    ]);

    const { events, error } = await drain(decodeChatStream(body, { secrets: [key] }));

    expect(JSON.stringify(events)).not.toContain('abcdef0123456789');
    expect(ofType(events, 'error')[0]?.raw).toBe('{bad glm-…');
    expect((error as Error).message).toContain('bad key glm-…');
    expect((error as Error).message).not.toContain('abcdef0123456789');
  });
});

describe('a stream of nothing but unreadable chunks', () => {
  test.each([
    ['not JSON', ['data: {not json}\n\n', 'data: <html>\n\n', DONE], 2, 'it is not valid JSON'],
    ['JSON that is no object', ['data: 42\n\n', DONE], 1, 'it is not a JSON object'],
  ])(
    '%s, then [DONE]: each chunk is an error event, then a provider error says no chunk could be read',
    async (_name, chunks, skipped, why) => {
      const { events, error } = await drain(decodeChatStream(bodyOf(chunks), { route: 'r' }));

      expect(ofType(events, 'error')).toHaveLength(skipped);
      expect(ofType(events, 'finish')).toEqual([]);
      expect(SluiceError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'provider', retryable: false, phase: 'stream' });
      expect((error as SluiceError).message).toContain(
        `sent ${skipped === 1 ? 'one chunk' : `${skipped} chunks`} and [DONE], and no chunk could be read as a chat completion (the first was skipped because ${why})`,
      );
    },
  );

  test('an unreadable chunk among readable ones is still skipped, and the answer stands', async () => {
    const { events, error } = await drain(
      decodeChatStream(
        bodyOf([contentFrame('a'), 'data: {not json}\n\n', contentFrame('b'), DONE]),
      ),
    );

    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('ab');
    expect(ofType(events, 'error')).toHaveLength(1);
    expect(ofType(events, 'finish')).toHaveLength(1);
  });
});

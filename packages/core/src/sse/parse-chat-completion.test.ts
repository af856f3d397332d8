import { describe, expect, it } from 'vitest';
import type { FinishMapping } from '../descriptor/types.js';
import { parseChatCompletion } from './parse-chat-completion.js';

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'r1',
  model: 'glm-4.6',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', ...message } }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  ...extra,
});

describe('parseChatCompletion', () => {
  it('gives reasoning, text, each tool call and then one finish with usage', () => {
    const events = parseChatCompletion(
      completion({
        content: 'Calling.',
        reasoning_content: 'Need the tool.',
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'add', arguments: '{"a":1}' } },
          { id: 'b', index: 0, function: { name: 'mul', arguments: { b: 2 } } },
        ],
      }),
    );

    expect(events).toEqual([
      { type: 'reasoning-delta', text: 'Need the tool.' },
      { type: 'text-delta', text: 'Calling.' },
      { type: 'tool-call-delta', index: 0, id: 'a', name: 'add', argumentsDelta: '{"a":1}' },
      { type: 'tool-call-delta', index: 1, id: 'b', name: 'mul', argumentsDelta: '{"b":2}' },
      { type: 'tool-call', index: 0, id: 'a', name: 'add', arguments: '{"a":1}' },
      { type: 'tool-call', index: 1, id: 'b', name: 'mul', arguments: '{"b":2}' },
      {
        type: 'finish',
        reason: 'stop',
        rawReason: 'stop',
        usage: {
          promptTokens: 10,
          completionTokens: 5,
          totalTokens: 15,
          raw: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        },
      },
    ]);
  });

  it('accepts the body text as well as the parsed value', () => {
    const value = completion({ content: 'hi' });

    expect(parseChatCompletion(JSON.stringify(value))).toEqual(parseChatCompletion(value));
  });

  it('throws a provider error naming the route for text that is not JSON', () => {
    expect(() => parseChatCompletion('<html>502</html>', { route: 'glm' })).toThrow(
      expect.objectContaining({ kind: 'provider', route: 'glm', status: 200 }),
    );
    expect(() => parseChatCompletion('<html>502</html>', { route: 'glm' })).toThrow(
      /route "glm".*not valid JSON/,
    );
  });

  it('throws for a JSON value with no choices array', () => {
    expect(() => parseChatCompletion({ object: 'list' })).toThrow(/no `choices` array/);
    expect(() => parseChatCompletion([1, 2])).toThrow(/not a JSON object/);
  });

  it('turns an error body sent with 200 into the classified error', () => {
    const body = { error: { code: 1302, message: '并发数过高' } };

    expect(() =>
      parseChatCompletion(body, {
        classify: (input) =>
          input.status === 200 && (input.body as typeof body).error.code === 1302
            ? { kind: 'rate-limit', providerCode: '1302' }
            : undefined,
      }),
    ).toThrow(expect.objectContaining({ kind: 'rate-limit', providerCode: '1302', status: 200 }));
  });

  it('masks configured secrets in errors built from the body', () => {
    const key = 'sk-live-0123456789abcdef';
    const body = { error: { message: `invalid key ${key}` } };

    let message = '';
    try {
      parseChatCompletion(body, { secrets: [key] });
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toContain('invalid key sk-l…');
    expect(message).not.toContain('0123456789abcdef');
  });

  it('maps provider finish reasons through the hook, and throws for error mappings', () => {
    const mapFinishReason = (raw: string): FinishMapping | undefined =>
      raw === 'sensitive'
        ? { reason: 'content-filter' }
        : raw === 'network_error'
          ? { error: { kind: 'network', message: 'upstream lost', retryable: true } }
          : undefined;
    const withReason = (reason: string) => ({
      choices: [{ index: 0, finish_reason: reason, message: { content: 'x' } }],
    });

    expect(parseChatCompletion(withReason('sensitive'), { mapFinishReason }).at(-1)).toEqual({
      type: 'finish',
      reason: 'content-filter',
      rawReason: 'sensitive',
    });
    expect(() => parseChatCompletion(withReason('network_error'), { mapFinishReason })).toThrow(
      expect.objectContaining({ kind: 'network', retryable: true, phase: 'stream' }),
    );
  });
});

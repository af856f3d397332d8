import { describe, expect, it } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import { collectChatResult } from './collect-chat-result.js';

const finish: ChatEvent = {
  type: 'finish',
  reason: 'tool-calls',
  rawReason: 'tool_calls',
  usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
};

describe('collectChatResult', () => {
  it('folds deltas, tool calls, finish and the start event into a ChatResult', async () => {
    const events: ChatEvent[] = [
      { type: 'start', route: 'glm', model: 'glm-4.6', attempt: 2 },
      { type: 'reasoning-delta', text: 'th' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'reasoning-delta', text: 'ink' },
      { type: 'tool-call-delta', index: 0, name: 'f', argumentsDelta: '{}' },
      {
        type: 'error',
        error: new SluiceError({ kind: 'provider', message: 'skipped chunk' }),
        raw: '{',
      },
      { type: 'text-delta', text: 'lo' },
      { type: 'tool-call', index: 0, id: 'c1', name: 'f', arguments: '{}' },
      finish,
    ];

    await expect(collectChatResult(events)).resolves.toEqual({
      text: 'Hello',
      reasoning: 'think',
      toolCalls: [{ index: 0, id: 'c1', name: 'f', arguments: '{}' }],
      finishReason: 'tool-calls',
      rawFinishReason: 'tool_calls',
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
      model: 'glm-4.6',
      route: 'glm',
      attempts: 2,
    });
  });

  it('takes route and model from options when no start event names them', async () => {
    async function* events(): AsyncGenerator<ChatEvent> {
      yield { type: 'text-delta', text: 'x' };
      yield finish;
    }

    const result = await collectChatResult(events(), { route: 'fast', model: 'glm-4.5' });

    expect(result).toMatchObject({ text: 'x', route: 'fast', model: 'glm-4.5', attempts: 1 });
  });

  it('throws a truncation error when the events end without a finish', async () => {
    await expect(
      collectChatResult([{ type: 'text-delta', text: 'x' }], { route: 'glm' }),
    ).rejects.toMatchObject({ kind: 'truncated', route: 'glm', retryable: true });
  });

  it('passes on the error the event source throws', async () => {
    const failure = new SluiceError({ kind: 'network', message: 'reset' });
    async function* events(): AsyncGenerator<ChatEvent> {
      yield { type: 'text-delta', text: 'x' };
      throw failure;
    }

    await expect(collectChatResult(events())).rejects.toBe(failure);
  });
});

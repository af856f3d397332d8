import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events/chat-events.js';
import { ToolCallAssembler } from './tool-call-assembler.js';

function assemble(fragments: unknown[]): { deltas: ChatEvent[]; calls: unknown[] } {
  const assembler = new ToolCallAssembler();
  const deltas: ChatEvent[] = [];
  for (const fragment of fragments) assembler.add(fragment, deltas);
  return { deltas, calls: assembler.result() };
}

describe('ToolCallAssembler', () => {
  it('C04: a provider reusing index 0 for a second call keeps its later fragments with it', () => {
    const { calls } = assemble([
      { index: 0, id: 'a', function: { name: 'add', arguments: '{"a":1}' } },
      { index: 0, id: 'b', function: { name: 'mul', arguments: '{"b"' } },
      { index: 0, function: { arguments: ':2}' } },
    ]);

    expect(calls).toEqual([
      { index: 0, id: 'a', name: 'add', arguments: '{"a":1}' },
      { index: 1, id: 'b', name: 'mul', arguments: '{"b":2}' },
    ]);
  });

  it('C04: a name repeated on every fragment of one call does not split it', () => {
    const { calls } = assemble(
      ['{"q"', ':"tea"', '}'].map((args) => ({
        index: 0,
        id: 'same',
        function: { name: 'search', arguments: args },
      })),
    );

    expect(calls).toEqual([{ index: 0, id: 'same', name: 'search', arguments: '{"q":"tea"}' }]);
  });

  it('C04: a numeric string index is read as the number', () => {
    const { calls } = assemble([
      { index: '1', id: 'x', function: { name: 'f', arguments: '{' } },
      { index: 1, function: { arguments: '}' } },
    ]);

    expect(calls).toEqual([{ index: 1, id: 'x', name: 'f', arguments: '{}' }]);
  });

  it('C04: an explicit index after split-off calls gets the next free index, not a collision', () => {
    const { calls } = assemble([
      { index: 0, id: 'a', function: { name: 'f', arguments: '{}' } },
      { index: 0, id: 'b', function: { name: 'g', arguments: '{}' } },
      { index: 1, id: 'c', function: { name: 'h', arguments: '{}' } },
    ]);

    expect(calls).toEqual([
      { index: 0, id: 'a', name: 'f', arguments: '{}' },
      { index: 1, id: 'b', name: 'g', arguments: '{}' },
      { index: 2, id: 'c', name: 'h', arguments: '{}' },
    ]);
  });

  it('names the id and name only on the delta that first carried them', () => {
    const { deltas } = assemble([
      { index: 0, id: 'a', function: { name: 'f', arguments: '{"x"' } },
      { index: 0, id: 'other', function: { arguments: ':1}' } },
    ]);

    expect(deltas).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'a', name: 'f', argumentsDelta: '{"x"' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: ':1}' },
    ]);
  });

  it('ignores fragments that are not objects', () => {
    const { deltas, calls } = assemble([null, 'text', 3]);

    expect(deltas).toEqual([]);
    expect(calls).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { transformZhipuRequest } from './transform-zhipu-request.js';

const tool = { type: 'function', function: { name: 'weather', parameters: { type: 'object' } } };
const base = { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }], stream: true };

function run(body: Record<string, unknown>, providerOptions: Record<string, unknown> = {}) {
  return transformZhipuRequest(body, { model: 'glm-4.6', providerOptions });
}

describe('transformZhipuRequest: thinking', () => {
  it.each([
    [{ type: 'enabled' }, 'enabled'],
    [{ type: 'disabled' }, 'disabled'],
    [true, 'enabled'],
    [false, 'disabled'],
    ['disabled', 'disabled'],
  ])('providerOptions.thinking %j becomes thinking.type %s', (option, type) => {
    expect(run(base, { thinking: option }).thinking).toEqual({ type });
  });

  it('without the option GLM keeps its default and no thinking field is sent', () => {
    expect(run(base)).not.toHaveProperty('thinking');
    expect(run(base, { thinking: 'sometimes' })).not.toHaveProperty('thinking');
  });
});

describe('transformZhipuRequest: temperature', () => {
  it.each([
    [1.7, 1],
    [2, 1],
    [-0.5, 0],
    [0.3, 0.3],
    [0, 0],
    [1, 1],
  ])('temperature %d is sent as %d', (value, expected) => {
    expect(run({ ...base, temperature: value }).temperature).toBe(expected);
  });

  it('no temperature stays absent', () => {
    expect(run(base)).not.toHaveProperty('temperature');
  });
});

describe('transformZhipuRequest: stop', () => {
  it('keeps only the first of several stop sequences', () => {
    expect(run({ ...base, stop: ['END', 'STOP', '###'] }).stop).toEqual(['END']);
  });

  it('a single string becomes a one-element list', () => {
    expect(run({ ...base, stop: 'END' }).stop).toEqual(['END']);
  });

  it('an empty list is dropped', () => {
    expect(run({ ...base, stop: [] })).not.toHaveProperty('stop');
  });
});

describe('transformZhipuRequest: tool_choice', () => {
  it('auto is kept', () => {
    const out = run({ ...base, tools: [tool], tool_choice: 'auto' });
    expect(out.tool_choice).toBe('auto');
    expect(out.tools).toEqual([tool]);
  });

  it.each([['required'], [{ type: 'function', function: { name: 'weather' } }]])(
    '%j becomes auto, since GLM cannot be forced to call a tool',
    (choice) => {
      const out = run({ ...base, tools: [tool], tool_choice: choice });
      expect(out.tool_choice).toBe('auto');
      expect(out.tools).toEqual([tool]);
    },
  );

  it('none drops the tools so the model cannot call them', () => {
    const out = run({ ...base, tools: [tool], tool_choice: 'none' });
    expect(out).not.toHaveProperty('tools');
    expect(out).not.toHaveProperty('tool_choice');
  });

  it('tool_choice without tools, or an empty tools list, is dropped', () => {
    expect(run({ ...base, tool_choice: 'auto' })).not.toHaveProperty('tool_choice');
    const out = run({ ...base, tools: [], tool_choice: 'auto' });
    expect(out).not.toHaveProperty('tools');
    expect(out).not.toHaveProperty('tool_choice');
  });

  it('tools without tool_choice are sent unchanged', () => {
    const out = run({ ...base, tools: [tool] });
    expect(out.tools).toEqual([tool]);
    expect(out).not.toHaveProperty('tool_choice');
  });
});

describe('transformZhipuRequest: stream_options', () => {
  it('passes the caller’s stream_options through', () => {
    const out = run({ ...base, stream_options: { include_usage: false } });
    expect(out.stream_options).toEqual({ include_usage: false });
  });

  it('asks for usage on a streaming request that did not say', () => {
    expect(run(base).stream_options).toEqual({ include_usage: true });
  });

  it('adds nothing to a non-streaming request', () => {
    expect(run({ ...base, stream: false })).not.toHaveProperty('stream_options');
  });
});

describe('transformZhipuRequest: everything else', () => {
  it('leaves other fields alone and does not modify its input', () => {
    const body = { ...base, max_tokens: 4000, top_p: 0.9, stop: ['a', 'b'], temperature: 3 };
    const copy = structuredClone(body);
    const out = run(body);
    expect(body).toEqual(copy);
    expect(out.max_tokens).toBe(4000);
    expect(out.top_p).toBe(0.9);
    expect(out.messages).toEqual(base.messages);
  });
});

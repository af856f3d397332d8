import { describe, expect, test } from 'vitest';
import { openAICompatible } from './open-ai-compatible.js';

describe('openAICompatible', () => {
  test('builds a full descriptor from a base URL, env var and model ids', () => {
    const descriptor = openAICompatible({
      id: 'vllm',
      baseURL: 'http://127.0.0.1:8000/v1',
      apiKeyEnv: 'VLLM_API_KEY',
      models: ['qwen3-coder'],
      maxConcurrency: 2,
      timeouts: { headersMs: 10_000 },
      headers: { 'x-team': 'agents' },
    });

    expect(descriptor).toMatchObject({
      id: 'vllm',
      displayName: 'vllm',
      endpoints: { default: 'http://127.0.0.1:8000/v1' },
      defaultEndpoint: 'default',
      chatPath: '/chat/completions',
      auth: { type: 'bearer', envVars: ['VLLM_API_KEY'] },
      defaultModel: 'qwen3-coder',
      maxConcurrency: 2,
      timeouts: { headersMs: 10_000 },
      headers: { 'x-team': 'agents' },
    });
    expect(descriptor.catalog.map((model) => model.id)).toEqual(['qwen3-coder']);
  });

  test('classifies OpenAI-style bodies, a custom classifier first', () => {
    const descriptor = openAICompatible({
      id: 'x',
      baseURL: 'https://x.example/v1',
      classify: (input) => (input.status === 499 ? { kind: 'overloaded' } : undefined),
    });
    const input = (status: number, body: unknown = {}) => ({
      status,
      headers: new Headers(),
      body,
      bodyText: '',
    });

    expect(descriptor.classify?.(input(499))?.kind).toBe('overloaded');
    expect(descriptor.classify?.(input(429, { error: { code: 'insufficient_quota' } }))?.kind).toBe(
      'quota',
    );
    expect(descriptor.classify?.(input(401))?.kind).toBe('auth');
  });

  test('merges extraBody into every request before a custom transform', () => {
    const descriptor = openAICompatible({
      id: 'x',
      baseURL: 'https://x.example/v1',
      extraBody: { thinking: { type: 'enabled' } },
      transformRequest: (body, context) => ({ ...body, seen: context.model }),
    });

    const body = descriptor.transformRequest?.(
      { model: 'm', stream: true },
      {
        model: 'm',
        providerOptions: {},
      },
    );
    expect(body).toEqual({ model: 'm', stream: true, thinking: { type: 'enabled' }, seen: 'm' });
  });

  test('requiresApiKey false gives auth type none', () => {
    const descriptor = openAICompatible({
      id: 'ollama',
      baseURL: 'http://localhost:11434/v1',
      requiresApiKey: false,
    });
    expect(descriptor.auth).toEqual({ type: 'none', envVars: [] });
    expect(descriptor.transformRequest).toBeUndefined();
  });

  test('an invalid option throws a ConfigError naming the field', () => {
    expect(() => openAICompatible({ id: 'x', baseURL: 'not a url', maxConcurrency: 1.5 })).toThrow(
      /endpoints\.default: must be an http\(s\) URL[\s\S]*maxConcurrency: must be a whole number/,
    );
  });
});

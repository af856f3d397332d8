import { describe, expect, test } from 'vitest';
import { classifyHttpStatus, classifyOpenAIError } from './classify-http-status.js';

describe('classifyHttpStatus', () => {
  test.each([
    [400, 'bad-request', false],
    [401, 'auth', false],
    [402, 'billing', false],
    [403, 'auth', false],
    [404, 'model-not-found', false],
    [408, 'timeout', true],
    [413, 'context-length', false],
    [422, 'bad-request', false],
    [429, 'rate-limit', true],
    [500, 'server', true],
    [502, 'server', true],
    [503, 'overloaded', true],
    [504, 'server', true],
    [529, 'overloaded', true],
    [507, 'server', true],
    [418, 'bad-request', false],
    [200, 'provider', false],
  ] as const)('HTTP %i is %s (retryable %s)', (status, kind, retryable) => {
    expect(classifyHttpStatus(status)).toMatchObject({ kind, retryable });
  });

  test('only a rate limit sets the shared cooldown', () => {
    expect(classifyHttpStatus(429).cooldown).toBe(true);
    expect(classifyHttpStatus(503).cooldown).toBeUndefined();
  });
});

describe('classifyOpenAIError', () => {
  const classify = (status: number, body: unknown) =>
    classifyOpenAIError({ status, headers: new Headers(), body, bodyText: JSON.stringify(body) });

  test('a 429 insufficient_quota is quota and not retried', () => {
    const verdict = classify(429, {
      error: {
        message: 'You exceeded your quota',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    });
    expect(verdict).toMatchObject({
      kind: 'quota',
      retryable: false,
      providerCode: 'insufficient_quota',
    });
  });

  test('a 400 context_length_exceeded is context-length, message kept', () => {
    const verdict = classify(400, {
      error: { message: 'too long', code: 'context_length_exceeded' },
    });
    expect(verdict).toMatchObject({ kind: 'context-length', message: 'too long' });
  });

  test('an unknown or numeric code falls back to the status and is kept as a string', () => {
    expect(classify(503, { error: { code: 1234 } })).toMatchObject({
      kind: 'overloaded',
      retryable: true,
      providerCode: '1234',
    });
    expect(classify(500, 'not json')).toMatchObject({ kind: 'server' });
  });
});

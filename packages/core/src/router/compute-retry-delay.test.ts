import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../descriptor/types.js';
import { computeRetryDelay } from './compute-retry-delay.js';

const policy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 4_000,
  maxServerWaitMs: 60_000,
  retryOn: ['rate-limit'],
};

describe('computeRetryDelay', () => {
  it('honours a server wait up to maxServerWaitMs', () => {
    expect(computeRetryDelay(policy, 1, 1500)).toEqual({ delayMs: 1500, source: 'server' });
    expect(computeRetryDelay(policy, 1, 0)).toEqual({ delayMs: 0, source: 'server' });
  });

  it('clamps a server wait above maxServerWaitMs to it', () => {
    expect(computeRetryDelay(policy, 1, 3_600_000)).toEqual({ delayMs: 60_000, source: 'clamped' });
  });

  it('uses full jitter over an exponential ceiling capped at maxDelayMs without a server wait', () => {
    // random() just below 1 shows the ceiling of each attempt: 500, 1000, 2000, 4000, 4000.
    const nearlyOne = () => 0.999_999;
    const ceilings = [1, 2, 3, 4, 5].map(
      (attempt) => computeRetryDelay(policy, attempt, undefined, nearlyOne).delayMs,
    );
    expect(ceilings).toEqual([499, 999, 1999, 3999, 3999]);
    expect(computeRetryDelay(policy, 3, undefined, () => 0).delayMs).toBe(0);
    expect(computeRetryDelay(policy, 3, undefined, () => 0.5)).toEqual({
      delayMs: 1000,
      source: 'backoff',
    });
  });

  it('treats a NaN or negative server wait as absent', () => {
    expect(computeRetryDelay(policy, 1, Number.NaN, () => 0.5).source).toBe('backoff');
    expect(computeRetryDelay(policy, 1, -5, () => 0.5).source).toBe('backoff');
  });
});

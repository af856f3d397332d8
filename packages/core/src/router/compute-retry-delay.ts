import type { RetryPolicy } from '../descriptor/types.js';

/** How a retry delay was chosen, for telemetry and tests. */
export interface RetryDelay {
  delayMs: number;
  /** `server`: the server's wait; `clamped`: the server's wait cut to `maxServerWaitMs`. */
  source: 'server' | 'clamped' | 'backoff';
}

/**
 * The wait before attempt `attempt + 1`, in ms.
 *
 * The one rule for server waits: a wait the server asked for (`retry-after-ms`, `Retry-After`
 * seconds or HTTP-date, or a classifier's `retryAfterMs`) is honoured up to
 * `policy.maxServerWaitMs` and clamped to it above that (an hour-long `Retry-After: 3600` waits
 * `maxServerWaitMs`, default 60 s); a date in the past waits 0. An absent or unparsable value
 * (`parseRetryAfter` gives `undefined`) falls back to exponential backoff with full jitter:
 * `random() * min(maxDelayMs, baseDelayMs * 2^(attempt - 1))`.
 *
 * @param attempt the 1-based attempt that just failed.
 * @param serverWaitMs the server's wait in ms, or undefined.
 * @param random a [0, 1) source; default `Math.random`.
 */
export function computeRetryDelay(
  policy: RetryPolicy,
  attempt: number,
  serverWaitMs: number | undefined,
  random: () => number = Math.random,
): RetryDelay {
  if (serverWaitMs !== undefined && Number.isFinite(serverWaitMs) && serverWaitMs >= 0) {
    if (serverWaitMs > policy.maxServerWaitMs) {
      return { delayMs: policy.maxServerWaitMs, source: 'clamped' };
    }
    return { delayMs: serverWaitMs, source: 'server' };
  }

  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return { delayMs: Math.floor(random() * ceilingMs), source: 'backoff' };
}

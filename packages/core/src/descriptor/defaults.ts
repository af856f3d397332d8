import type { RetryPolicy, TimeoutsMs } from './types.js';

/**
 * Sluice's own phase deadlines, the last step of the precedence chain (route > provider instance >
 * config-wide > descriptor > these). All in ms; 0 turns a deadline off.
 *
 * - `queueMs` 0: wait for a lease as long as it takes (abort still works).
 * - `headersMs` 45 000: a provider past its real ceiling accepts the socket and never answers.
 * - `firstTokenMs` 0: reasoning models may think for minutes before the first delta.
 * - `idleMs` 300 000: five minutes of silence inside a body is a dead stream.
 * - `totalMs` 1 800 000: one attempt never runs longer than 30 minutes.
 */
export const DEFAULT_TIMEOUTS_MS: Readonly<TimeoutsMs> = Object.freeze({
  queueMs: 0,
  headersMs: 45_000,
  firstTokenMs: 0,
  idleMs: 300_000,
  totalMs: 1_800_000,
});

/**
 * Sluice's own retry policy, the last step of the precedence chain: 4 attempts in all, backoff
 * from 500 ms capped at 20 s, a server-requested wait clamped to 60 s, and only the transient
 * kinds (rate-limit, overloaded, timeout, network, server) retried.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxServerWaitMs: 60_000,
  retryOn: Object.freeze([
    'rate-limit',
    'overloaded',
    'timeout',
    'network',
    'server',
  ]) as RetryPolicy['retryOn'],
});

/** The chat path appended to an endpoint's base URL when a descriptor names none. */
export const DEFAULT_CHAT_PATH = '/chat/completions';

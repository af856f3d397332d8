import { DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS_MS } from '../descriptor/defaults.js';
import type { RetryPolicy, TimeoutsMs } from '../descriptor/types.js';
import type { IssuePath } from './config-issues.js';
import type { IssueList, Loose } from './resolve-context.js';

const TIMEOUT_FIELDS = Object.keys(DEFAULT_TIMEOUTS_MS) as (keyof TimeoutsMs)[];
const RETRY_FIELDS = Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[];

function firstDefined<T>(layers: readonly Loose[], field: string, fallback: T): T {
  for (const layer of layers) {
    if (layer[field] !== undefined) return layer[field] as T;
  }
  return fallback;
}

/** Merges timeout layers, highest precedence first, field by field onto Sluice's defaults. */
export function mergeTimeouts(layers: readonly Loose[]): TimeoutsMs {
  const out = { ...DEFAULT_TIMEOUTS_MS };
  for (const field of TIMEOUT_FIELDS) out[field] = firstDefined(layers, field, out[field]);
  return out;
}

/** Merges retry layers like {@link mergeTimeouts}; `retryOn` is replaced whole, not merged. */
export function mergeRetry(layers: readonly Loose[]): RetryPolicy {
  const out: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retryOn: [...DEFAULT_RETRY_POLICY.retryOn] };
  for (const field of RETRY_FIELDS) {
    const value = firstDefined<unknown>(layers, field, out[field]);
    (out as unknown as Loose)[field] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

const setsDelays = (layer: Loose) =>
  layer.baseDelayMs !== undefined || layer.maxDelayMs !== undefined;

/**
 * Backoff grows from baseDelayMs up to maxDelayMs, so base above max is a mistake. The layers
 * are highest first with their paths; the issue goes to the highest layer that sets either
 * field, which is where the user has to change something.
 */
export function checkRetry(
  retry: RetryPolicy,
  layers: readonly { path: IssuePath; retry: Loose }[],
  issues: IssueList,
): void {
  if (typeof retry.baseDelayMs !== 'number' || typeof retry.maxDelayMs !== 'number') return;
  if (retry.baseDelayMs <= retry.maxDelayMs) return;
  const culprit = layers.find((layer) => setsDelays(layer.retry));
  if (!culprit) return;
  issues.add(
    [...culprit.path, 'baseDelayMs'],
    `is above maxDelayMs (${retry.maxDelayMs}) once precedence is applied`,
    'lower baseDelayMs or raise maxDelayMs',
    retry.baseDelayMs,
  );
}

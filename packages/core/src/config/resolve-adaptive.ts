import type { Context, Loose } from './resolve-context.js';
import { isRecord } from './resolve-context.js';
import type { ResolvedAdaptive } from './resolved-route.js';

/**
 * Resolves `providers.<name>.adaptive`: `min` defaults to 1, `max` to the instance's
 * `maxConcurrency`, `decreaseFactor` to 0.5. Field types were checked by the schema; this adds the
 * checks that need two fields (`min <= max`, a `max` when `maxConcurrency` is 0, no cap) and
 * reports them with their path. Returns undefined when the instance did not opt in or a problem
 * was found.
 */
export function resolveAdaptive(
  name: string,
  raw: Loose,
  maxConcurrency: number,
  context: Context,
): ResolvedAdaptive | undefined {
  const adaptive = raw.adaptive;
  if (!isRecord(adaptive)) return undefined;

  const path = ['providers', name, 'adaptive'];
  const min = wholeNumber(adaptive.min) ?? 1;
  const max = wholeNumber(adaptive.max) ?? (maxConcurrency > 0 ? maxConcurrency : undefined);
  if (max === undefined) {
    context.issues.add(
      [...path, 'max'],
      'is required when maxConcurrency is 0 (no client-side cap): an adaptive limit needs a ceiling to start from',
      'write the concurrency the provider advertises, e.g. adaptive: { max: 10 }',
    );
    return undefined;
  }
  if (min > max) {
    const field = adaptive.max === undefined ? `maxConcurrency (${max})` : `max (${max})`;
    context.issues.add(
      [...path, 'min'],
      `must be <= ${field}`,
      `lower adaptive.min, or raise ${adaptive.max === undefined ? 'maxConcurrency' : 'adaptive.max'}`,
      adaptive.min,
    );
    return undefined;
  }

  const factor = adaptive.decreaseFactor;
  return {
    min,
    max,
    increaseAfter: wholeNumber(adaptive.increaseAfter),
    decreaseFactor: typeof factor === 'number' && factor > 0 && factor < 1 ? factor : 0.5,
  };
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

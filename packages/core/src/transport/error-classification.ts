import type { Classification } from '../descriptor/types.js';

const classifications = new WeakMap<object, Classification>();

/**
 * Remembers the classifier's verdict behind an error, so retry, cooldown and fallback can read
 * flags a SluiceError has no field for (`cooldown`, `preferFallback`). Weakly held: the verdict
 * goes away with the error.
 */
export function attachClassification(error: object, classification: Classification): void {
  classifications.set(error, classification);
}

/** The classifier's verdict behind `error`, when a classifier produced it. */
export function classificationOf(error: unknown): Classification | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return classifications.get(error);
}

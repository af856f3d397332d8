/**
 * A mistake in how the command was called (a bad flag, a bad config). The CLI prints its one-line
 * message with the fix and exits with code 2, as other Unix tools do for usage errors.
 */
export class UsageError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses a whole number flag within bounds, or throws a {@link UsageError} naming the flag. */
export function parseCount(flag: string, raw: string, { min, max }: { min: number; max: number }) {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}".`);
  }
  return value;
}

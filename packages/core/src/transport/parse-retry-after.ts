const SECONDS = /^\d+(\.\d+)?$/;

/**
 * Reads the wait a server asked for, in ms, from `retry-after-ms` (ms, as OpenAI-style APIs send
 * it) or else `Retry-After` (delta seconds, or an HTTP-date per RFC 9110 §10.2.3).
 *
 * Returns `undefined` when neither header is present or the value is unparsable (negative, not a
 * number, not a date): the caller then uses its own backoff. A date in the past gives 0. The value
 * is not clamped here; the retry policy clamps it to `maxServerWaitMs`.
 *
 * @param nowMs epoch ms to measure an HTTP-date against (default `Date.now()`).
 */
export function parseRetryAfter(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const milliseconds = headers.get('retry-after-ms')?.trim();
  if (milliseconds && SECONDS.test(milliseconds)) return Number(milliseconds);

  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (SECONDS.test(value)) return Number(value) * 1000;

  // A bare number with a sign or exponent is not a date; Date.parse would read "-1" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const dateMs = Date.parse(value);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

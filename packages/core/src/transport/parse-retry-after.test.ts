import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './parse-retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const headers = (init: Record<string, string>) => new Headers(init);

describe('parseRetryAfter', () => {
  it('reads retry-after-ms as milliseconds, ahead of Retry-After', () => {
    expect(parseRetryAfter(headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), NOW)).toBe(
      1500,
    );
  });

  it('reads Retry-After delta seconds, fractions included', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '3' }), NOW)).toBe(3000);
    expect(parseRetryAfter(headers({ 'retry-after': '0.25' }), NOW)).toBe(250);
  });

  it('reads an HTTP-date relative to now, and a past date as 0', () => {
    const ahead = new Date(NOW + 5000).toUTCString();
    expect(parseRetryAfter(headers({ 'retry-after': ahead }), NOW)).toBe(5000);
    const past = new Date(NOW - 60_000).toUTCString();
    expect(parseRetryAfter(headers({ 'retry-after': past }), NOW)).toBe(0);
  });

  it('gives undefined for absent, negative and unparsable values', () => {
    expect(parseRetryAfter(headers({}), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': '-1' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': '1e3' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after-ms': 'abc' }), NOW)).toBeUndefined();
  });

  it('falls back to Retry-After when retry-after-ms is unparsable', () => {
    expect(parseRetryAfter(headers({ 'retry-after-ms': 'x', 'retry-after': '2' }), NOW)).toBe(2000);
  });
});

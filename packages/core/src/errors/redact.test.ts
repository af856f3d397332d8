import { describe, expect, test } from 'vitest';
import { SluiceError } from './sluice-error.js';
import { containsSecret, redactErrorSecrets, redactSecrets } from './redact.js';

const KEY = 'sk-trial-SECRET-987654';

describe('redactSecrets', () => {
  test('masks the key as written, and quoted back in another case or percent-encoded (trial: echoes of the key)', () => {
    const echoes = [
      `Invalid key ${KEY}.`,
      `Bearer ${KEY}`,
      'SK-TRIAL-SECRET-987654',
      'sk-trial-secret-987654',
      'sk%2Dtrial%2DSECRET%2D987654',
      'sk%2dtrial-SECRET%2d987654',
      '%73%6B-trial-SECRET-987654',
    ];
    for (const echo of echoes) {
      const masked = redactSecrets(echo, [KEY]);
      expect(masked.toLowerCase()).not.toContain('secret-987654');
      expect(masked).not.toMatch(/%2d987654/i);
      expect(masked).toContain('sk-t…');
      expect(containsSecret(echo, [KEY])).toBe(true);
    }
    expect(redactSecrets(`a ${KEY} b ${KEY.toUpperCase()} c`, [KEY])).toBe('a sk-t… b sk-t… c');
  });

  test('a key with characters that mean something in a pattern is matched literally', () => {
    expect(redactSecrets('x a.b*c(d)+[e] y', ['a.b*c(d)+[e]'])).toBe('x a.b*… y');
    expect(redactSecrets('x aXb*cd y', ['a.b*'])).toBe('x aXb*cd y');
    expect(redactSecrets('path C:\\key\\9f8e7d6c5b', ['C:\\key\\9f8e7d6c5b'])).toBe('path C:\\k…');
  });

  test('a non-ASCII secret is masked as written and as UTF-8 percent-encoded', () => {
    const secret = 'ключ-секрет-1234';
    const encoded = encodeURIComponent(secret);
    expect(redactSecrets(`${secret} / ${encoded}`, [secret])).toBe('ключ… / ключ…');
  });

  test('text without the key, short secrets and empty entries are left alone', () => {
    expect(redactSecrets('nothing to see', [KEY, undefined, '', 'abc'])).toBe('nothing to see');
    expect(containsSecret('sk-trial-SECRET-98765', [KEY])).toBe(false);
  });

  test('redactErrorSecrets masks an upper-cased echo in message and hint, keeping the error', () => {
    const error = new SluiceError({
      kind: 'auth',
      message: `Provider said: bad key ${KEY.toUpperCase()}`,
      hint: `Check ${encodeURIComponent(KEY).replace(/-/g, '%2D')}`,
    });
    expect(redactErrorSecrets(error, [KEY])).toBe(error);
    expect(error.message).toMatch(/^Provider said: bad key sk-t…/);
    expect(error.message).not.toMatch(/SECRET-987654|SECRET%2D987654/i);
    expect(error.hint).toBe('Check sk-t…');
    expect(error.stack).not.toMatch(/SECRET-987654/i);
  });
});

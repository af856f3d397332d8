import { createHmac, timingSafeEqual } from 'node:crypto';
import { SluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createSignedTokenCredential, signZhipuToken } from './signed-token.js';

const KEY = 'a1b2c3d4e5f6.s3cr3tS3cr3tS3cr3t';

function decode(token: string) {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) throw new Error(`not a JWT: ${token}`);
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown,
    signed: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

function verifies(token: string, secret: string): boolean {
  const { signed, signature } = decode(token);
  const expected = createHmac('sha256', secret).update(signed).digest();
  return expected.length === signature.length && timingSafeEqual(expected, signature);
}

describe('signZhipuToken', () => {
  it('signs HS256 with sign_type SIGN and ms timestamps', () => {
    const nowMs = 1_767_225_600_000;
    const token = signZhipuToken(KEY, nowMs, 180_000);
    const { header, payload } = decode(token);

    expect(header).toEqual({ alg: 'HS256', sign_type: 'SIGN' });
    expect(payload).toEqual({ api_key: 'a1b2c3d4e5f6', exp: nowMs + 180_000, timestamp: nowMs });
  });

  it('the signature verifies with the secret and fails with another', () => {
    const token = signZhipuToken(KEY, 1_000, 60_000);
    expect(verifies(token, 's3cr3tS3cr3tS3cr3t')).toBe(true);
    expect(verifies(token, 'wrong-secret')).toBe(false);
  });

  it.each(['no-dot-here', '.s3cret-value', 'key-id-9.', 'a1.b2.c3'])(
    'rejects %j with a config error that does not quote the key',
    (key) => {
      let thrown: unknown;
      try {
        signZhipuToken(key, 0, 1_000);
      } catch (error) {
        thrown = error;
      }
      expect(SluiceError.isInstance(thrown)).toBe(true);
      expect((thrown as SluiceError).kind).toBe('config');
      expect((thrown as SluiceError).message).toContain('id.secret');
      if (key.length > 3) expect((thrown as SluiceError).message).not.toContain(key);
    },
  );
});

describe('createSignedTokenCredential', () => {
  it('reuses the cached token until shortly before it expires, then signs a new one', () => {
    const credential = createSignedTokenCredential({
      ttlMs: 600_000,
      refreshBeforeExpiryMs: 30_000,
    });
    const first = credential(KEY, 1_000_000);

    expect(credential(KEY, 1_000_000 + 500_000)).toBe(first);
    expect(credential(KEY, 1_000_000 + 569_999)).toBe(first);

    const renewed = credential(KEY, 1_000_000 + 570_000);
    expect(renewed).not.toBe(first);
    expect((decode(renewed).payload as { timestamp: number }).timestamp).toBe(1_570_000);
  });

  it('keeps one token per key', () => {
    const credential = createSignedTokenCredential();
    const other = 'ffff.another-secret-value';
    const a = credential(KEY, 5_000);
    const b = credential(other, 5_000);
    expect((decode(a).payload as { api_key: string }).api_key).toBe('a1b2c3d4e5f6');
    expect((decode(b).payload as { api_key: string }).api_key).toBe('ffff');
    expect(credential(KEY, 6_000)).toBe(a);
  });

  it('defaults to a 30 minute token', () => {
    const token = createSignedTokenCredential()(KEY, 0);
    expect((decode(token).payload as { exp: number }).exp).toBe(1_800_000);
  });
});

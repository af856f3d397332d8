import { createHmac } from 'node:crypto';
import { SluiceError } from '@sluice/core';

/** Options of {@link createSignedTokenCredential}. */
export interface SignedTokenOptions {
  /** Lifetime of each token in ms. Default 30 min. */
  ttlMs?: number;
  /** A cached token is replaced this long before it expires, in ms. Default 60 s. */
  refreshBeforeExpiryMs?: number;
}

interface CachedToken {
  token: string;
  expiresAtMs: number;
}

function base64Url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * Signs one GLM token for a key of the form `id.secret`: a JWT with HS256 over the secret, header
 * `{ alg: 'HS256', sign_type: 'SIGN' }` and payload `{ api_key: id, exp, timestamp }`, both times
 * in epoch milliseconds (GLM reads them as ms, unlike standard JWT seconds).
 *
 * @throws SluiceError of kind `config` when the key is not `id.secret`; the key is never quoted.
 */
export function signZhipuToken(apiKey: string, nowMs: number, ttlMs: number): string {
  const dot = apiKey.indexOf('.');
  if (dot <= 0 || dot === apiKey.length - 1 || apiKey.indexOf('.', dot + 1) !== -1) {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      providerId: 'zhipu',
      retryable: false,
      message: 'signedToken mode needs a Zhipu key of the form `id.secret`; this key is not.',
      hint: 'Use the key exactly as the Zhipu console shows it, or turn signedToken off to send it as a bearer key.',
    });
  }
  const id = apiKey.slice(0, dot);
  const secret = apiKey.slice(dot + 1);

  const header = base64Url(JSON.stringify({ alg: 'HS256', sign_type: 'SIGN' }));
  const payload = base64Url(JSON.stringify({ api_key: id, exp: nowMs + ttlMs, timestamp: nowMs }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${base64Url(signature)}`;
}

/**
 * A descriptor `auth.credential` that turns `id.secret` keys into signed GLM tokens. Tokens are
 * cached per key and reused until `refreshBeforeExpiryMs` before they expire, so a burst of
 * requests signs once. A stream that outlives its token is unaffected: GLM checks it on arrival.
 */
export function createSignedTokenCredential(
  options: SignedTokenOptions = {},
): (apiKey: string, nowMs: number) => string {
  const ttlMs = options.ttlMs ?? 30 * 60_000;
  const refreshBeforeExpiryMs = Math.min(options.refreshBeforeExpiryMs ?? 60_000, ttlMs / 2);
  const cache = new Map<string, CachedToken>();

  return function signedTokenCredential(apiKey, nowMs) {
    const cached = cache.get(apiKey);
    if (cached && nowMs < cached.expiresAtMs - refreshBeforeExpiryMs) return cached.token;

    const token = signZhipuToken(apiKey, nowMs, ttlMs);
    cache.set(apiKey, { token, expiresAtMs: nowMs + ttlMs });
    return token;
  };
}

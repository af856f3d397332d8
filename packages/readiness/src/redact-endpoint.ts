import { containsSecret, maskSecret, redactSecrets } from '@sluice/core';

// Query parameters that carry credentials in the wild (`?key=` of Google-style APIs, signed
// URLs, tokens pasted into a base URL). Their values are masked; other parameters stay readable.
const SECRET_PARAM = /key|token|secret|sig|signature|auth|password|credential/i;

/**
 * An endpoint URL safe to print: user and password removed, secret-looking query values masked,
 * and any of `secrets` that still occurs replaced by its mask. A value that is not a URL is
 * returned with the secrets masked.
 */
export function redactEndpoint(url: string, secrets: Iterable<string | undefined> = []): string {
  let out = url;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    for (const [name, value] of [...parsed.searchParams]) {
      if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, maskSecret(value));
    }
    out = parsed.toString();
  } catch {
    // Not a URL: fall through to plain secret masking.
  }
  return redactSecrets(out, secrets);
}

/**
 * Returns `value` with every string inside it (deeply) passed through `redactSecrets`, which
 * finds a secret in any letter case and percent-encoded too. Strings that hold none of the
 * secrets are returned as they are, so a snapshot of clean strings costs one search per string
 * (none for a string shorter than the secrets) rather than a replace per secret.
 */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const unique = [...new Set(secrets)].filter((secret) => secret.length >= 4);
  if (unique.length === 0) return value;
  const clean = (text: string) =>
    containsSecret(text, unique) ? redactSecrets(text, unique) : text;
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return clean(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(item)) out[clean(key)] = walk(inner);
      return out;
    }
    return item;
  };
  return walk(value) as T;
}

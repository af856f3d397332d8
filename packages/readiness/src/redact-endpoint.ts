import { maskSecret, redactSecrets } from '@sluice/core';

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

/** Returns `value` with every string inside it (deeply) passed through `redactSecrets`. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, secrets)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[redactSecrets(key, secrets)] = redactDeep(item, secrets);
    }
    return out as T;
  }
  return value;
}

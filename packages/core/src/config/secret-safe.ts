import { maskSecret } from '../errors/redact.js';
import { maskUrlCredentials } from './config-issues.js';
import type { ResolvedBudget } from './resolved-route.js';

const SECRET_HEADER = /(auth|key|token|secret|cookie|signature|password|credential)/i;

// Keys never reach JSON or `util.inspect` output from these objects: both print the key, secret
// looking headers and a Redis password masked. A spread copy loses this protection (it lives on
// the prototype), which is why callers should pass these objects as they are.
const SECRET_SAFE = {
  toJSON(this: {
    url?: string;
    apiKey?: string;
    headers?: Record<string, string>;
    budget?: ResolvedBudget;
  }): Record<string, unknown> {
    const { apiKey, headers, budget, url, ...rest } = this;
    const safeHeaders = Object.fromEntries(
      Object.entries(headers ?? {}).map(([name, value]) => [
        name,
        SECRET_HEADER.test(name) ? maskSecret(value) : value,
      ]),
    );
    return {
      ...rest,
      ...(url === undefined ? {} : { url: maskUrlSecrets(url) }),
      apiKey: apiKey === undefined ? undefined : maskSecret(apiKey),
      headers: safeHeaders,
      ...(budget === undefined
        ? {}
        : { budget: { ...budget, url: budget.url && maskUrlCredentials(budget.url) } }),
    };
  },
  [Symbol.for('nodejs.util.inspect.custom')](this: { toJSON(): unknown }) {
    return this.toJSON();
  },
};

/**
 * The URL with its user info and any secret-looking query parameter (`api_key`, `token`, ...)
 * masked: some endpoints are configured with the key in the query string.
 */
export function maskUrlSecrets(value: string): string {
  const masked = maskUrlCredentials(value);
  if (!URL.canParse(masked)) return masked;
  const url = new URL(masked);
  let changed = false;
  for (const [name, param] of [...url.searchParams]) {
    if (!SECRET_HEADER.test(name) || param === '') continue;
    url.searchParams.set(name, '***');
    changed = true;
  }
  return changed ? url.toString() : masked;
}

/**
 * Copies `value` onto an object whose JSON and `util.inspect` forms mask the key, secret
 * headers and URL credentials. Used for every resolved route and instance.
 */
export function secretSafe<T extends object>(value: T): T {
  return Object.assign(Object.create(SECRET_SAFE) as T, value);
}

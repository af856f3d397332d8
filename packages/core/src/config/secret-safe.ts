import { maskSecret } from '../errors/redact.js';
import { SECRET_NAME, maskUrlCredentials, maskUrlSecrets } from './config-issues.js';
import type { ResolvedBudget } from './resolved-route.js';

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
        SECRET_NAME.test(name) ? maskSecret(value) : value,
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
 * Copies `value` onto an object whose JSON and `util.inspect` forms mask the key, secret
 * headers and URL credentials. Used for every resolved route and instance.
 */
export function secretSafe<T extends object>(value: T): T {
  return Object.assign(Object.create(SECRET_SAFE) as T, value);
}

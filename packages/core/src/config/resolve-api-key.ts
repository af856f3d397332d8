import { createHash } from 'node:crypto';
import type { ProviderDescriptor } from '../descriptor/types.js';
import { optionalString } from './resolve-context.js';
import type { Context, Loose } from './resolve-context.js';

/** The key part of a resolved instance. */
export interface ResolvedApiKey {
  apiKey: string | undefined;
  apiKeySource: string | undefined;
  apiKeyEnvTried: string[];
  requiresApiKey: boolean;
}

// Keys pasted into .env files or read from secret files often carry a trailing newline, which
// turns into a 401 far from its cause; no provider key contains whitespace, so it is dropped.
function cleanKey(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

const ENV_NAME_LIKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/**
 * The key of provider instance `name`: `env:NAME` from the env, a literal as is, else the
 * descriptor's env vars in order. A missing key is no issue (readiness reports it); a literal that
 * looks like an env var name is.
 */
export function resolveApiKey(
  name: string,
  instance: Loose,
  descriptor: ProviderDescriptor,
  context: Context,
): ResolvedApiKey {
  const resolved = findApiKey(name, instance, descriptor, context);
  if (resolved.apiKey !== undefined) context.secrets.push(resolved.apiKey);
  const bad = resolved.apiKey === undefined ? -1 : resolved.apiKey.search(NOT_SENDABLE);
  if (bad >= 0) {
    // fetch would refuse the header at every send, as a retryable network error far from here.
    const from = resolved.apiKeySource === 'literal' ? 'apiKey' : resolved.apiKeySource;
    context.issues.add(
      ['providers', name, 'apiKey'],
      `contains a character that cannot be sent in an HTTP header (${describeChar(resolved.apiKey!, bad)} at position ${bad + 1}, from ${from})`,
      'copy the key again from the provider console; keys are plain ASCII with no spaces or line breaks inside',
      resolved.apiKey,
    );
  }
  return resolved;
}

/** Anything but visible ASCII: a key goes into a header, where fetch accepts no other text. */
const NOT_SENDABLE = /[^\x21-\x7e]/;

function describeChar(text: string, index: number): string {
  const code = text.charCodeAt(index);
  if (code === 0x20) return 'a space';
  if (code === 0x0a || code === 0x0d) return 'a line break';
  if (code < 0x20 || code === 0x7f) return 'a control character';
  return 'a non-ASCII character';
}

function findApiKey(
  name: string,
  instance: Loose,
  descriptor: ProviderDescriptor,
  context: Context,
): ResolvedApiKey {
  const configured = optionalString(instance.apiKey);
  const requiresApiKey = descriptor.auth.type !== 'none';

  if (configured !== undefined && configured.startsWith('env:')) {
    const envName = configured.slice(4);
    const value = cleanKey(context.env[envName]);
    return value
      ? { apiKey: value, apiKeySource: configured, apiKeyEnvTried: [], requiresApiKey }
      : { apiKey: undefined, apiKeySource: undefined, apiKeyEnvTried: [envName], requiresApiKey };
  }
  if (configured !== undefined) {
    if (ENV_NAME_LIKE.test(configured)) {
      context.issues.add(
        ['providers', name, 'apiKey'],
        'looks like an env var name, but without "env:" it would be sent as the key itself',
        "write 'env:' before the variable name to read the key from the environment",
        configured,
      );
    }
    return {
      apiKey: cleanKey(configured),
      apiKeySource: 'literal',
      apiKeyEnvTried: [],
      requiresApiKey,
    };
  }
  if (!requiresApiKey) {
    return { apiKey: undefined, apiKeySource: undefined, apiKeyEnvTried: [], requiresApiKey };
  }
  for (const envName of descriptor.auth.envVars) {
    const value = cleanKey(context.env[envName]);
    if (value) {
      return { apiKey: value, apiKeySource: `env:${envName}`, apiKeyEnvTried: [], requiresApiKey };
    }
  }
  return {
    apiKey: undefined,
    apiKeySource: undefined,
    apiKeyEnvTried: [...descriptor.auth.envVars],
    requiresApiKey,
  };
}

/** The first 12 hex chars of sha256(key), or `nokey`: tells credentials apart, reveals nothing. */
export function credentialFingerprint(apiKey: string | undefined): string {
  if (!apiKey) return 'nokey';
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 12);
}

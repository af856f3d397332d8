import { SluiceError } from '@sluice/core';

/** Backend options that a `redis://` URL may carry as query parameters. */
export interface RedisUrlOptions {
  keyPrefix?: string;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  reconnectGraceMs?: number;
  onUnavailable?: 'fail' | 'local-cap-1';
}

const NUMERIC = ['leaseTtlMs', 'heartbeatMs', 'reconnectGraceMs'] as const;
const OWN_PARAMS = new Set<string>([...NUMERIC, 'keyPrefix', 'onUnavailable']);

/**
 * Splits a budget URL into the URL ioredis connects to and the backend options in its query,
 * e.g. `redis://:pw@10.0.0.5:6379/0?leaseTtlMs=5000&onUnavailable=local-cap-1`. Other query
 * parameters are left for ioredis.
 *
 * @throws SluiceError kind `config` naming the parameter when a value is not accepted, or when
 *   the URL is not `redis://` or `rediss://`.
 */
export function parseRedisBudgetUrl(url: string): { connectUrl: string; options: RedisUrlOptions } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw urlError(url, 'is not a URL', 'write it as redis://host:6379 (or rediss:// for TLS)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw urlError(url, `has scheme "${parsed.protocol}"`, 'use redis:// or rediss://');
  }

  const options: RedisUrlOptions = {};
  for (const name of NUMERIC) {
    const raw = parsed.searchParams.get(name);
    if (raw === null) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw urlError(url, `has ${name}=${raw}`, `give ${name} a number of ms > 0`);
    }
    options[name] = value;
  }
  const keyPrefix = parsed.searchParams.get('keyPrefix');
  if (keyPrefix !== null) options.keyPrefix = keyPrefix;
  const onUnavailable = parsed.searchParams.get('onUnavailable');
  if (onUnavailable !== null) {
    if (onUnavailable !== 'fail' && onUnavailable !== 'local-cap-1') {
      throw urlError(url, `has onUnavailable=${onUnavailable}`, 'use fail or local-cap-1');
    }
    options.onUnavailable = onUnavailable;
  }

  for (const name of OWN_PARAMS) parsed.searchParams.delete(name);
  return { connectUrl: parsed.toString(), options };
}

/**
 * The URL as it may be shown: scheme, user, host, port and database, never the password or the
 * query. `redis://app:secret@10.0.0.5:6379/0` becomes `redis://app@10.0.0.5:6379/0`.
 */
export function displayRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${parsed.username}@` : '';
    const path = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : '';
    return `${parsed.protocol}//${user}${parsed.host}${path}`;
  } catch {
    // Not a URL: show only what comes before any '@', which is where a password would sit.
    const at = url.lastIndexOf('@');
    return at >= 0 ? `redis://…@${url.slice(at + 1).split(/[/?]/)[0]}` : 'redis://(unparsable url)';
  }
}

/** The password of a Redis URL, to scrub from error texts that quote it; undefined if none. */
export function redisUrlPassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

function urlError(url: string, problem: string, fix: string): SluiceError {
  return new SluiceError({
    kind: 'config',
    phase: 'config',
    message: `The Redis budget URL ${displayRedisUrl(url)} ${problem}.`,
    hint: `Fix: ${fix}.`,
  });
}

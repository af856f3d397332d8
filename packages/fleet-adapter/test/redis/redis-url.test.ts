import { describe, expect, it } from 'vitest';

import { SluiceError } from '@sluice/core';

import { LocalFairQueue } from '../../src/redis/local-fair-queue.js';
import { redisBudgetBackend } from '../../src/redis/index.js';
import { displayRedisUrl, parseRedisBudgetUrl } from '../../src/redis/redis-url.js';

describe('redis budget URLs', () => {
  it('shows scheme, user, host, port and database, never the password or the query', () => {
    expect(displayRedisUrl('redis://app:s3cret-pw@10.0.0.5:6379/2?leaseTtlMs=5000')).toBe(
      'redis://app@10.0.0.5:6379/2',
    );
    expect(displayRedisUrl('rediss://:only-a-password@cache.internal:6380')).toBe(
      'rediss://cache.internal:6380',
    );
    expect(displayRedisUrl('not a url but:pw@host:1')).not.toContain('pw@');
  });

  it('takes backend options from the query and leaves the rest for ioredis', () => {
    const parsed = parseRedisBudgetUrl(
      'redis://:pw@127.0.0.1:6391/0?leaseTtlMs=1500&heartbeatMs=400&keyPrefix=fleet%3A&onUnavailable=local-cap-1&reconnectGraceMs=3000&family=4',
    );
    expect(parsed.options).toEqual({
      leaseTtlMs: 1500,
      heartbeatMs: 400,
      reconnectGraceMs: 3000,
      keyPrefix: 'fleet:',
      onUnavailable: 'local-cap-1',
    });
    expect(parsed.connectUrl).toBe('redis://:pw@127.0.0.1:6391/0?family=4');
  });

  it.each([
    ['redis://h:1?leaseTtlMs=soon', 'leaseTtlMs=soon'],
    ['redis://h:1?onUnavailable=ignore', 'onUnavailable=ignore'],
    ['http://h:1', 'scheme "http:"'],
  ])('rejects %s with a config error naming the problem', (url, problem) => {
    let error: unknown;
    try {
      parseRedisBudgetUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(SluiceError.isInstance(error) && error.kind).toBe('config');
    expect((error as Error).message).toContain(problem);
  });

  it('rejects a backend without url or client, and a heartbeat not shorter than the TTL', () => {
    expect(() => redisBudgetBackend({})).toThrow(/needs a url/);
    expect(() =>
      redisBudgetBackend({ url: 'redis://127.0.0.1:1', leaseTtlMs: 1000, heartbeatMs: 1000 }),
    ).toThrow(/heartbeatMs \(1000\) must be shorter than leaseTtlMs/);
  });
});

describe('the local queue in front of Redis', () => {
  it('serves higher priority first, then sessions round-robin, FIFO inside a session', () => {
    const queue = new LocalFairQueue<string>();
    queue.push('a1', 'a', 0);
    queue.push('a2', 'a', 0);
    queue.push('a3', 'a', 0);
    queue.push('b1', 'b', 0);
    queue.push('c1', 'c', 0);
    queue.push('root', 'root', 10);
    expect(queue.remove('a2')).toBe(true);
    expect(queue.remove('a2')).toBe(false);

    const order: string[] = [];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) order.push(next);

    expect(order).toEqual(['root', 'a1', 'b1', 'c1', 'a3']);
    expect(queue.size).toBe(0);
  });

  it('serves sessions by share: 2 gets two grants per round, 0.5 one every other round', () => {
    const queue = new LocalFairQueue<string>();
    for (let i = 1; i <= 6; i++) queue.push(`h${i}`, 'heavy', 0, 2);
    for (let i = 1; i <= 3; i++) queue.push(`n${i}`, 'normal', 0);
    for (let i = 1; i <= 2; i++) queue.push(`s${i}`, 'slow', 0, 0.5);

    expect(queue.peek()).toBe('h1');
    expect(queue.peek()).toBe('h1');
    const order: string[] = [];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) order.push(next);

    // Round 1: heavy 2, normal 1, slow earns half a grant. Round 2: heavy 2, normal 1, slow 1.
    expect(order).toEqual(['h1', 'h2', 'n1', 'h3', 'h4', 'n2', 's1', 'h5', 'h6', 'n3', 's2']);
  });
});

import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';

import {
  SluiceError,
  createBudgetRegistry,
  createRouter,
  type Budget,
  type Lease,
} from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';

import { attachBudget } from '../../src/index.js';
import {
  redisBackends,
  redisBudgetBackend,
  type RedisBudgetBackend,
  type RedisBudgetBackendOptions,
} from '../../src/redis/index.js';
import { sleep, until } from '../helpers.js';
import { NO_REDIS, REDIS_URL, freePort, freshPrefix, inspector, ownRedis } from './redis-env.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One backend = one process's view: its own connections, its own id. */
function backendOn(prefix: string, options: Omit<RedisBudgetBackendOptions, 'url'> = {}) {
  const backend = redisBudgetBackend({ url: REDIS_URL!, keyPrefix: prefix, ...options });
  cleanups.push(() => backend.close());
  return backend;
}

function peek(): Redis {
  const client = inspector();
  cleanups.push(() => client.quit());
  return client;
}

/** Holds each lease `holdMs` and tracks how many are held at once across every budget. */
function tracker() {
  let now = 0;
  let peak = 0;
  return {
    get peak() {
      return peak;
    },
    async run(budget: Budget, holdMs: number) {
      const lease = await budget.acquire();
      now++;
      peak = Math.max(peak, now);
      await sleep(holdMs);
      now--;
      lease.release();
    },
  };
}

describe.skipIf(NO_REDIS)('redis budget backend', () => {
  it('never grants more than the limit under concurrent acquires from five connections', async () => {
    const prefix = freshPrefix();
    const budgets = Array.from({ length: 5 }, () => backendOn(prefix).open('glm', { limit: 3 }));
    const seen = tracker();

    await Promise.all(
      budgets.flatMap((budget) =>
        Array.from({ length: 12 }, (_, index) => seen.run(budget, 2 + (index % 4) * 3)),
      ),
    );

    expect(seen.peak).toBe(3);
    for (const budget of budgets) expect([budget.active, budget.pending]).toEqual([0, 0]);
    expect(await peek().zcard(`${prefix}glm:leases`)).toBe(0);
    expect(await peek().zcard(`${prefix}glm:waiters`)).toBe(0);
  });

  it('frees the lease of a holder that stops heartbeating once its TTL passed', async () => {
    const prefix = freshPrefix();
    const client = new Redis(REDIS_URL!, { maxRetriesPerRequest: 0 });
    const crashed = backendOn(prefix, { client, leaseTtlMs: 800 } as RedisBudgetBackendOptions);
    await crashed.ready();
    await crashed.open('glm', { limit: 1 }).acquire();
    // The "crash": the connection goes away for good, the lease is never released.
    client.disconnect();

    const other = backendOn(prefix, { leaseTtlMs: 800 }).open('glm', { limit: 1 });
    const startedAt = Date.now();
    const lease = await other.acquire();
    const waitedMs = Date.now() - startedAt;

    expect(waitedMs).toBeGreaterThan(300);
    expect(waitedMs).toBeLessThan(800 + 600);
    lease.release();
  });

  it('wakes a waiter in another process within ~50 ms of a release, without polling', async () => {
    const prefix = freshPrefix();
    const holder = backendOn(prefix).open('glm', { limit: 1 });
    const client = new Redis(REDIS_URL!, { maxRetriesPerRequest: 0 });
    cleanups.push(() => client.quit());
    let roundTrips = 0;
    const evalsha = client.evalsha.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { evalsha: typeof evalsha }).evalsha = (...args) => {
      roundTrips++;
      return evalsha(...args);
    };
    const waiterSide = backendOn(prefix, { client } as RedisBudgetBackendOptions);
    await waiterSide.ready();
    const waiter = waiterSide.open('glm', { limit: 1 });
    const look = peek();

    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      const lease = await holder.acquire();
      let releasedAt = 0;
      const granted = waiter.acquire().then((got) => {
        latencies.push(performance.now() - releasedAt);
        return got;
      });
      for (let tries = 0; (await look.zcard(`${prefix}glm:waiters`)) !== 1; tries++) {
        if (tries > 200) throw new Error('the waiter did not reach Redis');
        await sleep(5);
      }
      const tripsBefore = roundTrips;
      // A long hold: a polling waiter would ask Redis many times meanwhile.
      await sleep(round === 0 ? 1_500 : 100);
      if (round === 0) expect(roundTrips - tripsBefore).toBeLessThanOrEqual(1);
      releasedAt = performance.now();
      lease.release();
      (await granted).release();
      await until(() => waiter.active === 0);
    }

    latencies.sort((a, b) => a - b);
    expect(latencies[2]).toBeLessThan(50);
  });

  it('grants in arrival order across processes (FIFO), whatever process each waiter is in', async () => {
    const prefix = freshPrefix();
    const open = (): Budget => backendOn(prefix).open('glm', { limit: 1 });
    const [a, b, c] = [open(), open(), open()];
    const look = peek();
    const first = await a.acquire();

    const order: string[] = [];
    const arrivals: Array<[string, Budget]> = [
      ['c1', c],
      ['a1', a],
      ['b1', b],
      ['c2', c],
      ['b2', b],
      ['a2', a],
    ];
    const done: Promise<void>[] = [];
    for (const [index, [name, budget]] of arrivals.entries()) {
      done.push(
        budget.acquire().then((lease) => {
          order.push(name);
          lease.release();
        }),
      );
      // Each waiter is in line in Redis before the next one arrives.
      for (let tries = 0; (await look.zcard(`${prefix}glm:waiters`)) < index + 1; tries++) {
        if (tries > 400) throw new Error('waiter did not reach Redis');
        await sleep(5);
      }
    }
    first.release();
    await Promise.all(done);

    expect(order).toEqual(['c1', 'a1', 'b1', 'c2', 'b2', 'a2']);
  });

  it('keeps the in-process order inside one process: priority first, then sessions round-robin', async () => {
    const budget = backendOn(freshPrefix()).open('glm', { limit: 1 });
    const first = await budget.acquire();
    const order: string[] = [];
    const take = (name: string, options: { priority?: number; session?: string }) =>
      budget.acquire(options).then((lease: Lease) => {
        order.push(name);
        lease.release();
      });

    const done = [
      take('s1-a', { session: 's1' }),
      take('s1-b', { session: 's1' }),
      take('s1-c', { session: 's1' }),
      take('s2-a', { session: 's2' }),
      take('root', { session: 'root', priority: 10 }),
    ];
    await until(() => budget.pending === 5);
    first.release();
    await Promise.all(done);

    expect(order).toEqual(['root', 's1-a', 's2-a', 's1-b', 's1-c']);
  });

  it("serves each session's share inside one process: share 2 gets two grants per round", async () => {
    const budget = backendOn(freshPrefix()).open('glm', { limit: 1 });
    const first = await budget.acquire();
    const order: string[] = [];
    const take = (name: string, options: { session: string; share?: number }) =>
      budget.acquire(options).then((lease: Lease) => {
        order.push(name);
        lease.release();
      });

    const done = [
      ...['h1', 'h2', 'h3', 'h4'].map((name) => take(name, { session: 'heavy', share: 2 })),
      ...['l1', 'l2'].map((name) => take(name, { session: 'light' })),
    ];
    await until(() => budget.pending === 6);
    first.release();
    await Promise.all(done);

    expect(order).toEqual(['h1', 'h2', 'l1', 'h3', 'h4', 'l2']);
  });

  it('shares the limit through Redis: the stricter one wins on open, resize reaches every process', async () => {
    const prefix = freshPrefix();
    const a = backendOn(prefix).open('glm', { limit: 3 });
    (await a.acquire()).release();
    const b = backendOn(prefix).open('glm', { limit: 2 });
    (await b.acquire()).release();
    expect(await peek().get(`${prefix}glm:limit`)).toBe('2');

    a.resize(1);
    for (let tries = 0; (await peek().get(`${prefix}glm:limit`)) !== '1'; tries++) {
      if (tries > 200) throw new Error('resize did not reach Redis');
      await sleep(5);
    }
    const held = await a.acquire();
    const second = b.acquire();
    let granted = false;
    void second.then(() => (granted = true));
    await sleep(200);
    expect(granted).toBe(false);
    expect(b.limit).toBe(1);
    held.release();
    (await second).release();
  });

  it('shares a cooldown: a waiter in another process is not granted before it ends', async () => {
    const prefix = freshPrefix();
    const a = backendOn(prefix).open('glm', { limit: 2 });
    const b = backendOn(prefix).open('glm', { limit: 2 });
    (await b.acquire()).release();

    const untilMs = Date.now() + 400;
    a.cooldown(untilMs, 'HTTP 429');
    await sleep(50);
    const lease = await b.acquire();

    expect(Date.now()).toBeGreaterThanOrEqual(untilMs - 20);
    expect(b.cooldownUntil === 0 || b.cooldownUntil >= untilMs - 50).toBe(true);
    lease.release();
  });

  it('a waiter that times out leaves the line in Redis, so the process behind it moves up', async () => {
    const prefix = freshPrefix();
    const a = backendOn(prefix).open('glm', { limit: 1 });
    const b = backendOn(prefix).open('glm', { limit: 1 });
    const held = await a.acquire();

    const timedOut = b.acquire({ timeoutMs: 150 });
    await sleep(30);
    const behind = a.acquire();
    const error = await timedOut.catch((caught: unknown) => caught);
    expect(SluiceError.isInstance(error) && error.kind).toBe('queue-timeout');
    expect(b.pending).toBe(0);
    const look = peek();
    for (let tries = 0; (await look.zcard(`${prefix}glm:waiters`)) !== 1; tries++) {
      if (tries > 200) throw new Error('the timed-out ticket stayed in line');
      await sleep(5);
    }

    held.release();
    (await behind).release();
    expect(await look.zcard(`${prefix}glm:waiters`)).toBe(0);
  });

  it('an aborted waiter rejects with the signal reason and never holds a lease', async () => {
    const budget = backendOn(freshPrefix()).open('glm', { limit: 1 });
    const held = await budget.acquire();
    const controller = new AbortController();
    const waiting = budget.acquire({ signal: controller.signal });
    await sleep(20);
    controller.abort(new Error('user cancelled'));
    await expect(waiting).rejects.toThrow('user cancelled');
    expect([budget.active, budget.pending]).toEqual([1, 0]);
    held.release();
    await budget.onIdle();
  });

  it('fails fast with budget-unavailable naming the host, never the password, when Redis is unreachable', async () => {
    const port = await freePort();
    const backend = redisBudgetBackend({
      url: `redis://app:hunter2-not-shown@127.0.0.1:${port}/0`,
    });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 3 });

    const startedAt = performance.now();
    const error = await budget.acquire().catch((caught: unknown) => caught);
    const elapsedMs = performance.now() - startedAt;

    expect(elapsedMs).toBeLessThan(1_000);
    expect(SluiceError.isInstance(error) && error.kind).toBe('budget-unavailable');
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).not.toContain('hunter2');
    // The hint names a setting the route config accepts: a query parameter of the budget URL.
    expect((error as SluiceError).hint).toContain(
      'add ?onUnavailable=local-cap-1 to the budget URL',
    );
    expect(backend.health()).toMatchObject({ backend: 'redis', state: 'down' });
    expect(JSON.stringify(backend.health())).not.toContain('hunter2');
    expect(budget.health.state).toBe('down');
    expect(JSON.stringify(budget.health)).not.toContain('hunter2');
    // Later acquires fail at once too.
    const again = performance.now();
    await expect(budget.acquire()).rejects.toMatchObject({ kind: 'budget-unavailable' });
    expect(performance.now() - again).toBeLessThan(50);
  });

  it('the hint works as written: ?onUnavailable=local-cap-1 on the budget URL runs one at a time', async () => {
    const port = await freePort();
    const backend = redisBudgetBackend({
      url: `redis://127.0.0.1:${port}?onUnavailable=local-cap-1`,
    });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 3 });
    const seen = tracker();

    await Promise.all(Array.from({ length: 3 }, () => seen.run(budget, 20)));

    expect(seen.peak).toBe(1);
    expect(budget.health.state).toBe('degraded');
  });

  it('with onUnavailable local-cap-1 runs one request at a time while Redis is unreachable', async () => {
    const port = await freePort();
    const backend = redisBudgetBackend({
      url: `redis://127.0.0.1:${port}`,
      onUnavailable: 'local-cap-1',
    });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 3 });
    const seen = tracker();

    await Promise.all(Array.from({ length: 5 }, () => seen.run(budget, 20)));

    expect(seen.peak).toBe(1);
    expect(budget.health.state).toBe('degraded');
    expect(budget.health.detail).toContain('local cap of 1');
  });

  it('registers the leases it took on the local cap in Redis once Redis is back, before granting more', async () => {
    const own = await ownRedis();
    cleanups.push(() => own.stop());
    const prefix = freshPrefix();
    const backend = redisBudgetBackend({
      url: own.url,
      keyPrefix: prefix,
      onUnavailable: 'local-cap-1',
    });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 2 });
    const offline = await budget.acquire();
    expect(backend.health().state).toBe('down');

    await own.start();
    await until(() => backend.health().state === 'ok', 10_000);
    const look = inspector(own.url);
    cleanups.push(() => look.quit());
    expect(await look.zcard(`${prefix}glm:leases`)).toBe(1);

    const other = redisBudgetBackend({ url: own.url, keyPrefix: prefix });
    cleanups.push(() => other.close());
    const otherBudget = other.open('glm', { limit: 2 });
    const second = await otherBudget.acquire();
    let thirdGranted = false;
    const third = otherBudget.acquire().then((lease) => {
      thirdGranted = true;
      return lease;
    });
    await sleep(150);
    expect(thirdGranted).toBe(false);
    offline.release();
    (await third).release();
    second.release();
  });

  it('redisBackends() gives routes with budget.backend redis one backend per URL, healthy once connected', async () => {
    const prefix = freshPrefix();
    const url = `${REDIS_URL}?keyPrefix=${encodeURIComponent(prefix)}`;
    const backends = redisBackends();
    cleanups.push(() => backends.redis.closeAll());
    const config = {
      providers: {
        glm: {
          use: 'zhipu',
          endpoint: 'http://127.0.0.1:9/api/paas/v4',
          apiKey: 'sk-route-config-test-0001',
          maxConcurrency: 2,
          budget: { backend: 'redis', url },
        },
      },
      routes: { main: { provider: 'glm', model: 'glm-4.6' } },
    };
    const router = createRouter({ config, providers: [zhipu], budgetBackends: backends });
    cleanups.push(() => router.close());
    const second = createRouter({ config, providers: [zhipu], budgetBackends: backends });
    cleanups.push(() => second.close());

    const budget = router.budgets.get(router.route().budgetKey, { limit: 2 });
    expect(budget.backend).toBe('redis');
    expect(second.budgets.get(router.route().budgetKey, { limit: 2 })).toBe(budget);
    expect(backends.redis.backends()).toHaveLength(1);
    const backend = backends.redis.backends()[0]!;
    await backend.ready();
    (await budget.acquire()).release();
    expect(backend.health()).toEqual({ backend: 'redis', state: 'ok', url: REDIS_URL });
    expect(budget.health).toMatchObject({ state: 'ok' });
  });

  it('attachBudget() with SLUICE_BUDGET=redis://... returns a registry on Redis', async () => {
    const prefix = freshPrefix();
    const url = `${REDIS_URL}?keyPrefix=${encodeURIComponent(prefix)}&leaseTtlMs=3000`;
    const attached = attachBudget({ env: { SLUICE_BUDGET: url } });
    cleanups.push(() => attached.close());
    await attached.ready();
    const budget = attached.get('glm', { limit: 2 });
    const lease = await budget.acquire();

    expect(attached.backend.name).toBe('redis');
    expect(budget.backend).toBe('redis');
    expect(await peek().zcard(`${prefix}glm:leases`)).toBe(1);
    const ttl = Number((await peek().zrange(`${prefix}glm:leases`, 0, 0, 'WITHSCORES'))[1]);
    const [seconds, micros] = await peek().time();
    const leftMs = ttl - (Number(seconds) * 1000 + Number(micros) / 1000);
    expect(leftMs).toBeGreaterThan(2_000);
    expect(leftMs).toBeLessThanOrEqual(3_000);
    lease.release();
  });

  it('works as the backend of a core budget registry: one budget per key', () => {
    const backend: RedisBudgetBackend = backendOn(freshPrefix());
    const registry = createBudgetRegistry({ backend });
    expect(registry.get('glm', { limit: 2 })).toBe(registry.get('glm', { limit: 2 }));
    expect(registry.get('glm', { limit: 2 }).backend).toBe('redis');
  });
});

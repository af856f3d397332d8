// A cancel is permanent on a fleet whose budgets live on Redis too (trial: next task ran after
// cancel): new requests of a cancelled session and of its children take no lease in Redis and
// reach no provider.
import { afterEach, describe, expect, it } from 'vitest';

import { SluiceError, createRouter } from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator } from '@sluice/simulator';

import { createFleet } from '../../src/index.js';
import { redisBackends } from '../../src/redis/index.js';
import { sleep, until } from '../helpers.js';
import { NO_REDIS, REDIS_URL, freshPrefix, inspector } from './redis-env.js';

const API_KEY = 'sk-redis-cancel-test-key-0001';
const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(NO_REDIS)(
  'cancel is permanent on Redis budgets (trial: next task ran after cancel)',
  () => {
    it('after cancel, a new chat on the session and on a child rejects aborted and takes no lease in Redis', async () => {
      const sim = await startSimulator({
        ceiling: 1,
        mode: 'reject',
        source: 'generate',
        outputTokens: 12,
        tokensPerSecond: 200,
        thinkingPauseMs: 30_000,
      });
      cleanups.push(() => sim.close());
      const prefix = freshPrefix();
      const backends = redisBackends();
      cleanups.push(() => backends.redis.closeAll());
      const config = {
        providers: {
          glm: {
            use: 'zhipu',
            endpoint: sim.baseURL,
            apiKey: API_KEY,
            maxConcurrency: 1,
            budget: {
              backend: 'redis',
              url: `${REDIS_URL}?keyPrefix=${encodeURIComponent(prefix)}`,
            },
          },
        },
        routes: { default: { provider: 'glm', model: 'glm-4.6' } },
        retry: { maxAttempts: 1 },
      };
      const router = createRouter({ config, providers: [zhipu], budgetBackends: backends });
      cleanups.push(() => router.close());
      const fleet = createFleet({ router });
      cleanups.push(() => fleet.close());
      const budget = router.budgets.get(router.route().budgetKey, { limit: 1 });
      expect(budget.backend).toBe('redis');
      const look = inspector();
      cleanups.push(() => look.quit());
      /** Leases and waiters in Redis under this test's prefix. */
      const inRedis = async () => {
        let count = 0;
        for (const key of await look.keys(`${prefix}*`)) {
          if ((await look.type(key)) === 'zset') count += await look.zcard(key);
        }
        return count;
      };

      const session = fleet.root.spawn('search');
      const first = session.chat(hello).text();
      await until(() => budget.active === 1 && sim.stats().requests === 1, 10_000);
      expect(await inRedis()).toBeGreaterThan(0);

      session.cancel();
      await expect(first).rejects.toMatchObject({ kind: 'aborted' });
      await until(() => budget.active === 0);
      const signal = session.signal;
      const child = session.spawn('tests');
      for (const target of [session, child]) {
        const error = await target
          .chat(hello)
          .text()
          .catch((e: unknown) => e);
        expect(SluiceError.isInstance(error)).toBe(true);
        expect((error as SluiceError).kind).toBe('aborted');
        expect((error as SluiceError).message).toContain(`"${target.id}" was cancelled`);
        expect(target.signal.aborted).toBe(true);
      }
      expect(session.signal).toBe(signal);
      await until(() => budget.pending === 0);
      expect(budget.active).toBe(0);
      // The released lease leaves Redis (one round trip later) and no new one was taken.
      const deadline = Date.now() + 5_000;
      while ((await inRedis()) > 0 && Date.now() < deadline) await sleep(20);
      expect(await inRedis()).toBe(0);
      expect(sim.stats().requests).toBe(1);
    });
  },
);

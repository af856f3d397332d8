import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { startSimulator, type Simulator } from '@sluice/simulator';

import { redisBudgetBackend } from '../../src/redis/index.js';
import { nextReport, type Report } from '../helpers.js';
import {
  NO_REDIS,
  REDIS_URL,
  freshPrefix,
  inspector,
  ownRedis,
  type OwnRedis,
} from './redis-env.js';

// Real child processes load the built dist (nx builds it before `npm test`; by hand: `npx tsup`
// in packages/core, provider-zhipu and fleet-adapter).
const CLIENT = fileURLToPath(new URL('./fixtures/redis-chat-client.mjs', import.meta.url));
const API_KEY = 'sk-redis-fleet-test-key-0001';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(): Promise<Simulator> {
  // `reject` past the ceiling: an over-admitted request would also show as a 429 failure.
  const sim = await startSimulator({
    ceiling: 3,
    mode: 'reject',
    source: 'generate',
    outputTokens: 30,
    tokensPerSecond: 300,
  });
  cleanups.push(() => sim.close());
  return sim;
}

/** The same route config in every process, so they share one budget key. */
function routeConfig(sim: Simulator, budgetUrl?: string) {
  return {
    providers: {
      glm: {
        use: 'zhipu',
        endpoint: sim.baseURL,
        apiKey: API_KEY,
        maxConcurrency: 3,
        // No retries: a 429 from an over-admission must show as a failure, not be hidden.
        retry: { maxAttempts: 1 },
        ...(budgetUrl ? { budget: { backend: 'redis', url: budgetUrl } } : {}),
      },
    },
    routes: { main: { provider: 'glm', model: 'glm-4.6' } },
  };
}

function budgetUrl(base: string, prefix: string, extra = ''): string {
  return `${base}?keyPrefix=${encodeURIComponent(prefix)}&leaseTtlMs=1000${extra}`;
}

function start(plan: Record<string, unknown>, env: Record<string, string> = {}): ChildProcess {
  const child = fork(CLIENT, [JSON.stringify(plan)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function runFleet(options: {
  sim: Simulator;
  url: string;
  wirings: Array<'attach' | 'config'>;
  requests: number;
  /** Called after each completed request with the completed count of every process. */
  onProgress?: (completed: number[]) => void;
}) {
  const completed = options.wirings.map(() => 0);
  const children = options.wirings.map((wiring, index) => {
    const config = routeConfig(options.sim, wiring === 'config' ? options.url : undefined);
    const child = start(
      { action: 'chat', wiring, config, concurrency: 4, requests: options.requests },
      wiring === 'attach' ? { SLUICE_BUDGET: options.url } : {},
    );
    child.on('message', (message: Report) => {
      if (message.type !== 'progress') return;
      completed[index] = (completed[index] ?? 0) + 1;
      options.onProgress?.(completed);
    });
    return child;
  });
  const reports = await Promise.all(
    children.map((child) =>
      Promise.race([
        nextReport(child, 'done', 60_000),
        exited(child).then(() => {
          throw new Error(`a fleet process exited early (code ${String(child.exitCode)})`);
        }),
      ]),
    ),
  );
  await Promise.all(children.map(exited));
  return reports as Array<Report & { completed: number; failures: unknown[]; backend: string }>;
}

describe.skipIf(NO_REDIS)('redis budget across processes', () => {
  it('three processes x 4 concurrent streams at budget 3: peak in flight at the server <= 3, all complete', async () => {
    const sim = await simulator();
    const url = budgetUrl(REDIS_URL!, freshPrefix());

    const reports = await runFleet({
      sim,
      url,
      wirings: ['attach', 'attach', 'config'],
      requests: 6,
    });

    for (const report of reports) {
      expect(JSON.stringify(report.failures)).toBe('[]');
      expect(report.completed).toBe(6);
      expect(report.backend).toBe('redis');
    }
    const stats = sim.stats();
    expect(stats.completed).toBe(18);
    expect(stats.rejected).toBe(0);
    expect(stats.peakInFlight).toBeLessThanOrEqual(3);
    // The budget was actually used up, not idle: the server saw the full 3 at some point.
    expect(stats.peakInFlight).toBe(3);
  }, 60_000);

  it('kill -9 of a process holding leases: they are free again within the TTL', async () => {
    const prefix = freshPrefix();
    const url = budgetUrl(REDIS_URL!, prefix);
    const holder = start(
      { action: 'hold', key: 'glm', limit: 2, leases: 2 },
      { SLUICE_BUDGET: url },
    );
    await nextReport(holder, 'holding');

    const backend = redisBudgetBackend({ url: REDIS_URL!, keyPrefix: prefix, leaseTtlMs: 1_000 });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 2 });
    const killedAt = Date.now();
    holder.kill('SIGKILL');
    await exited(holder);
    const leases = await Promise.all([budget.acquire(), budget.acquire()]);
    const recoveredMs = Date.now() - killedAt;

    // The leases expire 1000 ms after the holder's last heartbeat, which came before the kill;
    // the margin is for a busy machine (connecting, scheduling), not for the TTL.
    expect(recoveredMs).toBeLessThan(1_000 + 500);
    expect(budget.active).toBe(2);
    for (const lease of leases) lease.release();
  });

  it('kill -9 of a process waiting in line: its place expires within the TTL, the next in line is served', async () => {
    const prefix = freshPrefix();
    const url = budgetUrl(REDIS_URL!, prefix);
    const backend = redisBudgetBackend({ url: REDIS_URL!, keyPrefix: prefix, leaseTtlMs: 1_000 });
    cleanups.push(() => backend.close());
    const budget = backend.open('glm', { limit: 1 });
    const held = await budget.acquire();
    const look = inspector();
    cleanups.push(() => look.quit());
    const inLine = async (count: number) => {
      for (let tries = 0; (await look.zcard(`${prefix}glm:waiters`)) !== count; tries++) {
        if (tries > 2_000) throw new Error(`the line never had ${count} waiters`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    const waiter = start({ action: 'wait', key: 'glm', limit: 1 }, { SLUICE_BUDGET: url });
    await inLine(1);
    const behind = budget.acquire();
    await inLine(2);
    const killedAt = Date.now();
    waiter.kill('SIGKILL');
    await exited(waiter);
    held.release();
    (await behind).release();
    const servedMs = Date.now() - killedAt;

    // FIFO held: the dead waiter kept its place (so `behind` waited) until its entry expired.
    expect(servedMs).toBeGreaterThan(300);
    expect(servedMs).toBeLessThan(1_000 + 500);
    expect(await look.zcard(`${prefix}glm:waiters`)).toBe(0);
  });

  it('Redis restarts mid-run: no over-admission after the reconnect, and the run completes', async () => {
    const redis: OwnRedis = await ownRedis();
    await redis.start();
    cleanups.push(() => redis.stop());
    const sim = await simulator();
    // A long reconnect grace: waiting acquires ride out the restart instead of failing.
    const prefix = freshPrefix();
    const url = budgetUrl(redis.url, prefix, '&reconnectGraceMs=10000');
    const epochs: Array<string | null> = [];
    const readEpoch = async () => {
      const client = inspector(redis.url);
      epochs.push(await client.get(`${prefix}epoch`));
      await client.quit();
    };

    let restarted: Promise<void> | undefined;
    let restartedAt = 0;
    const reports = await runFleet({
      sim,
      url,
      wirings: ['attach', 'attach', 'attach'],
      requests: 12,
      onProgress: (completed) => {
        // Every process is connected and streaming before Redis goes away (a process whose
        // FIRST connection fails is told so at once, which is another test).
        if (restarted || completed.some((count) => count < 2)) return;
        restarted = (async () => {
          await readEpoch();
          await redis.stop();
          await redis.start();
          restartedAt = sim.stats().completed;
        })();
      },
    });
    await restarted;
    await readEpoch();

    expect(restarted).toBeDefined();
    // The processes noticed the lost data set and rebuilt it (with a new epoch) after the restart.
    expect(epochs[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(epochs[1]).toMatch(/^[0-9a-f]{16}$/);
    expect(epochs[1]).not.toBe(epochs[0]);
    for (const report of reports) {
      expect(JSON.stringify(report.failures)).toBe('[]');
      expect(report.completed).toBe(12);
    }
    const stats = sim.stats();
    expect(stats.completed).toBe(36);
    expect(stats.rejected).toBe(0);
    expect(stats.peakInFlight).toBeLessThanOrEqual(3);
    // Most of the run happened after the restart.
    expect(restartedAt).toBeLessThan(30);
  }, 60_000);
});

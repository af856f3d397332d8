import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { Redis } from 'ioredis';

/**
 * The Redis the tests run against: `SLUICE_TEST_REDIS_URL` (CI starts one). Without it the Redis
 * tests are skipped with a loud warning on a developer machine, and FAIL under CI, where a
 * missing Redis must never pass as green.
 */
export const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL;

if (REDIS_URL === undefined || REDIS_URL === '') {
  if (process.env.CI) {
    throw new Error(
      'SLUICE_TEST_REDIS_URL is not set under CI: the Redis budget tests need a Redis server. .ci/run starts one; set SLUICE_TEST_REDIS_URL=redis://127.0.0.1:6391.',
    );
  }
  console.warn(
    '\n!!! SKIPPING the Redis budget tests: SLUICE_TEST_REDIS_URL is not set. Start redis-server and set SLUICE_TEST_REDIS_URL=redis://127.0.0.1:6379 to run them. !!!\n',
  );
}

/** True when the Redis tests cannot run here (never under CI: see above). */
export const NO_REDIS = REDIS_URL === undefined || REDIS_URL === '';

/** A key prefix no other test (or earlier run) uses. */
export function freshPrefix(): string {
  return `sluice-test:${randomBytes(5).toString('hex')}:`;
}

/** A plain client for looking at what the backend wrote. */
export function inspector(url = REDIS_URL!): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** A free loopback port (closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A redis-server of the test's own, which it may stop and start again on the same port. */
export interface OwnRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The redis-server binary: `SLUICE_TEST_REDIS_SERVER` (CI sets it), else `redis-server`. */
export const REDIS_SERVER = process.env.SLUICE_TEST_REDIS_SERVER || 'redis-server';

/** Prepares (does not start) a redis-server without persistence on a free port. */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    async start() {
      child = spawn(
        REDIS_SERVER,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const probe = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => undefined);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await probe.connect();
          await probe.ping();
          probe.disconnect();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
  };
}

// Lease acquire + release round trips through Redis on loopback: the Sluice Redis budget against
// Bottleneck's Redis-clustered limiter (datastore 'ioredis'), same Redis, same run. Reports round
// trips per second with many acquires in flight, with and without contention, and the latency of
// one acquire in a sequential acquire/release loop (p50, p99).
//
// Needs a Redis: SLUICE_TEST_REDIS_URL, else a redis-server on PATH started here on a free port;
// with neither, it writes a result row saying it was not run (and exits 0).
// Run: cd packages/fleet-adapter && node --expose-gc --import jiti/register bench/redis-budget.bench.ts
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';

import { redisBudgetBackend } from '../src/redis/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '../../../bench-results');
const TITLE = 'Redis budget: acquire + release round trips on loopback Redis';

interface Scenario {
  name: string;
  limit: number;
  lanes: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'uncontended (limit 64, 64 in flight)', limit: 64, lanes: 64 },
  { name: 'contended (limit 4, 32 in flight)', limit: 4, lanes: 32 },
];
const THROUGHPUT_MS = 4_000;
const LATENCY_ITERATIONS = 1_500;
const WARMUP_ITERATIONS = 200;

/** One limiter under test: take a slot, then give it back. */
interface Subject {
  /** Resolves when the slot is held; the returned function gives it back. */
  take(): Promise<() => void>;
  close(): Promise<void>;
}

interface Measured {
  roundTripsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

async function sluice(url: string, limit: number): Promise<Subject> {
  const backend = redisBudgetBackend({
    url,
    keyPrefix: `bench:${randomBytes(4).toString('hex')}:`,
  });
  await backend.ready();
  const budget = backend.open('glm', { limit });
  return {
    async take() {
      const lease = await budget.acquire();
      return () => lease.release();
    },
    close: () => backend.close(),
  };
}

async function bottleneck(url: string, limit: number): Promise<Subject> {
  const { hostname, port } = new URL(url);
  const limiter = new Bottleneck({
    id: `bench-${randomBytes(4).toString('hex')}`,
    maxConcurrent: limit,
    datastore: 'ioredis',
    clearDatastore: true,
    clientOptions: { host: hostname, port: Number(port || 6379) },
  });
  await limiter.ready();
  return {
    take() {
      // A job runs while it holds the slot: resolve with a function that ends the job.
      return new Promise<() => void>((resolveTake, rejectTake) => {
        limiter
          .schedule(() => new Promise<void>((endJob) => resolveTake(() => endJob())))
          .catch(rejectTake);
      });
    },
    async close() {
      await limiter.disconnect(true);
    },
  };
}

async function throughput(subject: Subject, lanes: number): Promise<number> {
  let count = 0;
  const deadline = performance.now() + THROUGHPUT_MS;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < deadline) {
        const release = await subject.take();
        release();
        count++;
      }
    }),
  );
  return count / ((performance.now() - startedAt) / 1_000);
}

async function latency(subject: Subject): Promise<{ p50Us: number; p99Us: number }> {
  const samples: number[] = [];
  for (let index = 0; index < WARMUP_ITERATIONS + LATENCY_ITERATIONS; index++) {
    const startedAt = performance.now();
    const release = await subject.take();
    const tookUs = (performance.now() - startedAt) * 1_000;
    release();
    if (index >= WARMUP_ITERATIONS) samples.push(tookUs);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50Us: at(0.5), p99Us: at(0.99) };
}

async function measure(
  make: (url: string, limit: number) => Promise<Subject>,
  url: string,
  scenario: Scenario,
): Promise<Measured> {
  const forThroughput = await make(url, scenario.limit);
  const roundTripsPerSecond = await throughput(forThroughput, scenario.lanes);
  await forThroughput.close();
  const forLatency = await make(url, scenario.limit);
  const { p50Us, p99Us } = await latency(forLatency);
  await forLatency.close();
  return { roundTripsPerSecond, p50Us, p99Us };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** SLUICE_TEST_REDIS_URL, or a redis-server of our own; undefined when there is neither. */
async function findRedis(): Promise<{ url: string; stop: () => void } | undefined> {
  const given = process.env.SLUICE_TEST_REDIS_URL;
  if (given) return { url: given, stop: () => undefined };

  const binary = process.env.SLUICE_TEST_REDIS_SERVER || 'redis-server';
  if (spawnSync(binary, ['--version']).status !== 0) return undefined;
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  for (let tries = 0; ; tries++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, stop: () => child.kill('SIGKILL') };
}

function write(rows: Array<Record<string, unknown>>, notes: string[]): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'redis-budget.json'),
    `${JSON.stringify({ title: TITLE, date: new Date().toISOString(), rows, notes }, null, 2)}\n`,
  );
  console.table(rows);
  for (const note of notes) console.log(`- ${note}`);
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

const redis = await findRedis();
if (redis === undefined) {
  write(
    [{ library: 'all', scenario: 'not run', 'round trips/s': null, note: 'no Redis available' }],
    [
      'Not run: SLUICE_TEST_REDIS_URL is not set and no redis-server is on PATH. Install redis-server (or set SLUICE_TEST_REDIS_URL) and run `npm run bench` again.',
    ],
  );
} else {
  try {
    const loadAtStart = loadavg()[0] ?? 0;
    const rows: Array<Record<string, unknown>> = [];
    const notes: string[] = [];
    for (const scenario of SCENARIOS) {
      const ours = await measure(sluice, redis.url, scenario);
      const theirs = await measure(bottleneck, redis.url, scenario);
      for (const [library, result] of [
        ['@sluice/fleet-adapter/redis', ours],
        ['bottleneck (ioredis datastore)', theirs],
      ] as const) {
        rows.push({
          library,
          scenario: scenario.name,
          'round trips/s': Math.round(result.roundTripsPerSecond),
          'acquire p50 µs': round(result.p50Us),
          'acquire p99 µs': round(result.p99Us),
        });
      }
      notes.push(
        `${scenario.name}: Sluice ${round(ours.roundTripsPerSecond / theirs.roundTripsPerSecond, 2)}x Bottleneck's round trips/s; acquire p50 ${round(ours.p50Us / theirs.p50Us, 2)}x, p99 ${round(ours.p99Us / theirs.p99Us, 2)}x of Bottleneck's (lower is faster).`,
      );
    }
    notes.push(
      `Throughput: ${THROUGHPUT_MS} ms per library and scenario, every lane acquiring and releasing in a loop. Latency: ${LATENCY_ITERATIONS} sequential acquires (after ${WARMUP_ITERATIONS} warm-up), each after the previous release.`,
      `Both on one loopback Redis (${new URL(redis.url).host}), one process. Load average ${round(loadAtStart)} at start on ${cpus().length} cores: the machine is shared, so p99 mostly measures scheduling delay.`,
    );
    write(rows, notes);
  } finally {
    redis.stop();
  }
}

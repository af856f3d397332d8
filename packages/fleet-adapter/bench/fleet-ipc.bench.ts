// Lease acquire + release round trips across the budget channels of @sluice/fleet-adapter: a
// worker thread (MessagePort), a forked child (IPC) and a separate process on the Unix-socket
// broker, against the in-process budget in the same run. Reports round trips per second with 64
// acquires in flight (frames are batched per event-loop turn) and the latency one lone acquire
// adds (p50, p99). Target: >= 20,000 round trips/s on every channel.
//
// The client side loads the built dist (nx builds before `npm run bench`).
// Run: cd packages/fleet-adapter && node --expose-gc --import jiti/register bench/fleet-ipc.bench.ts
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createBudgetRegistry } from '@sluice/core';
import {
  createBudgetServer,
  serveBudgetBroker,
  spawnBudgetProcess,
  spawnBudgetWorker,
} from '@sluice/fleet-adapter';

import { measureRoundTrips } from './round-trips.mjs';

interface Result {
  p50Us: number;
  p99Us: number;
  roundTripsPerSecond: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '../../../bench-results');
const CLIENT = join(here, 'fleet-ipc-client.mjs');
const TARGET = 20_000;

const plan = {
  key: 'bench:ipc',
  limit: Number(process.env.BENCH_CONCURRENCY ?? 64),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 64),
  warmupIterations: 2_000,
  latencyIterations: 5_000,
  throughputIterations: 100_000,
};

function onResult(source: NodeJS.EventEmitter): Promise<Result> {
  return new Promise((resolve, reject) => {
    source.once('error', reject);
    source.on('message', (message: { type?: string } & Result) => {
      if (message.type === 'result') resolve(message);
    });
  });
}

async function inProcess(): Promise<Result> {
  const registry = createBudgetRegistry();
  return measureRoundTrips(registry.get(plan.key, { limit: plan.limit }), plan);
}

async function workerThread(): Promise<Result> {
  const server = createBudgetServer(createBudgetRegistry());
  const spawned = spawnBudgetWorker(server, CLIENT, { workerData: plan });
  const result = await onResult(spawned.worker);
  await spawned.exited;
  return result;
}

async function childProcess(): Promise<Result> {
  const server = createBudgetServer(createBudgetRegistry());
  const spawned = spawnBudgetProcess(server, CLIENT, [JSON.stringify(plan)]);
  const result = await onResult(spawned.child);
  await spawned.exited;
  return result;
}

async function socketBroker(): Promise<Result> {
  const broker = await serveBudgetBroker(createBudgetRegistry(), { advertise: false });
  try {
    const child = spawn(process.execPath, [CLIENT, JSON.stringify(plan)], {
      env: { ...process.env, ...broker.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`socket client exited with ${String(code)}`);
    return JSON.parse(stdout.trim()) as Result;
  } finally {
    await broker.close();
  }
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

const loadAtStart = loadavg()[0] ?? 0;
const baseline = await inProcess();
const channels: Array<[string, Result]> = [['in-process (memory)', baseline]];
channels.push(['worker thread (MessagePort)', await workerThread()]);
channels.push(['child process (IPC)', await childProcess()]);
channels.push(['socket broker (unix, NDJSON)', await socketBroker()]);

const rows = channels.map(([channel, result]) => ({
  channel,
  'round trips/s': Math.round(result.roundTripsPerSecond),
  'acquire p50 µs': round(result.p50Us),
  'acquire p99 µs': round(result.p99Us),
  'added p50 µs': round(result.p50Us - baseline.p50Us),
  'added p99 µs': round(result.p99Us - baseline.p99Us),
  'vs in-process': `${round(result.roundTripsPerSecond / baseline.roundTripsPerSecond, 3)}x`,
}));
const remote = channels.slice(1);
const notes = [
  `${plan.concurrency} acquires in flight, limit ${plan.limit}, ${plan.throughputIterations} round trips per channel; latency over ${plan.latencyIterations} lone acquires.`,
  `Load average ${round(loadAtStart)} at start on ${cpus().length} cores: the machine is shared, so p99 mostly measures scheduling delay.`,
  ...remote.map(
    ([channel, result]) =>
      `${channel}: ${Math.round(result.roundTripsPerSecond)} round trips/s, ${result.roundTripsPerSecond >= TARGET ? 'meets' : 'MISSES'} the ${TARGET}/s target; ratio to in-process ${round(result.roundTripsPerSecond / baseline.roundTripsPerSecond, 3)}x.`,
  ),
];

mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'fleet-ipc.json'),
  `${JSON.stringify(
    {
      title: 'Fleet budget channels: acquire + release round trips',
      date: new Date().toISOString(),
      rows,
      notes,
    },
    null,
    2,
  )}\n`,
);
console.table(rows);
for (const note of notes) console.log(`- ${note}`);

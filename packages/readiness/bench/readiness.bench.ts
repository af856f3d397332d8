// What readiness costs the request path and the dashboard.
//
// 1. Ingest: the tracker is a router subscriber, and router listeners run synchronously inside
//    the request, so `record()` is on the hot path. Each task feeds one request's five events
//    (start, lease, first token, release, end) in batches; the peer is what a user would write
//    instead for the same percentiles: prom-client Histogram.observe for TTFT and lease wait plus
//    a Counter.inc per outcome, in a registry of its own.
// 2. Projection: snapshot() of 20 routes on 5 budget keys with full windows (200 samples each)
//    and a 5-minute history, then toReadinessJSON (what every SSE push costs) and /metrics.
//
// Run: cd packages/readiness && node --expose-gc --import jiti/register bench/readiness.bench.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SluiceEvent } from '@sluice/core';
import { Counter, Histogram, Registry } from 'prom-client';
import { Bench } from 'tinybench';
import { createReadinessMetrics, createReadinessTracker, toReadinessJSON } from '../src/index.js';
import { eventsFor, makeRoute } from '../test/support/make-route.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '../../../bench-results');
const REQUESTS_PER_TASK = 1000;

const routes = Array.from({ length: 20 }, (_, i) =>
  makeRoute({ name: `route-${i}`, instance: `glm${i % 5}`, budgetKey: `glm${i % 5}:abc` }),
);
const batch: SluiceEvent[] = routes.flatMap((route) => {
  const ev = eventsFor(route);
  return Array.from({ length: REQUESTS_PER_TASK / routes.length }, (_, i) =>
    ev.success(1_750_000_000_000 + i, { ttftMs: 100 + (i % 400), waitedMs: i % 50 }),
  ).flat();
});

type Row = Record<string, string | number>;

async function main(): Promise<void> {
  const tracker = createReadinessTracker({ routes, sampleIntervalMs: 1000 });
  const registry = new Registry();
  const ttft = new Histogram({
    name: 'ttft_seconds',
    help: 'ttft',
    labelNames: ['route'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'wait_seconds',
    help: 'wait',
    labelNames: ['budget'],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'outcomes_total',
    help: 'outcomes',
    labelNames: ['route', 'outcome'],
    registers: [registry],
  });
  const peer = (event: SluiceEvent) => {
    if (event.type === 'first-token') ttft.observe({ route: event.route }, event.ttftMs / 1000);
    else if (event.type === 'lease-acquired') {
      wait.observe({ budget: event.budgetKey }, event.waitedMs / 1000);
    } else if (event.type === 'request-end') {
      outcomes.inc({ route: event.route, outcome: event.outcome });
    }
  };

  // Fill every window and 300 history samples before measuring the projection.
  for (const event of batch) tracker.record(event);
  const metrics = createReadinessMetrics({ snapshot: () => tracker.snapshot() });

  const bench = new Bench({ time: 1_500, warmupTime: 300 });
  bench
    .add('ingest | readiness tracker', () => {
      for (const event of batch) tracker.record(event);
    })
    .add('ingest | prom-client histograms', () => {
      for (const event of batch) peer(event);
    })
    .add('snapshot() 20 routes', () => {
      tracker.snapshot();
    })
    .add('snapshot + toReadinessJSON (one SSE push)', () => {
      toReadinessJSON(tracker.snapshot(), 0);
    })
    .add('/metrics render', async () => {
      await metrics.render();
    });
  await bench.run();

  const mean = (name: string) => {
    const task = bench.tasks.find((candidate) => candidate.name === name);
    const latency = task?.result?.latency.mean;
    if (latency === undefined) throw new Error(`bench task "${name}" has no result`);
    return latency;
  };
  const perEventNs = (name: string) => (mean(name) * 1e6) / batch.length;
  const ours = perEventNs('ingest | readiness tracker');
  const theirs = perEventNs('ingest | prom-client histograms');
  const rows: Row[] = [
    { scenario: 'ingest per event', library: 'readiness', value: Math.round(ours), unit: 'ns' },
    { scenario: 'ingest per event', library: 'prom-client', value: Math.round(theirs), unit: 'ns' },
    ...['snapshot() 20 routes', 'snapshot + toReadinessJSON (one SSE push)', '/metrics render'].map(
      (name) => ({
        scenario: name,
        library: 'readiness',
        value: Number(mean(name).toFixed(3)),
        unit: 'ms',
      }),
    ),
  ];
  const sseBytes = toReadinessJSON(tracker.snapshot(), 0).length;
  const notes = [
    `ingest ratio to prom-client histograms: ${(ours / theirs).toFixed(2)}x the time per event`,
    `one SSE frame for 20 routes: ${(sseBytes / 1024).toFixed(1)} KiB`,
    `Node ${process.version}, ${batch.length} events per ingest task, ${bench.opts.time} ms per task`,
    `load average at the end: ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores (other work shares the machine)`,
  ];
  tracker.close();

  console.table(rows);
  for (const note of notes) console.log(`- ${note}`);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'readiness.json');
  writeFileSync(
    file,
    `${JSON.stringify({ title: 'readiness: telemetry ingest and snapshot cost', date: new Date().toISOString(), rows, notes }, null, 2)}\n`,
  );
  console.log(`bench: wrote ${file}`);
}

await main();

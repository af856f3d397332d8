// What the simulator costs a test, and how true its pacing is.
//
// 1. Throughput: CLIENTS parallel fetch clients each read the recorded glm-4.6 text stream
//    (1286 events) unpaced, from the simulator and from a bare node:http server that writes the
//    same events pre-serialized in one go: the floor any SSE server on this machine has. The two
//    run in alternating rounds and each reports its median round, so a noisy neighbour on the
//    shared machine slows both rather than one.
// 2. Pacing: streams at the default 200 events/s, alone and past the ceiling in slow mode; the
//    measured duration against the schedule (events / rate, times load / ceiling when slowed).
//
// Run: cd packages/simulator && node --expose-gc --import jiti/register bench/simulator.bench.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '../../../bench-results');
const recording = join(
  here,
  '../fixtures/glm-recorded/TestZAICommon__zai-glm-4.6__simple_streaming.0.response.body',
);

const CLIENTS = 8;
const ROUNDS = 15;

const body = JSON.stringify({
  model: 'glm-4.6',
  stream: true,
  messages: [{ role: 'user', content: 'hello' }],
});

async function readStreams(url: string, count: number): Promise<number> {
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(url, { method: 'POST', body });
      const text = await response.text();
      if (!text.includes('[DONE]')) throw new Error('stream did not finish');
    }),
  );
  return performance.now() - startedAt;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function throughput() {
  const recorded = readFileSync(recording, 'utf8');
  const events = recorded.split('\n\n').filter((block) => block.startsWith('data:')).length - 1;
  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream;charset=UTF-8' });
      res.end(recorded);
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1/chat/completions`;
  const sim = await startSimulator({ ceiling: CLIENTS, tokensPerSecond: Infinity });
  const simUrl = `${sim.baseURL}/chat/completions`;

  // Warm-up: JIT, connection pool.
  await readStreams(simUrl, CLIENTS);
  await readStreams(bareUrl, CLIENTS);

  const simRounds: number[] = [];
  const bareRounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    simRounds.push(await readStreams(simUrl, CLIENTS));
    bareRounds.push(await readStreams(bareUrl, CLIENTS));
  }
  await sim.close();
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  bare.closeAllConnections();

  const simMs = median(simRounds);
  const bareMs = median(bareRounds);
  const rate = (ms: number) => Math.round((CLIENTS * events) / (ms / 1000));
  return {
    rows: [
      {
        scenario: `${CLIENTS} parallel recorded streams, unpaced`,
        server: 'simulator',
        'median ms': +simMs.toFixed(1),
        'events/s': rate(simMs),
        'vs bare': `${(simMs / bareMs).toFixed(2)}x`,
      },
      {
        scenario: `${CLIENTS} parallel recorded streams, unpaced`,
        server: 'bare node:http',
        'median ms': +bareMs.toFixed(1),
        'events/s': rate(bareMs),
        'vs bare': '1.00x',
      },
    ],
    ratio: simMs / bareMs,
  };
}

/** Wall time from each stream's response headers to its end; the slowest of `count` parallel ones. */
async function streamMs(url: string, count: number): Promise<number> {
  const durations = await Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(url, { method: 'POST', body });
      const headersAt = performance.now();
      await response.text();
      return performance.now() - headersAt;
    }),
  );
  return Math.max(...durations);
}

async function pacing() {
  const rows = [];
  const tokens = 199; // + 1 finish event = 200 events = 1 s at 200/s
  const row = (scenario: string, measuredMs: number, scheduledMs: number) => ({
    scenario,
    server: 'simulator',
    'median ms': +measuredMs.toFixed(1),
    'scheduled ms': scheduledMs,
    error: `${(((measuredMs - scheduledMs) / scheduledMs) * 100).toFixed(1)}%`,
  });

  const alone = await startSimulator({ source: 'generate', outputTokens: tokens });
  const aloneUrl = `${alone.baseURL}/chat/completions`;
  await streamMs(aloneUrl, 1);
  const aloneRuns: number[] = [];
  for (let run = 0; run < 3; run++) aloneRuns.push(await streamMs(aloneUrl, 1));
  await alone.close();
  rows.push(row('1 stream, 200 events at 200/s', median(aloneRuns), 1000));

  const slow = await startSimulator({
    source: 'generate',
    outputTokens: tokens,
    mode: 'slow',
    ceiling: 2,
  });
  const slowUrl = `${slow.baseURL}/chat/completions`;
  await streamMs(slowUrl, 1);
  const slowRuns: number[] = [];
  for (let run = 0; run < 3; run++) slowRuns.push(await streamMs(slowUrl, 4));
  await slow.close();
  rows.push(row('4 streams, ceiling 2, slow mode', median(slowRuns), 2000));
  return rows;
}

const load = await throughput();
const paced = await pacing();
const result = {
  title: 'simulator: serving cost against a bare node:http SSE server, and pacing accuracy',
  date: new Date().toISOString(),
  rows: [...load.rows, ...paced],
  notes: [
    `ratio to a bare node:http server writing the same bytes: ${load.ratio.toFixed(2)}x (median of ${ROUNDS} alternating rounds)`,
    'pacing rows: headers-to-end time of the slowest stream, median of 3 runs, against events / rate (times load / ceiling in slow mode)',
  ],
};
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'simulator.json'), `${JSON.stringify(result, null, 2)}\n`);
console.table(result.rows);
for (const note of result.notes) console.log(note);

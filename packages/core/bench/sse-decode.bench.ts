// Decode throughput of the Sluice SSE path (decodeChatStream, consumed event by event) against
// the bare minimum any client does: eventsource-parser + JSON.parse on the same bytes, fed in
// the same 1-4 KiB chunks through the same async iteration, in the same process.
//
// Time is the process's CPU time (user + system, GC threads included), not wall time: on the
// shared 2-core machine wall time mostly measures the other jobs. The paths run in turns of
// adjacent rounds and a ratio is the median of the turns' ratios, so a load that comes and goes
// slows every side of a turn alike. No forced GC between rounds: each path pays for its own
// garbage as it goes, as it would in production.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { createParser } from 'eventsource-parser';
import { decodeChatStream } from '../src/sse/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../fixtures/glm-recorded');
const resultsDir = join(here, '../../../bench-results');

const MIN_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 4096;
const ROUNDS = 31;
const PASSES_PER_ROUND = 10;

/** Each recorded stream cut into 1-4 KiB pieces, reproducibly. */
function loadStreams(): Uint8Array[][] {
  let state = 0x9e3779b9;
  const nextSize = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return MIN_CHUNK_BYTES + ((state >>> 0) % (MAX_CHUNK_BYTES - MIN_CHUNK_BYTES + 1));
  };
  return readdirSync(fixtures)
    .filter((file) => file.endsWith('.response.body'))
    .filter((file) => readFileSync(join(fixtures, file), 'utf8').startsWith('data:'))
    .sort()
    .map((file) => {
      const bytes = new Uint8Array(readFileSync(join(fixtures, file)));
      const chunks: Uint8Array[] = [];
      for (let offset = 0; offset < bytes.length;) {
        const size = nextSize();
        chunks.push(bytes.subarray(offset, offset + size));
        offset += size;
      }
      return chunks;
    });
}

async function* deliver(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Sluice: every event consumed; returns the text length so nothing is optimized away. */
async function sluicePass(streams: Uint8Array[][], coalesceDeltas = true): Promise<number> {
  let chars = 0;
  for (const chunks of streams) {
    for await (const event of decodeChatStream(deliver(chunks), { coalesceDeltas })) {
      if (event.type === 'text-delta' || event.type === 'reasoning-delta') {
        chars += event.text.length;
      }
    }
  }
  return chars;
}

/** The bare loop: parse frames, JSON.parse each data line, read the delta text. */
async function bareParserPass(streams: Uint8Array[][]): Promise<number> {
  let chars = 0;
  for (const chunks of streams) {
    const decoder = new TextDecoder();
    const parser = createParser({
      onEvent(frame) {
        if (frame.data === '[DONE]') return;
        const chunk = JSON.parse(frame.data) as {
          choices?: Array<{ delta?: { content?: string; reasoning_content?: string } }>;
        };
        const delta = chunk.choices?.[0]?.delta;
        chars += (delta?.content?.length ?? 0) + (delta?.reasoning_content?.length ?? 0);
      },
    });
    for await (const chunk of deliver(chunks)) parser.feed(decoder.decode(chunk, { stream: true }));
  }
  return chars;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timeRound(
  pass: (streams: Uint8Array[][]) => Promise<number>,
  streams: Uint8Array[][],
): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < PASSES_PER_ROUND; i++) await pass(streams);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

interface Path {
  name: string;
  pass: (streams: Uint8Array[][]) => Promise<number>;
  ms: number[];
  /** Bare CPU time over this path's CPU time, per round. */
  ratios: number[];
}

async function main(): Promise<void> {
  const streams = loadStreams();
  const bytesPerPass = streams.reduce(
    (sum, chunks) => sum + chunks.reduce((s, chunk) => s + chunk.length, 0),
    0,
  );
  const bare: Path = {
    name: 'bare eventsource-parser + JSON.parse',
    pass: bareParserPass,
    ms: [],
    ratios: [],
  };
  const paths: Path[] = [
    { name: 'sluice decodeChatStream', pass: (s) => sluicePass(s), ms: [], ratios: [] },
    {
      name: 'sluice decodeChatStream, coalesceDeltas: false',
      pass: (s) => sluicePass(s, false),
      ms: [],
      ratios: [],
    },
    bare,
  ];

  // Warm every path up, and check they all read the same text.
  const chars: number[] = [];
  for (const path of paths) chars.push(await path.pass(streams));
  if (new Set(chars).size !== 1) throw new Error(`The paths disagree: ${chars.join(', ')} chars.`);
  for (let i = 0; i < 5; i++) for (const path of paths) await timeRound(path.pass, streams);
  globalThis.gc?.();

  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order; the rounds of one turn share the machine's load of the moment.
    const turn = new Map<Path, number>();
    for (let i = 0; i < paths.length; i++) {
      const path = paths[(round + i) % paths.length] as Path;
      turn.set(path, await timeRound(path.pass, streams));
    }
    for (const [path, ms] of turn) {
      path.ms.push(ms);
      path.ratios.push((turn.get(bare) as number) / ms);
    }
  }

  const megabytes = (bytesPerPass * PASSES_PER_ROUND) / 1e6;
  const rows = paths.map((path) => ({
    path: path.name,
    'MB/s (median round)': (megabytes / (median(path.ms) / 1000)).toFixed(1),
    'MB/s (best round)': (megabytes / (Math.min(...path.ms) / 1000)).toFixed(1),
    'ratio to bare (median of turns)': median(path.ratios).toFixed(3),
  }));
  const [sluice, uncoalesced] = paths as [Path, Path];
  const result = {
    title: 'SSE decode throughput on the recorded GLM streams',
    date: new Date().toISOString(),
    rows,
    notes: [
      `throughput ratio sluice / bare parser: ${median(sluice.ratios).toFixed(3)} ` +
        `(median of ${ROUNDS} turns; target >= 0.9); with coalesceDeltas: false ` +
        `${median(uncoalesced.ratios).toFixed(3)}`,
      `${streams.length} recorded streams, ${(bytesPerPass / 1024).toFixed(0)} KiB per pass, ` +
        `${MIN_CHUNK_BYTES}-${MAX_CHUNK_BYTES} byte chunks, ${PASSES_PER_ROUND} passes per round, ` +
        'time = process CPU time',
      `Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)} at the end ` +
        `on ${os.cpus().length} cores`,
    ],
  };

  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'sse-decode.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.table(rows);
  for (const note of result.notes) console.log(note);
}

await main();

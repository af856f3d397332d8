// Acquire + release throughput of the Sluice lease budget against p-limit and p-queue, in the same
// process and the same run, plus the heap cost of one queued waiter at 100,000 waiters.
//
// Each tinybench task does a batch of OPS_PER_TASK operations, so the figure is dominated by the
// limiter and not by tinybench's own per-call overhead. The equivalent of "acquire + release" is
// `limit(noop)` for p-limit and `queue.add(noop)` for p-queue: each resolves once its slot was
// granted and the slot is free again.
//
// Run: cd packages/core && node --expose-gc --import jiti/register bench/budget.bench.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { Bench } from 'tinybench';
import { createLeaseBudget } from '../src/budget/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '../../../bench-results');

const OPS_PER_TASK = 1_000;
const WAITERS = 1_000;
const MEMORY_WAITERS = 100_000;
const noop = () => undefined;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('Run with --expose-gc (see the header of this file).');

interface Row {
  scenario: string;
  library: string;
  value: number;
  unit: string;
  'vs p-limit': string;
}

/** Uncontended: every acquire finds a free slot and nobody waiting. */
function uncontended(bench: Bench): void {
  const budget = createLeaseBudget({ key: 'bench-free', limit: 10 });
  bench.add('uncontended | sluice', async () => {
    for (let i = 0; i < OPS_PER_TASK; i++) (await budget.acquire()).release();
  });

  const signal = new AbortController().signal;
  bench.add('uncontended | sluice (signal, session, timeout)', async () => {
    for (let i = 0; i < OPS_PER_TASK; i++) {
      (
        await budget.acquire({ signal, session: 'root', priority: 10, timeoutMs: 30_000 })
      ).release();
    }
  });

  const limit = pLimit(10);
  bench.add('uncontended | p-limit', async () => {
    for (let i = 0; i < OPS_PER_TASK; i++) await limit(noop);
  });

  const queue = new PQueue({ concurrency: 10 });
  bench.add('uncontended | p-queue', async () => {
    for (let i = 0; i < OPS_PER_TASK; i++) await queue.add(noop);
  });
}

/** 1,000 waiters at limit 1: all enqueue at once, then drain one by one. */
function contended(bench: Bench): void {
  const budget = createLeaseBudget({ key: 'bench-busy', limit: 1 });
  const acquireRelease = async () => (await budget.acquire()).release();
  bench.add(`${WAITERS} waiters | sluice`, async () => {
    await Promise.all(Array.from({ length: WAITERS }, acquireRelease));
  });

  const signal = new AbortController().signal;
  const sessions = ['root', 'child-1', 'child-2', 'child-3'];
  bench.add(`${WAITERS} waiters | sluice (4 sessions, signal, timeout)`, async () => {
    await Promise.all(
      Array.from({ length: WAITERS }, async (_, index) => {
        const session = sessions[index % sessions.length];
        (await budget.acquire({ signal, session, timeoutMs: 30_000 })).release();
      }),
    );
  });

  const limit = pLimit(1);
  bench.add(`${WAITERS} waiters | p-limit`, async () => {
    await Promise.all(Array.from({ length: WAITERS }, () => limit(noop)));
  });

  const queue = new PQueue({ concurrency: 1 });
  bench.add(`${WAITERS} waiters | p-queue`, async () => {
    await Promise.all(Array.from({ length: WAITERS }, () => queue.add(noop)));
  });
}

/**
 * Heap growth per queued waiter: hold the only slot, queue MEMORY_WAITERS acquires, collect
 * garbage before and after. Nothing but the limiter keeps the waiters alive (no array of
 * promises), as when each caller awaits its own acquire.
 */
async function bytesPerWaiter(fill: () => { drain: () => Promise<void> }): Promise<number> {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const { drain } = fill();
  gc!();
  gc!();
  const after = process.memoryUsage().heapUsed;
  await drain();
  return (after - before) / MEMORY_WAITERS;
}

/** Lets every queued waiter through at once (limit 0), so nothing of the run stays pending. */
async function grantAll(budget: ReturnType<typeof createLeaseBudget>): Promise<void> {
  budget.resize(0);
  await new Promise((resolve) => setImmediate(resolve));
}

async function memory(): Promise<Row[]> {
  const sluicePlain = await bytesPerWaiter(() => {
    const budget = createLeaseBudget({ key: 'bench-mem', limit: 1 });
    void budget.acquire();
    for (let i = 0; i < MEMORY_WAITERS; i++) void budget.acquire();
    return { drain: () => grantAll(budget) };
  });

  const sluiceWatched = await bytesPerWaiter(() => {
    const budget = createLeaseBudget({ key: 'bench-mem-watched', limit: 1 });
    const signal = new AbortController().signal;
    void budget.acquire();
    for (let i = 0; i < MEMORY_WAITERS; i++) {
      void budget.acquire({ signal, session: `s${i % 4}`, timeoutMs: 600_000 });
    }
    return { drain: () => grantAll(budget) };
  });

  const pLimitBytes = await bytesPerWaiter(() => {
    const limit = pLimit(1);
    let releaseHolder: (() => void) | undefined;
    void limit(() => new Promise<void>((resolve) => (releaseHolder = resolve)));
    for (let i = 0; i < MEMORY_WAITERS; i++) void limit(noop);
    return {
      drain: async () => {
        // p-limit starts a task on a microtask, so the holder's resolve exists only after one.
        while (releaseHolder === undefined) await Promise.resolve();
        releaseHolder();
        while (limit.activeCount + limit.pendingCount > 0)
          await new Promise((r) => setImmediate(r));
      },
    };
  });

  const pQueueBytes = await bytesPerWaiter(() => {
    const queue = new PQueue({ concurrency: 1 });
    let releaseHolder: (() => void) | undefined;
    void queue.add(() => new Promise<void>((resolve) => (releaseHolder = resolve)));
    for (let i = 0; i < MEMORY_WAITERS; i++) void queue.add(noop);
    return {
      drain: async () => {
        while (releaseHolder === undefined) await Promise.resolve();
        releaseHolder();
        await queue.onIdle();
      },
    };
  });

  const scenario = `bytes per queued waiter @ ${MEMORY_WAITERS.toLocaleString('en-US')}`;
  const row = (library: string, bytes: number): Row => ({
    scenario,
    library,
    value: Math.round(bytes),
    unit: 'B',
    'vs p-limit': `${(bytes / pLimitBytes).toFixed(2)}x`,
  });
  return [
    row('sluice', sluicePlain),
    row('sluice (signal, session, timeout)', sluiceWatched),
    row('p-limit', pLimitBytes),
    row('p-queue', pQueueBytes),
  ];
}

async function main(): Promise<void> {
  const bench = new Bench({ time: 1_500, warmupTime: 300 });
  bench.addEventListener('cycle', (event) => {
    const task = event.task;
    if (task) console.error(`bench: ${task.name} done`);
  });
  uncontended(bench);
  contended(bench);
  const memoryRows = await memory();
  console.error('bench: memory done');
  await bench.run();

  const opsPerSecond = new Map<string, number>();
  for (const task of bench.tasks) {
    const mean = task.result?.throughput.mean;
    if (mean === undefined) throw new Error(`bench task "${task.name}" has no result`);
    opsPerSecond.set(task.name, mean * OPS_PER_TASK);
  }

  const rows: Row[] = [];
  for (const name of opsPerSecond.keys()) {
    const [scenario, library] = name.split(' | ') as [string, string];
    const baseline = opsPerSecond.get(`${scenario} | p-limit`)!;
    const value = opsPerSecond.get(name)!;
    rows.push({
      scenario,
      library,
      value: Math.round(value),
      unit: 'acquire+release/s',
      'vs p-limit': `${(value / baseline).toFixed(2)}x`,
    });
  }
  rows.push(...memoryRows);

  const ratio = (scenario: string, library = 'sluice') =>
    rows.find((row) => row.scenario === scenario && row.library === library)!['vs p-limit'];
  const sluiceBytes = memoryRows.find((row) => row.library === 'sluice')!.value;
  const notes = [
    `ratio to p-limit, uncontended: ${ratio('uncontended')} (target >= 1.0)`,
    `ratio to p-limit, ${WAITERS} waiters: ${ratio(`${WAITERS} waiters`)} (target >= 1.0)`,
    `bytes per queued waiter at ${MEMORY_WAITERS}: ${sluiceBytes} B (target < 300 B)`,
    `Node ${process.version}, ${OPS_PER_TASK} operations per tinybench task, ${bench.opts.time} ms per task`,
    // The machine is shared; a high load spreads the figures, the ratios hold better.
    `machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end of the run`,
    'bytes per waiter: heap growth with 100,000 queued acquires and nothing else holding them; "signal, session, timeout" shares one AbortSignal and one timeout across 4 sessions',
  ];

  console.table(rows);
  for (const note of notes) console.log(`- ${note}`);

  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'budget.json');
  writeFileSync(
    file,
    `${JSON.stringify({ title: 'Lease budget: acquire + release, memory per waiter', date: new Date().toISOString(), rows, notes }, null, 2)}\n`,
  );
  console.log(`bench: wrote ${file}`);
}

await main();

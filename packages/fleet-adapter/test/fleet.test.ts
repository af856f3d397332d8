// The session tree over a real router streaming from the simulator: in this thread, in worker
// threads and in child processes. Code run in workers and children loads the built dist (run
// `npx tsup` in core, provider-zhipu, simulator and fleet-adapter first; nx does so in CI).
import { spawn } from 'node:child_process';

import { createBudgetRegistry, createRouter, SluiceError } from '@sluice/core';
import type { ChatRequest, Router, SluiceEvent } from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator, type Simulator, type SimulatorOptions } from '@sluice/simulator';
import { afterEach, describe, expect, it } from 'vitest';

import { createFleet, type Fleet } from '../src/index.js';
import { BUDGET_CLIENT, nextReport, until } from './helpers.js';

const API_KEY = 'sk-fleet-test-0123456789abcdef';
const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };

let sim: Simulator | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await sim?.close();
  sim = undefined;
});

/** Retries off: an over-admitted request must show up as a failure, not be papered over. */
function configFor(simulator: Simulator, maxConcurrency: number) {
  return {
    providers: {
      glm: { use: 'zhipu', endpoint: simulator.baseURL, apiKey: API_KEY, maxConcurrency },
    },
    routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    retry: { maxAttempts: 1 },
  };
}

async function setUp(limit: number, simOptions: SimulatorOptions = {}) {
  sim = await startSimulator({
    ceiling: limit,
    mode: 'reject',
    source: 'generate',
    outputTokens: 12,
    tokensPerSecond: 200,
    ...simOptions,
  });
  const config = configFor(sim, limit);
  const router = createRouter({ config, providers: [zhipu], budgets: createBudgetRegistry() });
  const events: SluiceEvent[] = [];
  router.subscribe((event) => events.push(event));
  const fleet = createFleet({ router });
  cleanups.push(
    () => router.close(),
    () => fleet.close(),
  );
  return { sim, config, router, fleet, events, budget: budgetOf(router, limit) };
}

function budgetOf(router: Router, limit: number) {
  return router.budgets.get(router.route().budgetKey, { limit });
}

async function runChats(session: { chat: Fleet['root']['chat'] }, count: number) {
  const texts = await Promise.all(Array.from({ length: count }, () => session.chat(hello).text()));
  return texts.filter((text) => text.length > 0).length;
}

describe('session tree', () => {
  it('gives the root priority 10 and children 0 by default, with path ids, at any depth', async () => {
    const { fleet } = await setUp(1);
    const planner = fleet.root.spawn('planner');
    const search = planner.spawn('search', { priority: 5 });
    const twin = planner.spawn('search');

    expect(fleet.root).toMatchObject({ id: 'root', priority: 10, depth: 0, parent: undefined });
    expect(planner).toMatchObject({ id: 'root/planner', priority: 0, depth: 1 });
    expect(search).toMatchObject({ id: 'root/planner/search', priority: 5, depth: 2 });
    expect(twin.id).toBe('root/planner/search#2');
    expect(planner.children).toEqual([search, twin]);
    expect(fleet.sessions().map((s) => s.id)).toEqual([
      'root',
      'root/planner',
      'root/planner/search',
      'root/planner/search#2',
    ]);
    expect(() => planner.spawn('a/b')).toThrow(/without "\/"/);
  });

  it('takes configured priorities', async () => {
    const { router } = await setUp(1);
    const fleet = createFleet({ router, rootName: 'lead', priorities: { root: 3, child: 1 } });
    expect(fleet.root).toMatchObject({ id: 'lead', priority: 3 });
    expect(fleet.root.spawn('x').priority).toBe(1);
    expect(() => createFleet({ router, priorities: { root: Number.NaN } })).toThrow(
      /priorities.root must be a finite number/,
    );
  });

  it('parent + 3 child sessions at budget 3 share one budget: peak in flight 3 at the server', async () => {
    const { fleet, sim } = await setUp(3);
    const children = ['a', 'b', 'c'].map((name) => fleet.root.spawn(name));

    const completed = await Promise.all([fleet.root, ...children].map((s) => runChats(s, 3)));

    expect(completed).toEqual([3, 3, 3, 3]);
    expect(sim.stats().peakInFlight).toBe(3);
    expect(sim.stats().rejected).toBe(0);
  });

  it('children on two routes of one provider share its budget; a child on another provider has its own', async () => {
    const first = await startSimulator({ ceiling: 1, mode: 'reject', source: 'generate' });
    const second = await startSimulator({ ceiling: 1, mode: 'reject', source: 'generate' });
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    const router = createRouter({
      config: {
        providers: {
          glm: { use: 'zhipu', endpoint: first.baseURL, apiKey: API_KEY, maxConcurrency: 1 },
          backup: { use: 'zhipu', endpoint: second.baseURL, apiKey: API_KEY, maxConcurrency: 1 },
        },
        routes: {
          default: { provider: 'glm', model: 'glm-4.6' },
          fast: { provider: 'glm', model: 'glm-4.5' },
          spare: { provider: 'backup', model: 'glm-4.6' },
        },
        retry: { maxAttempts: 1 },
      },
      providers: [zhipu],
      budgets: createBudgetRegistry(),
    });
    const fleet = createFleet({ router });
    cleanups.push(() => router.close());
    const [a, b, c] = ['a', 'b', 'c'].map((name) => fleet.root.spawn(name));

    const results = await Promise.all([
      ...[1, 2].map(() => a!.chat(hello, { route: 'default' }).text()),
      ...[1, 2].map(() => b!.chat(hello, { route: 'fast' }).text()),
      ...[1, 2].map(() => c!.chat(hello, { route: 'spare' }).text()),
    ]);

    expect(results.every((text) => text.length > 0)).toBe(true);
    expect(router.route('fast').budgetKey).toBe(router.route('default').budgetKey);
    expect(router.route('spare').budgetKey).not.toBe(router.route('default').budgetKey);
    expect(first.stats()).toMatchObject({ completed: 4, peakInFlight: 1, rejected: 0 });
    expect(second.stats()).toMatchObject({ completed: 2, peakInFlight: 1, rejected: 0 });
  });

  it('accounts requests, lease waits, time to first token, tokens and failures per session', async () => {
    const { fleet } = await setUp(2, {
      // The third request fails with a 400 (bad request, never retried).
      fault: (request) => (request.index === 2 ? { status: 400 } : undefined),
    });
    const child = fleet.root.spawn('worker');

    await runChats(child, 2);
    await expect(child.chat(hello).text()).rejects.toThrow();
    await runChats(fleet.root, 1);
    const stats = child.stats();

    expect(stats).toMatchObject({ requests: 3, succeeded: 2, failed: 1, inFlight: 0 });
    expect(stats.failuresByKind).toEqual({ 'bad-request': 1 });
    expect(stats.leases).toBe(3);
    expect(stats.leaseWait.count).toBe(3);
    expect(stats.timeToFirstToken.count).toBe(2);
    expect(stats.timeToFirstToken.p50Ms).toBeGreaterThan(0);
    expect(stats.tokens.completion).toBeGreaterThan(0);
    expect(stats.tokens.total).toBe(stats.tokens.prompt + stats.tokens.completion);
    expect(fleet.root.stats().requests).toBe(1);
    expect(fleet.stats().requests).toBe(4);
  });
});

describe('C09 and priorities', () => {
  it('C09: a parent whose tool waits on a child at limit 1 completes, with peak in flight 1', async () => {
    const { fleet, sim, events } = await setUp(1, {
      source: 'recorded',
      tokensPerSecond: Number.POSITIVE_INFINITY,
    });
    const started = performance.now();
    const tools: ChatRequest['tools'] = [
      {
        type: 'function',
        function: {
          name: 'delegate',
          description: 'Ask a sub-agent',
          parameters: { type: 'object', properties: { task: { type: 'string' } } },
        },
      },
    ];
    const question: ChatRequest = { messages: [{ role: 'user', content: 'weather?' }], tools };

    // Turn 1: the parent's stream ends with tool calls; its lease ends with the body.
    const first = await fleet.root.chat(question).result();
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls.length).toBeGreaterThan(0);

    // The tool runs with no lease held: it spawns a child on the same provider and waits for it.
    const child = fleet.root.spawn('tool-delegate');
    const toolOutput = await child.chat(hello).text();
    expect(toolOutput.length).toBeGreaterThan(0);

    // Turn 2: the parent's follow-up with the tool results.
    const followUp = await fleet.root
      .chat({
        tools,
        messages: [
          ...question.messages,
          {
            role: 'assistant',
            content: first.text,
            tool_calls: first.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          },
          ...first.toolCalls.map((call) => ({
            role: 'tool' as const,
            tool_call_id: call.id,
            content: toolOutput,
          })),
        ],
      })
      .result();
    const elapsedMs = performance.now() - started;

    expect(followUp.finishReason).toBe('stop');
    expect(followUp.text.length).toBeGreaterThan(0);
    expect(sim.stats().peakInFlight).toBe(1);
    expect(sim.stats().completed).toBe(3);
    expect(elapsedMs).toBeLessThan(1_000);
    // Lease order: parent, child, parent, each released before the next is acquired.
    const leases = events
      .filter((e) => e.type === 'lease-acquired' || e.type === 'lease-released')
      .map((e) => `${e.type === 'lease-acquired' ? '+' : '-'}${e.sessionId}`);
    expect(leases).toEqual([
      '+root',
      '-root',
      '+root/tool-delegate',
      '-root/tool-delegate',
      '+root',
      '-root',
    ]);
  });

  it('serves the queued parent first, and children round-robin: none falls a round behind', async () => {
    const { fleet, router, events, budget } = await setUp(1);
    const children = ['a', 'b', 'c'].map((name) => fleet.root.spawn(name));

    // Hold the only lease so every request below queues.
    const blocker = await budget.acquire();
    const requests: Array<Promise<string>> = [];
    for (const child of children) {
      for (let i = 0; i < 3; i++) requests.push(child.chat(hello).text());
    }
    requests.push(fleet.root.chat(hello).text());
    await until(() => budget.pending === 10);
    blocker.release();
    await Promise.all(requests);

    const order = events
      .filter((e) => e.type === 'lease-acquired')
      .map((e) => e.sessionId ?? 'none');
    expect(order[0]).toBe('root');
    const grants = new Map(children.map((child) => [child.id, 0]));
    for (const sessionId of order.slice(1)) {
      grants.set(sessionId, (grants.get(sessionId) ?? 0) + 1);
      const counts = [...grants.values()];
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    expect(order.slice(1)).toEqual([...Array(3)].flatMap(() => children.map((c) => c.id)));
    await router.close();
  });

  it('session.cancel() cancels the session and its descendants, frees their leases, spares siblings', async () => {
    const { fleet, budget } = await setUp(3, { thinkingPauseMs: 30_000 });
    const child = fleet.root.spawn('coder');
    const grandchild = child.spawn('tests');
    const sibling = fleet.root.spawn('docs');

    const doomed = [child.chat(hello).text(), grandchild.chat(hello).text()];
    const spared = sibling.chat(hello).text();
    const queued = child.chat(hello).text();
    await until(() => budget.active === 3 && budget.pending === 1);

    child.cancel();
    const outcomes = await Promise.allSettled([...doomed, queued]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as SluiceError;
      expect(SluiceError.isInstance(reason) && reason.kind).toBe('aborted');
    }
    await until(() => budget.active === 1 && budget.pending === 0, 1_000);
    // The cancel is permanent (see session-cancel.test.ts); the sibling was never touched.
    expect(child.signal.aborted).toBe(true);
    expect(grandchild.cancelled).toBe(true);
    expect(sibling.cancelled).toBe(false);
    fleet.root.cancel();
    await expect(spared).rejects.toThrow();
    await until(() => budget.active === 0);
  });
});

describe('workers and processes', { timeout: 90_000 }, () => {
  it('parent + 3 worker threads at budget 3 via router.chat: peak in flight at the server <= 3', async () => {
    const { fleet, sim, config, budget } = await setUp(3);
    const workers = [1, 2, 3].map((n) =>
      fleet.spawnWorker(BUDGET_CLIENT, {
        name: `worker-${n}`,
        workerData: { action: 'chat', config, requests: 3, concurrency: 3, forwardEvents: true },
      }),
    );
    cleanups.push(() => Promise.all(workers.map((w) => w.worker.terminate())));

    const reports = workers.map((w) => nextReport(w.worker, 'done', 60_000));
    const parentCompleted = await runChats(fleet.root, 3);
    const done = await Promise.all(reports);

    expect(parentCompleted).toBe(3);
    for (const report of done) expect(report).toMatchObject({ completed: 3, failures: [] });
    expect(sim.stats().peakInFlight).toBe(3);
    expect(sim.stats().rejected).toBe(0);
    expect(sim.stats().completed).toBe(12);
    // The workers forwarded their router events: the parent accounts their requests in full,
    // and each grant once.
    await until(() => workers.every((w) => w.session.stats().succeeded === 3));
    for (const worker of workers) {
      const stats = worker.session.stats();
      expect(worker.session.parent).toBe(fleet.root);
      expect(stats).toMatchObject({ requests: 3, succeeded: 3, failed: 0, leases: 3 });
      expect(stats.timeToFirstToken.count).toBe(3);
      expect(stats.tokens.completion).toBeGreaterThan(0);
    }
    expect(fleet.stats().requests).toBe(12);
    await Promise.all(workers.map((w) => w.exited));
    expect(budget.active).toBe(0);
  });

  it('parent + 3 child processes at budget 3 via router.chat: peak in flight at the server <= 3', async () => {
    const { fleet, sim, config } = await setUp(3);
    const children = [1, 2, 3].map((n) =>
      fleet.spawnProcess(
        BUDGET_CLIENT,
        [JSON.stringify({ action: 'chat', config, requests: 3, concurrency: 3 })],
        { name: `proc-${n}` },
      ),
    );
    cleanups.push(() => children.forEach((c) => c.child.kill('SIGKILL')));

    const reports = children.map((c) => nextReport(c.child, 'done', 60_000));
    const parentCompleted = await runChats(fleet.root, 3);
    const done = await Promise.all(reports);

    expect(parentCompleted).toBe(3);
    for (const report of done) expect(report).toMatchObject({ completed: 3, failures: [] });
    expect(sim.stats().peakInFlight).toBe(3);
    expect(sim.stats().completed).toBe(12);
    expect(children.map((c) => c.session.id)).toEqual([
      'root/proc-1',
      'root/proc-2',
      'root/proc-3',
    ]);
    // Without forwarded events the parent still counts each child's grants.
    for (const child of children) expect(child.session.stats().leases).toBe(3);
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
  });

  it('a process the fleet did not start attaches through the broker and shares the budget', async () => {
    const { fleet, sim, config } = await setUp(2);
    const broker = await fleet.serveBroker({ advertise: false });
    const outsider = spawn(
      process.execPath,
      [BUDGET_CLIENT, JSON.stringify({ action: 'chat', config, requests: 4, concurrency: 4 })],
      { env: { ...process.env, ...broker.env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => outsider.kill('SIGKILL'));
    let stdout = '';
    outsider.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const finished = new Promise((resolve) => outsider.stdout.once('end', resolve));

    // Start the parent's requests once the outsider is connected, so the two overlap.
    await until(() => broker.connections.size === 1, 30_000);
    const parentCompleted = await runChats(fleet.root, 4);
    await finished;

    expect(parentCompleted).toBe(4);
    expect(JSON.parse(stdout.trim())).toMatchObject({ type: 'done', completed: 4, failures: [] });
    expect(sim.stats()).toMatchObject({ completed: 8, peakInFlight: 2, rejected: 0 });
  });

  it('puts the parent ahead of queued worker requests: workers queue at their session priority', async () => {
    const { fleet, config, budget } = await setUp(1);
    const grants: Array<string | undefined> = [];
    budget.on('acquired', (event) => grants.push(event.session));
    const blocker = await budget.acquire();
    const worker = fleet.spawnWorker(BUDGET_CLIENT, {
      name: 'bg',
      workerData: { action: 'chat', config, requests: 2, concurrency: 2 },
    });
    cleanups.push(() => worker.worker.terminate());
    await until(() => budget.pending === 2, 30_000);

    const parent = fleet.root.chat(hello).text();
    await until(() => budget.pending === 3);
    blocker.release();
    expect((await parent).length).toBeGreaterThan(0);
    await nextReport(worker.worker, 'done', 30_000);

    // The parent's grant came before either of the worker's, which queued earlier.
    expect(grants).toEqual([undefined, 'root', 'root/bg', 'root/bg']);
    expect(worker.session.stats().leases).toBe(2);
    expect(worker.session.stats().leaseWait.maxMs).toBeGreaterThan(0);
  });

  it('serves 3 queued workers round-robin behind the parent: none falls a round behind', async () => {
    const { fleet, config, budget } = await setUp(1);
    const grants: Array<string | undefined> = [];
    budget.on('acquired', (event) => grants.push(event.session));
    const blocker = await budget.acquire();
    const workers = [1, 2, 3].map((n) =>
      fleet.spawnWorker(BUDGET_CLIENT, {
        name: `w${n}`,
        workerData: { action: 'chat', config, requests: 2, concurrency: 2 },
      }),
    );
    cleanups.push(() => Promise.all(workers.map((w) => w.worker.terminate())));
    await until(() => budget.pending === 6, 30_000);

    const parent = fleet.root.chat(hello).text();
    await until(() => budget.pending === 7);
    blocker.release();
    await parent;
    await Promise.all(workers.map((w) => nextReport(w.worker, 'done', 30_000)));

    const order = grants.slice(1);
    expect(order[0]).toBe('root');
    const counts = new Map(workers.map((w) => [w.session.id, 0]));
    for (const session of order.slice(1)) {
      counts.set(String(session), (counts.get(String(session)) ?? 0) + 1);
      expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
    }
    expect([...counts.values()]).toEqual([2, 2, 2]);
  });

  it('session.cancel() reaches a worker: its queued acquire is withdrawn and its stream aborted', async () => {
    const { fleet, config, budget } = await setUp(1, { thinkingPauseMs: 30_000 });
    const worker = fleet.spawnWorker(BUDGET_CLIENT, {
      name: 'slow',
      workerData: { action: 'chat', config, requests: 2, concurrency: 2 },
    });
    cleanups.push(() => worker.worker.terminate());
    await until(() => budget.active === 1 && budget.pending === 1, 30_000);

    worker.session.cancel();
    const report = await nextReport(worker.worker, 'done', 10_000);

    expect(report.completed).toBe(0);
    expect(report.failures).toEqual([
      expect.objectContaining({ kind: 'aborted' }),
      expect.objectContaining({ kind: 'aborted' }),
    ]);
    await until(() => budget.active === 0 && budget.pending === 0, 1_000);
  });
});

describe('a worker that fails', { timeout: 60_000 }, () => {
  /** Collects every uncaughtException of this (the parent) process while the test runs. */
  function watchParentCrashes(): unknown[] {
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);
    process.on('uncaughtException', onCrash);
    cleanups.push(() => process.off('uncaughtException', onCrash));
    return crashes;
  }

  it('a worker that throws after attachBudget(): the parent survives, exited resolves 1 with the error, its leases are freed', async () => {
    const { fleet, router, budget } = await setUp(2);
    const crashes = watchParentCrashes();
    const worker = fleet.spawnWorker(BUDGET_CLIENT, {
      name: 'buggy',
      workerData: {
        action: 'hold-then-throw',
        key: router.route().budgetKey,
        limit: 2,
        leases: 2,
        message: 'sub-agent bug 42',
      },
    });
    cleanups.push(() => worker.worker.terminate());
    await nextReport(worker.worker, 'holding', 30_000);
    expect(budget.active).toBe(2);

    worker.worker.postMessage({ type: 'throw' });

    expect(await worker.exited).toBe(1);
    expect(worker.error).toBeInstanceOf(Error);
    expect(worker.error?.message).toBe('sub-agent bug 42');
    const closed = await worker.connection.closed;
    expect(closed.leasesFreed).toBe(2);
    expect(budget.active).toBe(0);
    expect(crashes).toEqual([]);
    // The fleet goes on serving: the root still gets leases.
    expect(await fleet.root.chat(hello).text()).not.toBe('');
  });

  it('a worker file that does not exist: the parent survives, exited resolves 1 with MODULE_NOT_FOUND', async () => {
    const { fleet, budget } = await setUp(2);
    const crashes = watchParentCrashes();
    const missing = new URL('./fixtures/no-such-sub-agent.mjs', import.meta.url);
    const worker = fleet.spawnWorker(missing);

    expect(worker.session.name).toBe('no-such-sub-agent');
    expect(await worker.exited).toBe(1);
    expect(worker.error).toMatchObject({ code: 'MODULE_NOT_FOUND' });
    expect(worker.error?.message).toContain('no-such-sub-agent.mjs');
    expect((await worker.connection.closed).leasesFreed).toBe(0);
    expect(budget.active).toBe(0);
    expect(crashes).toEqual([]);
  });

  it('a clean exit leaves error undefined', async () => {
    const { fleet } = await setUp(1);
    const worker = fleet.spawnWorker(new URL('data:text/javascript,export {}'), { name: 'noop' });
    expect(await worker.exited).toBe(0);
    expect(worker.error).toBeUndefined();
  });

  it('a file Node refuses outright throws a config SluiceError naming the file, and adds no session', async () => {
    const { fleet } = await setUp(1);
    const before = fleet.sessions().map((session) => session.id);
    let thrown: unknown;
    try {
      fleet.spawnWorker('sub-agent.mjs');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SluiceError);
    expect(thrown).toMatchObject({ kind: 'config' });
    expect((thrown as SluiceError).message).toContain('"sub-agent.mjs"');
    expect((thrown as SluiceError).hint).toContain("'./'");
    expect(fleet.sessions().map((session) => session.id)).toEqual(before);
  });
});

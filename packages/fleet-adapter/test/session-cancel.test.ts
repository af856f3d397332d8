// A cancel is permanent, on every transport: once a session (or an ancestor) is cancelled, its
// signal stays the same aborted signal, and every new request or acquire for it or for a session
// under it fails at once with an `aborted` SluiceError naming the session, takes no lease and
// sends nothing. Found by the fresh-user trial: a sub-agent looping on `budgets.cancelSignal`
// started its next task after the parent cancelled it. Code run in workers and child processes
// loads the built dist (nx builds it before the tests).
import { createBudgetRegistry, createRouter, SluiceError } from '@sluice/core';
import type { ChatRequest, Router } from '@sluice/core';
import { provider as zhipu } from '@sluice/provider-zhipu';
import { startSimulator, type Simulator } from '@sluice/simulator';
import { MessageChannel } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import {
  attachBudget,
  createBudgetServer,
  createFleet,
  messagePortChannel,
  type BudgetBroker,
  type ClientFrame,
  type Fleet,
  type ServerFrame,
} from '../src/index.js';
import { BUDGET_CLIENT, nextReport, until, type Report } from './helpers.js';

const API_KEY = 'sk-fleet-cancel-test-0123456789';
const hello: ChatRequest = { messages: [{ role: 'user', content: 'hello' }] };

let sim: Simulator | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await sim?.close();
  sim = undefined;
});

/** A fleet on a simulator whose streams think for 30 s, so a first request is still in flight. */
async function setUp(limit = 1) {
  sim = await startSimulator({
    ceiling: limit,
    mode: 'reject',
    source: 'generate',
    outputTokens: 12,
    tokensPerSecond: 200,
    thinkingPauseMs: 30_000,
  });
  const config = {
    providers: {
      glm: { use: 'zhipu', endpoint: sim.baseURL, apiKey: API_KEY, maxConcurrency: limit },
    },
    routes: { default: { provider: 'glm', model: 'glm-4.6' } },
    retry: { maxAttempts: 1 },
  };
  const router = createRouter({ config, providers: [zhipu], budgets: createBudgetRegistry() });
  const fleet = createFleet({ router });
  cleanups.push(
    () => router.close(),
    () => fleet.close(),
  );
  const budget = router.budgets.get(router.route().budgetKey, { limit });
  return { sim, config, router, fleet, budget };
}

/** The error a promise rejected with (fails the test if it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<SluiceError> {
  const outcome = await promise.then(
    () => new Error('resolved, but a cancelled session must refuse new requests'),
    (error: unknown) => error,
  );
  expect(SluiceError.isInstance(outcome)).toBe(true);
  return outcome as SluiceError;
}

function expectCancelledError(error: { kind: string; message: string }, sessionId: string) {
  expect(error.kind).toBe('aborted');
  expect(error.message).toContain(`"${sessionId}"`);
  expect(error.message).toMatch(/cancelled/);
  expect(error.message).not.toContain(API_KEY);
}

/** A new chat on `session` and on a child spawned under it: both refused, nothing sent. */
async function expectRefusedInProcess(
  fleet: Fleet,
  session: Fleet['root'],
  router: Router,
  simulator: Simulator,
) {
  const sent = simulator.stats().requests;
  const budget = router.budgets.get(router.route().budgetKey, { limit: 1 });
  const child = session.spawn('after-cancel');
  for (const target of [session, child]) {
    const startedAt = performance.now();
    const error = await rejectionOf(target.chat(hello).text());
    expect(performance.now() - startedAt).toBeLessThan(500);
    expectCancelledError(error, target.id);
    expect(target.cancelled).toBe(true);
    expect(target.signal.aborted).toBe(true);
  }
  expect(budget.active).toBe(0);
  expect(budget.pending).toBe(0);
  expect(simulator.stats().requests).toBe(sent);
  expect(fleet.session(child.id)).toBe(child);
}

describe('cancel is permanent (trial: next task ran after cancel)', { timeout: 90_000 }, () => {
  it('in process: after cancel, a new chat on the session and on a child rejects aborted, takes no lease, sends nothing', async () => {
    const { fleet, router, sim, budget } = await setUp();
    const session = fleet.root.spawn('search');
    const grandchild = session.spawn('tests');
    const sibling = fleet.root.spawn('docs');
    const signal = session.signal;
    const first = session.chat(hello).text();
    await until(() => budget.active === 1 && sim.stats().requests === 1);

    session.cancel();
    expectCancelledError(await rejectionOf(first), session.id);
    // The same signal, still aborted, however often it is read.
    expect(session.signal).toBe(signal);
    expect(session.signal.aborted).toBe(true);
    expect(grandchild.signal.aborted).toBe(true);
    await until(() => budget.active === 0);

    await expectRefusedInProcess(fleet, session, router, sim);
    await expectRefusedInProcess(fleet, grandchild, router, sim);
    // With a signal of the caller's own, too; and cancelling again changes nothing.
    const own = new AbortController();
    expectCancelledError(
      await rejectionOf(session.chat(hello, { signal: own.signal }).text()),
      session.id,
    );
    session.cancel('again');
    expect(session.signal).toBe(signal);
    expect(sim.stats().requests).toBe(1);

    // The sibling was never touched.
    expect(sibling.cancelled).toBe(false);
    const spared = sibling.chat(hello).text();
    await until(() => budget.active === 1 && sim.stats().requests === 2);
    fleet.root.cancel();
    await rejectionOf(spared);
    expect(fleet.root.spawn('late').cancelled).toBe(true);
  });

  it('a cancel reason is kept as the signal reason; the refusal still names the session', async () => {
    const { fleet } = await setUp();
    const session = fleet.root.spawn('coder');
    session.cancel(new Error('the user pressed stop'));
    expect((session.signal.reason as Error).message).toBe('the user pressed stop');
    const error = await rejectionOf(session.chat(hello).text());
    expectCancelledError(error, 'root/coder');
    expect(error.message).toContain('the user pressed stop');
  });

  for (const transport of ['worker thread', 'child process'] as const) {
    it(`${transport}: after cancel, cancelSignal stays the same aborted signal and new chats and acquires reject aborted, with no lease`, async () => {
      const { fleet, config, sim, budget, router } = await setUp();
      const plan = { action: 'tasks-after-cancel', config, limit: 1 };
      const spawnOne = (name: string, parent?: Fleet['root']) => {
        if (transport === 'worker thread') {
          const spawned = fleet.spawnWorker(BUDGET_CLIENT, { name, parent, workerData: plan });
          cleanups.push(() => spawned.worker.terminate());
          return { session: spawned.session, source: spawned.worker, exited: spawned.exited };
        }
        const spawned = fleet.spawnProcess(BUDGET_CLIENT, [JSON.stringify(plan)], {
          name,
          parent,
        });
        cleanups.push(() => spawned.child.kill('SIGKILL'));
        return { session: spawned.session, source: spawned.child, exited: spawned.exited };
      };

      const agent = spawnOne('sub');
      // Both listened for now: IPC may deliver the two reports in one turn.
      const afterCancel = nextReport(agent.source, 'after-cancel', 60_000);
      const finished = nextReport(agent.source, 'done', 60_000);
      await until(() => budget.active === 1 && sim.stats().requests === 1, 60_000);
      agent.session.cancel();

      const seen = await afterCancel;
      expectCancelledError(
        seen.firstTask as Report & { kind: string; message: string },
        'root/sub',
      );
      expect(seen).toMatchObject({ sameSignal: true, aborted: true });
      expectCancelledError(seen.reason as { kind: string; message: string }, 'root/sub');

      const done = await finished;
      for (const outcome of [done.nextTask, done.unsignalled, done.acquire]) {
        expectCancelledError(outcome as { kind: string; message: string }, 'root/sub');
      }
      expect(done).toMatchObject({ sameSignal: true, stillAborted: true });
      expect(sim.stats().requests).toBe(1);
      await until(() => budget.active === 0 && budget.pending === 0);

      // A child session of the cancelled one: in this process, and a sub-agent spawned under it.
      await expectRefusedInProcess(fleet, agent.session, router, sim);
      const late = spawnOne('late', agent.session);
      expect(late.session.cancelled).toBe(true);
      const lateFinished = nextReport(late.source, 'done', 60_000);
      const lateSeen = await nextReport(late.source, 'after-cancel', 60_000);
      expectCancelledError(
        lateSeen.firstTask as { kind: string; message: string },
        'root/sub/late',
      );
      expect(lateSeen).toMatchObject({ sameSignal: true, aborted: true });
      const lateDone = await lateFinished;
      for (const outcome of [lateDone.nextTask, lateDone.unsignalled, lateDone.acquire]) {
        expectCancelledError(outcome as { kind: string; message: string }, 'root/sub/late');
      }
      expect(sim.stats().requests).toBe(1);
      expect(budget.active).toBe(0);
      await Promise.all([agent.exited, late.exited]);
      expect(budget.active).toBe(0);
    });
  }

  it('socket broker: a cancelled client connection stays cancelled, its new chats and acquires reject aborted', async () => {
    const { fleet, config, sim, budget } = await setUp();
    const broker: BudgetBroker = await fleet.serveBroker({ advertise: false });
    const attached = attachBudget({ url: broker.url });
    cleanups.push(() => attached.close());
    const remoteRouter = createRouter({ config, providers: [zhipu], budgets: attached });
    cleanups.push(() => remoteRouter.close());
    const signal = attached.cancelSignal;
    const first = remoteRouter.chat(hello, { signal }).text();
    await until(() => budget.active === 1 && sim.stats().requests === 1);

    const connection = [...broker.connections][0]!;
    connection.cancel('session "outsider" was cancelled');
    expect(connection.isCancelled).toBe(true);
    expectCancelledError(await rejectionOf(first), 'outsider');
    expect(attached.cancelSignal).toBe(signal);
    expect(attached.cancelSignal.aborted).toBe(true);
    await until(() => budget.active === 0);

    const remote = attached.get(remoteRouter.route().budgetKey, { limit: 1 });
    for (const attempt of [
      remoteRouter.chat(hello, { signal: attached.cancelSignal }).text(),
      remoteRouter.chat(hello).text(),
      remote.acquire(),
    ]) {
      expectCancelledError(await rejectionOf(attempt), 'outsider');
    }
    expect(sim.stats().requests).toBe(1);
    expect(budget.active).toBe(0);
    expect(budget.pending).toBe(0);
    expect(attached.cancelSignal).toBe(signal);
  });

  it('the owner refuses a cancelled peer that asks again anyway, and tells it again on a new hello', async () => {
    const registry = createBudgetRegistry();
    const server = createBudgetServer(registry);
    const { port1, port2 } = new MessageChannel();
    const connection = server.accept(messagePortChannel<ClientFrame, ServerFrame>(port1), {
      session: { id: 'root/raw', priority: 0 },
      label: 'raw peer',
    });
    cleanups.push(() => {
      connection.close();
      port2.close();
    });
    const received: ServerFrame[] = [];
    port2.on('message', (frames: ServerFrame[]) => received.push(...frames));
    connection.cancel('session "root/raw" was cancelled');
    connection.cancel('a second cancel');
    port2.postMessage([
      ['hello', 1, process.pid],
      ['acquire', 'glm:raw', 2, null, null, null, 1, 2],
    ] satisfies ClientFrame[]);
    await until(() => received.filter((frame) => frame[0] === 'rejected').length === 2);

    expect(received.filter((frame) => frame[0] === 'cancelled')).toEqual([
      ['cancelled', 'session "root/raw" was cancelled'],
      ['cancelled', 'session "root/raw" was cancelled'],
    ]);
    for (const frame of received.filter((f) => f[0] === 'rejected')) {
      expectCancelledError(frame[2] as { kind: string; message: string }, 'root/raw');
    }
    expect(received.some((frame) => frame[0] === 'granted')).toBe(false);
    expect(registry.get('glm:raw', { limit: 2 }).active).toBe(0);
    expect(connection.isCancelled).toBe(true);
    expect(connection.leases).toBe(0);
  });
});
